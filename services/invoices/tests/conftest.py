"""Fixtures: a migrated database, the broker, a structures test double and the invoices server.

The structures service is out of reach here (it has its own tests; the end-to-end suite runs
the real one), so :class:`FakeStructures` serves its RPCs from dictionaries over real gRPC,
checking tokens (and answering calls without one) as structures does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import asyncpg
import grpc
import pytest
import pytest_asyncio
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc
from chorus.structures.events.v1 import structures_events_pb2 as structures_events_pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus.structures.v1 import structures_service_pb2_grpc as spb_grpc
from chorus_invoices.config import InvoicesSettings
from chorus_invoices.documents.workers import DocumentWorkers
from chorus_invoices.domain.attachments import AttachmentPolicy
from chorus_invoices.events import outgoing
from chorus_invoices.events.directory import structure_described
from chorus_invoices.events.routing import route_submitted_invoice
from chorus_invoices.main import build_app
from chorus_platform import grpc_server
from chorus_platform.auth import TokenVerifier, bearer_token
from chorus_platform.cloudevents import Envelope
from chorus_platform.db import create_pool
from chorus_platform.errors import Unauthenticated
from chorus_platform.grpc_client import channel_for
from chorus_platform.migrations import migrate_database
from chorus_platform.rpc_status import RemoteError, from_rpc_error
from chorus_platform.testing.tokens import TestSigner
from chorus_platform.unit_of_work import UnitOfWork

SPACES = {
    "FACTURES_EMISES": spb.SPACE_FACTURES_EMISES,
    "FACTURES_RECUES": spb.SPACE_FACTURES_RECUES,
}
MODES = {"CONSULTATION": spb.ACCESS_MODE_CONSULTATION, "MODIFICATION": spb.ACCESS_MODE_MODIFICATION}


class FakeStructures(spb_grpc.StructuresServiceServicer):
    """StructuresService over dicts: structures by id, and granted (user, structure, space,
    mode). MODIFICATION implies CONSULTATION, as in structures itself.

    Tokens are checked as structures does: a token sent must verify (``verifier``: expired,
    forged → UNAUTHENTICATED); without one, only GetStructure and FindStructureByIdentifier
    answer, and for public structures only (NOT_FOUND for a private one, as if unknown)."""

    def __init__(self, verifier: TokenVerifier | None = None) -> None:
        self.verifier = verifier
        self.structures: dict[str, spb.Structure] = {}
        self.grants: set[tuple[str, str, int, int]] = set()
        self.calls: Counter[str] = Counter()
        self.authorizations: list[str] = []
        self.service_limits: dict[tuple[str, str], tuple[str, ...]] = {}
        """(user, structure) -> codes of the only services the user handles there."""
        self.down = False
        """While set, every call answers UNAVAILABLE (structures unwell)."""

    def add(
        self,
        name: str,
        *,
        public: bool = True,
        active: bool = True,
        service_code_required: bool = False,
        engagement_required: bool = False,
        service_or_engagement_required: bool = False,
        services: tuple[tuple[str, bool, bool], ...] = (),
    ) -> spb.Structure:
        """A structure; ``services`` as (code, active, engagement_required)."""
        structure = spb.Structure(
            id=str(uuid.uuid4()),
            identifier_type=spb.IDENTIFIER_TYPE_SIRET,
            identifier=str(uuid.uuid4().int)[:14],
            raison_sociale=name,
            kind=spb.STRUCTURE_KIND_PUBLIQUE if public else spb.STRUCTURE_KIND_PRIVEE,
            status=spb.STRUCTURE_STATUS_ACTIVE if active else spb.STRUCTURE_STATUS_INACTIVE,
            routing=spb.RoutingParameters(
                service_code_required=service_code_required,
                engagement_required=engagement_required,
                service_or_engagement_required=service_or_engagement_required,
            ),
            services=[
                spb.StructureService(
                    id=str(uuid.uuid4()),
                    code=code,
                    name=f"Service {code}",
                    active=on,
                    engagement_required=needs_engagement,
                )
                for code, on, needs_engagement in services
            ],
        )
        self.structures[structure.id] = structure
        return structure

    def grant(self, user_id: str, structure_id: str, space: str, mode: str) -> None:
        self.grants.add((user_id, structure_id, SPACES[space], MODES[mode]))

    def _allowed(self, user_id: str, structure_id: str, space: int, mode: int) -> bool:
        modes = {mode, spb.ACCESS_MODE_MODIFICATION}
        return any((user_id, structure_id, space, m) in self.grants for m in modes)

    async def _record(self, name: str, context, *, public: bool = False) -> bool:
        """Counts the call; True when it carries no token (allowed for ``public`` RPCs)."""
        if self.down:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "structures indisponible")
        self.calls[name] += 1
        metadata = tuple(context.invocation_metadata() or ())
        self.authorizations.append(dict(metadata).get("authorization", ""))
        token = bearer_token(metadata)
        if token is None:
            if not public:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
            return True
        if self.verifier is not None:
            try:
                await self.verifier.verify(token)
            except Unauthenticated:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")
        return False

    def _visible(self, structure: spb.Structure | None, anonymous: bool) -> bool:
        if structure is None:
            return False
        return not anonymous or structure.kind == spb.STRUCTURE_KIND_PUBLIQUE

    async def GetStructure(self, request, context):
        anonymous = await self._record("GetStructure", context, public=True)
        structure = self.structures.get(request.structure_id)
        if not self._visible(structure, anonymous):
            await context.abort(grpc.StatusCode.NOT_FOUND, "structure inconnue")
        return spb.GetStructureResponse(structure=structure)

    async def FindStructureByIdentifier(self, request, context):
        anonymous = await self._record("FindStructureByIdentifier", context, public=True)
        for structure in self.structures.values():
            if (structure.identifier_type, structure.identifier) == (
                request.identifier_type,
                request.identifier,
            ) and self._visible(structure, anonymous):
                return spb.FindStructureByIdentifierResponse(structure=structure)
        await context.abort(grpc.StatusCode.NOT_FOUND, "structure inconnue")

    async def CheckAccess(self, request, context):
        await self._record("CheckAccess", context)
        allowed = self._allowed(request.user_id, request.structure_id, request.space, request.mode)
        return spb.CheckAccessResponse(allowed=allowed, reason="" if allowed else "NOT_A_MEMBER")

    async def ListAccessibleStructures(self, request, context):
        await self._record("ListAccessibleStructures", context)
        ids = [
            sid
            for sid in self.structures
            if self._allowed(request.user_id, sid, request.space, request.mode)
        ]
        limited = [
            spb.AccessibleStructure(
                structure_id=sid,
                service_codes=self.service_limits.get((request.user_id, sid), ()),
            )
            for sid in ids
        ]
        return spb.ListAccessibleStructuresResponse(structure_ids=ids, structures=limited)


@dataclass
class Api:
    """The invoices service over a real channel, called as one user or another."""

    stub: pb_grpc.InvoicesServiceStub
    signer: TestSigner
    dsn: str
    structures: FakeStructures
    pool: asyncpg.Pool
    tokens: dict[str, tuple] = field(default_factory=dict)
    channel: grpc.aio.Channel | None = None
    """The channel to this server (other services on it: health)."""
    stop: Callable[[], Awaitable[None]] | None = None
    """Stops this server now (its background jobs cancelled mid-work, as a crash would)."""

    def as_user(self, user_id: str) -> tuple:
        if user_id not in self.tokens:
            self.tokens[user_id] = self.signer.metadata(user_id)
        return self.tokens[user_id]

    async def call(self, rpc: str, request, user_id: str):
        return await getattr(self.stub, rpc)(request, metadata=self.as_user(user_id))

    async def fails(self, rpc: str, request, user_id: str) -> RemoteError:
        """The error of a call expected to fail."""
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await self.call(rpc, request, user_id)
        return from_rpc_error(raised.value)

    async def document(self, request: pb.GetInvoiceDocumentRequest, user_id: str, timeout=60.0):
        """GetInvoiceDocument once the document is there: a portal invoice's Factur-X is
        rendered after its deposit (UNAVAILABLE DOCUMENT_IN_PREPARATION until then)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                return await self.call("GetInvoiceDocument", request, user_id)
            except grpc.aio.AioRpcError as error:
                preparing = from_rpc_error(error).reason == "DOCUMENT_IN_PREPARATION"
                if not preparing or asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.05)

    async def fetch(self, query: str, *args) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def count(self, table: str) -> int:
        rows = await self.fetch(f"SELECT count(*) AS n FROM {table}")
        return rows[0]["n"]

    async def route(self, invoice_id: str) -> None:
        """Runs the routing consumer's handler on an ``InvoiceSubmitted`` for ``invoice_id``
        in a unit-of-work transaction, as the consumer would (the broker path, inbox
        included, is in test_routing)."""
        uow = UnitOfWork(self.pool, service="invoices", encode=outgoing.encode)
        message = events_pb.InvoiceSubmitted(invoice_id=invoice_id)
        envelope = Envelope(str(uuid.uuid4()), "t", "", "", "", "", None)
        async with uow.transaction() as tx:
            await route_submitted_invoice(tx, message, envelope)

    async def structure_changed(self, structure: spb.Structure) -> None:
        """Applies the StructureUpdated structures would publish for ``structure`` as it is
        now to invoices' directory read model, as its consumer would (the broker path is in
        test_directory_consumer): a change made to the test double after invoices looked the
        structure up reaches invoices this way."""
        uow = UnitOfWork(self.pool, service="invoices", encode=outgoing.encode)
        message = structures_events_pb.StructureUpdated(structure=structure)
        at = datetime.now(UTC).isoformat()
        envelope = Envelope(str(uuid.uuid4()), "t", "", at, "", "", None)
        async with uow.transaction() as tx:
            await structure_described(tx, message, envelope)


