"""Fixtures: a migrated identity database, the service on a free port, and ``flows``, the
steps most tests share (register, read the activation link from the outbox, activate, log in).

The structures service is out of reach here (it has its own tests; the end-to-end suite runs
the real one): :class:`FakeStructures` answers the two RPCs identity calls (CheckAccess,
GetStructure) from dictionaries over real gRPC, as structures would.

argon2 runs at its lowest cost for speed, and the floor under the answers that must not tell
whether an account exists is off (``test_uniform_answers.py`` measures it).
Test modules are imported with importlib, so shared steps live here, behind fixtures.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import pytest
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus.structures.v1 import structures_service_pb2_grpc as spb_grpc
from chorus_identity.api.mapping import user_to_proto
from chorus_identity.config import IdentitySettings
from chorus_identity.domain.accounts import login_lookup_forms
from chorus_identity.main import create_app, unit_of_work
from chorus_identity.store import users
from chorus_platform import grpc_client, grpc_server, sealing
from chorus_platform.db import create_pool
from chorus_platform.migrations import migrate_database
from chorus_platform.rpc_status import RemoteError, from_rpc_error
from chorus_platform.unit_of_work import UnitOfWork

FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 8, "argon2_parallelism": 1}
# No floor under the answers that must not reveal an account (test_uniform_answers.py sets
# one and prints what it does).
NO_ANSWER_FLOOR = {"anonymous_answer_min_ms": 0}
STRONG_PASSWORD = "Correct-Horse-42"
NOTIFICATIONS_KEY = sealing.generate_private_key()
"""Stands for notifications' sealing key pair: tests open the tokens identity sealed to it."""


async def notifications_public_key() -> bytes:
    return sealing.public_key_bytes(NOTIFICATIONS_KEY)


def open_token(event) -> str:
    """The plain token of a link event, opened as notifications would."""
    context = f"{event.DESCRIPTOR.full_name}/{event.user_id}".encode()
    return sealing.open_sealed(NOTIFICATIONS_KEY, event.sealed_token, context).decode()


async def migrated_database(postgres_server, kafka_broker) -> IdentitySettings:
    """Settings pointing at a new, migrated identity database."""
    name = f"identity_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    settings = IdentitySettings(
        database_url=postgres_server.url,
        database_name=name,
        kafka_bootstrap=kafka_broker.bootstrap,
        grpc_port=0,
        outbox_poll_seconds=0.2,
        token_key_refetch_seconds=0,
        **FAST_ARGON2,
        **NO_ANSWER_FLOOR,
    )
    await migrate_database(settings.database_dsn, "identity", settings.migrations_path)
    return settings


class Clock:
    """The time technical accounts' expiry is judged by: now, moved by ``advance``."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


class FakeStructures(spb_grpc.StructuresServiceServicer):
    """StructuresService's CheckAccess and GetStructure over sets: known structures, their
    managers and members, inactive ones. The manager space (ACTIVITES_GESTIONNAIRE) is for
    managers only, as in structures; an unknown structure is NOT_A_MEMBER."""

    def __init__(self) -> None:
        self.structures: set[str] = set()
        self.inactive: set[str] = set()
        self.managers: set[tuple[str, str]] = set()
        self.members: set[tuple[str, str]] = set()
        self.authorizations: list[str] = []
        self.port = 0

    def add(self, *, manager: str | None = None, member: str | None = None) -> str:
        structure_id = str(uuid.uuid4())
        self.structures.add(structure_id)
        if manager:
            self.managers.add((manager, structure_id))
        if member:
            self.members.add((member, structure_id))
        return structure_id

    async def CheckAccess(self, request, context):
        self.authorizations.append(dict(context.invocation_metadata()).get("authorization", ""))
        key = (request.user_id, request.structure_id)
        if request.structure_id not in self.structures or (
            key not in self.managers and key not in self.members
        ):
            return spb.CheckAccessResponse(allowed=False, reason="NOT_A_MEMBER")
        if request.structure_id in self.inactive:
            return spb.CheckAccessResponse(allowed=False, reason="STRUCTURE_INACTIVE")
        if request.space == spb.SPACE_ACTIVITES_GESTIONNAIRE and key not in self.managers:
            return spb.CheckAccessResponse(allowed=False, reason="MANAGERS_ONLY")
        return spb.CheckAccessResponse(allowed=True)

    async def GetStructure(self, request, context):
        if request.structure_id not in self.structures:
            await context.abort(grpc.StatusCode.NOT_FOUND, "Structure introuvable.")
        return spb.GetStructureResponse(structure=spb.Structure(id=request.structure_id))


@contextlib.asynccontextmanager
async def structures_double() -> AsyncIterator[FakeStructures]:
    fake = FakeStructures()
    server = grpc.aio.server()
    spb_grpc.add_StructuresServiceServicer_to_server(fake, server)
    fake.port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield fake
    finally:
        await server.stop(0)


@contextlib.asynccontextmanager
async def serving(
    settings: IdentitySettings,
    sealing_key_source=notifications_public_key,
    *,
    structures: FakeStructures | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[grpc.aio.Channel]:
    """The service running on a free port (relay included), and a channel to it; calls to
    structures go to ``structures`` (else to a port nobody listens on)."""
    pool = await create_pool(settings.database_dsn, max_size=5)
    structures_channel = grpc_client.open_channel(
        f"127.0.0.1:{structures.port if structures else 1}", 5
    )
    app = await create_app(
        settings,
        pool,
        sealing_key_source=sealing_key_source,
        structures=structures_channel,
        **({"clock": clock} if clock else {}),
    )
    app.grace_seconds = 0.5
    running = await grpc_server.start(app)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield channel
    finally:
        await channel.close()
        await running.stop()
        await structures_channel.close()
        await pool.close()


@contextlib.asynccontextmanager
async def own_unit_of_work(settings: IdentitySettings) -> AsyncIterator[UnitOfWork]:
    """identity's unit of work on a pool of its own, to call a use case directly (as the
    ``grant-admin`` and ``migrate`` commands do)."""
    pool = await create_pool(settings.database_dsn, max_size=1)
    try:
        yield unit_of_work(pool)
    finally:
        await pool.close()


# Creating a database takes most of a second, so the tests of one module share one, each
# working with its own accounts. Tests that change service-wide state (signing keys) use
# ``isolated_flows`` instead.
@pytest.fixture(scope="module")
async def identity_settings(postgres_server, kafka_broker) -> IdentitySettings:
    return await migrated_database(postgres_server, kafka_broker)


@pytest.fixture(scope="module")
async def channel(identity_settings):
    async with serving(identity_settings) as channel:
        yield channel


@pytest.fixture
async def db(identity_settings):
    """A direct connection to the service's database, for arranging and asserting."""
    conn = await asyncpg.connect(identity_settings.database_dsn)
    yield conn
    await conn.close()