@dataclass
class Parties:
    """A supplier with a user allowed to issue for it, and a public recipient."""

    supplier: spb.Structure
    recipient: spb.Structure
    user: str


@pytest.fixture(scope="session")
def signer() -> TestSigner:
    return TestSigner()


@pytest_asyncio.fixture
async def fake_structures(signer):
    fake = FakeStructures(signer.verifier())
    server = grpc.aio.server()
    spb_grpc.add_StructuresServiceServicer_to_server(fake, server)
    fake.port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield fake
    await server.stop(0)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def migrated_database(postgres_server) -> str:
    """One migrated database for the session; each test starts from emptied tables."""
    name = f"invoices_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = postgres_server.url_for(name)
    await migrate_database(dsn, "invoices", InvoicesSettings().migrations_path)
    return dsn


@pytest_asyncio.fixture
async def database(migrated_database) -> str:
    conn = await asyncpg.connect(migrated_database)
    try:
        await conn.execute(
            "TRUNCATE invoices, invoice_lines, invoice_vat_breakdown, invoice_history, outbox,"
            " inbox, documents, invoice_rule_warnings, idempotency_keys, staged_attachments,"
            " flows, flow_items, facturx_renderings RESTART IDENTITY"
        )
        await conn.execute("TRUNCATE directory")
    finally:
        await conn.close()
    return migrated_database