@pytest.fixture
def stub(channel) -> pb_grpc.IdentityServiceStub:
    return pb_grpc.IdentityServiceStub(channel)


class Flows:
    """Shared steps, all through the real gRPC API; the database only to read the outbox."""

    password = STRONG_PASSWORD

    def __init__(
        self, settings: IdentitySettings, channel: grpc.aio.Channel, db: asyncpg.Connection
    ) -> None:
        self.settings = settings
        self.channel = channel
        self.stub = pb_grpc.IdentityServiceStub(channel)
        self.db = db

    @staticmethod
    def new_email() -> str:
        return f"user.{uuid.uuid4().hex[:10]}@example.fr"

    async def events(self, message_class, user_id: str | None = None) -> list:
        """Outbox events of ``message_class`` (oldest first), optionally for one user."""
        rows = await self.db.fetch(
            "SELECT key, payload FROM outbox WHERE ce_type = $1 ORDER BY seq",
            message_class.DESCRIPTOR.full_name,
        )
        return [
            message_class.FromString(row["payload"])
            for row in rows
            if user_id is None or row["key"] == user_id
        ]

    async def activation_token(self, user_id: str) -> str:
        """The token of the latest ActivationLinkIssued for the user."""
        links = await self.events(ev.ActivationLinkIssued, user_id)
        assert links, "no ActivationLinkIssued in the outbox"
        assert not links[-1].activation_token, "plain token in an event"
        return open_token(links[-1])

    async def register(self, email: str | None = None, **fields) -> pb.User:
        """Registers through RegisterAccount, whose answer is always empty (it must not tell
        a new address from a taken one), and returns the account stored under that login."""
        fields.setdefault("first_name", "Camille")
        fields.setdefault("last_name", "Martin")
        fields.setdefault("terms_accepted", True)
        login_email = self.new_email() if email is None else email
        request = pb.RegisterAccountRequest(login_email=login_email, **fields)
        assert await self.stub.RegisterAccount(request) == pb.RegisterAccountResponse()
        return await self.account_of(login_email)

    async def account_of(self, login_email: str) -> pb.User:
        """The account stored under ``login_email`` (any form), read from the database."""
        [account, *_] = await users.find_by_login_forms(self.db, login_lookup_forms(login_email))
        return user_to_proto(account)

    def activation(self, token: str, password: str = STRONG_PASSWORD, **fields):
        """The ActivateAccount call (not awaited, so tests can expect it to fail)."""
        return self.stub.ActivateAccount(
            pb.ActivateAccountRequest(
                token=token,
                password=password,
                secret_question=fields.get("secret_question", "Nom de mon premier chat ?"),
                secret_answer=fields.get("secret_answer", "Minou"),
            )
        )

    async def active_user(self, email: str | None = None) -> pb.User:
        user = await self.register(email)
        await self.activation(await self.activation_token(user.id))
        return user

    def login(self, email: str, password: str = STRONG_PASSWORD, **client):
        """The CreateSession call (not awaited)."""
        return self.stub.CreateSession(
            pb.CreateSessionRequest(
                login_email=email, password=password, client=pb.ClientInfo(**client)
            )
        )

    async def tokens(self, email: str) -> pb.TokenPair:
        return (await self.login(email)).tokens

    async def status_of(self, user_id: str) -> str:
        return await self.db.fetchval("SELECT status FROM users WHERE id = $1", user_id)

    @staticmethod
    def bearer(access_token: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {access_token}"),)

    @staticmethod
    async def error(call) -> RemoteError:
        """Awaits a call that must fail; its status, ErrorInfo reason and violations."""
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await call
        return from_rpc_error(failure.value)


@pytest.fixture
def flows(identity_settings, channel, db) -> Flows:
    return Flows(identity_settings, channel, db)


@pytest.fixture
def new_identity_database(postgres_server, kafka_broker):
    """``await new_identity_database()``: settings of a new migrated database (no server)."""
    return lambda: migrated_database(postgres_server, kafka_broker)


@pytest.fixture
async def isolated_flows(postgres_server, kafka_broker) -> AsyncIterator[Flows]:
    """Flows on a database and server of the test's own."""
    settings = await migrated_database(postgres_server, kafka_broker)
    conn = await asyncpg.connect(settings.database_dsn)
    try:
        async with serving(settings) as channel:
            yield Flows(settings, channel, conn)
    finally:
        await conn.close()