@pytest.fixture
def settings(database, kafka_broker, fake_structures) -> InvoicesSettings:
    return InvoicesSettings(
        database_url=database,
        database_name=urlsplit(database).path.lstrip("/"),
        kafka_bootstrap=kafka_broker.bootstrap,
        grpc_port=0,
        structures_addr=f"127.0.0.1:{fake_structures.port}",
        outbox_poll_seconds=0.2,
        consumer_backoff_seconds=0.05,
        flow_poll_seconds=0.1,
    )


StartApi = Callable[..., Awaitable[Api]]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def document_workers():
    """One document worker process for the session (schematrons compiled once)."""
    workers = DocumentWorkers(1)
    await workers.start()
    yield workers
    await workers.close()


@pytest_asyncio.fixture
async def start_api(settings, signer, fake_structures, document_workers):
    """``await start_api(background=False)``: the invoices server on a free port
    (``reconciler``: the routing reconciler alone, without relay and consumer;
    ``attachment_policy``: other attachment limits; ``interceptors``: added after the
    service's own, around the handlers; ``flow_worker``: the archive flows' worker, off by
    default; ``rendering``: the Factur-X rendering job, on by default; ``roles``: the
    process's ``invoices_roles``)."""
    opened = []

    async def start(
        *,
        background: bool = False,
        reconciler: bool | None = None,
        attachment_policy: AttachmentPolicy | None = None,
        interceptors: tuple[grpc.aio.ServerInterceptor, ...] = (),
        flow_worker: bool = False,
        rendering: bool | None = None,
        roles: str | None = None,
    ) -> Api:
        configured = (
            settings if roles is None else settings.model_copy(update={"invoices_roles": roles})
        )
        pool = await create_pool(settings.database_dsn, max_size=5)
        structures_channel = channel_for(settings, "structures")
        app = build_app(
            configured,
            pool=pool,
            verifier=signer.verifier(),
            structures_channel=structures_channel,
            background=background,
            reconciler=reconciler,
            workers=document_workers,
            attachment_policy=attachment_policy,
            flow_worker=flow_worker,
            rendering=rendering,
        )
        app.interceptors.extend(interceptors)  # innermost, next to the handlers
        running = await grpc_server.start(app)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
        parts = (running, channel, structures_channel, pool)
        opened.append(parts)

        async def stop() -> None:
            if parts in opened:
                opened.remove(parts)
                await close(*parts)

        stub = pb_grpc.InvoicesServiceStub(channel)
        return Api(
            stub, signer, settings.database_dsn, fake_structures, pool, channel=channel, stop=stop
        )

    async def close(running, channel, structures_channel, pool) -> None:
        await channel.close()
        await running.stop()
        await structures_channel.close()
        await pool.close()

    yield start
    for parts in reversed(opened):
        await close(*parts)


@pytest_asyncio.fixture
async def api(start_api) -> Api:
    """The server without relay nor routing consumer: deposits stay DEPOSEE."""
    return await start_api(background=False)


@pytest.fixture
def parties(fake_structures) -> Parties:
    supplier = fake_structures.add("Menuiserie Dupont SARL", public=False)
    recipient = fake_structures.add("Commune de Villebois")
    user = str(uuid.uuid4())
    fake_structures.grant(user, supplier.id, "FACTURES_EMISES", "MODIFICATION")
    return Parties(supplier, recipient, user)


def invoice_request(parties: Parties, **overrides) -> pb.CreateInvoiceRequest:
    """A valid portal deposit from ``parties``' supplier to their recipient."""
    fields = {
        "supplier_structure_id": parties.supplier.id,
        "recipient": pb.RecipientRef(structure_id=parties.recipient.id),
        "framework": pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
        "type": pb.INVOICE_TYPE_FACTURE,
        "number": f"F-{uuid.uuid4().hex[:8]}",
        "issue_date": "2025-03-14",
        "currency": "EUR",
        "lines": [
            pb.InvoiceLine(
                description="Pose de fenêtres",
                quantity="3",
                unit="C62",
                unit_price="410.50",
                vat_rate="20",
            )
        ],
    }
    fields.update(overrides)
    return pb.CreateInvoiceRequest(**fields)


@pytest.fixture
def make_request():
    return invoice_request


async def eventually(probe: Callable[[], Awaitable], *, timeout: float = 15.0, every=0.05):
    """Polls ``probe`` until it returns something truthy; fails after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(every)


@pytest.fixture
def wait_until():
    return eventually
