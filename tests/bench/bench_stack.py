"""Sustained throughput (issue #16), the stack side: the user and supplier, the four deposit
channels, the raw baseline, the routing reads and the Chorus Pro flow.

* :func:`raw_baseline`: one invoice-shaped INSERT and one outbox-shaped INSERT per transaction
  on a scratch database of the stack's PostgreSQL, over N connections (the ratio's denominator);
* :class:`Channels`: senders for the open loop — portal entry through REST and through gRPC,
  a UBL file and a Factur-X file through REST — with the file templates written before the
  clock;
* :func:`wait_routed`: the ``MISE_A_DISPOSITION`` time of each invoice, from its history;
* :func:`deposit_flow`: a tar.gz flow through DepositFlow, to every invoice routed.

Settings (environment): ``CHORUS_BENCH_FLOW_INVOICES`` (1,000; 0: no flow),
``CHORUS_BENCH_CHANNELS`` (``rest,grpc,ubl,facturx``: which channels are measured),
``CHORUS_BENCH_TOKEN_RENEWAL_SECONDS`` (300: the user signs in again that often).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import math
import os
import platform
import tarfile
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import httpx
from bench_backlogs import database_url
from bench_load import MAX_IN_FLIGHT, OpenLoop, Refused, Send
from chorus_platform.settings import with_database

FLOW_INVOICES = int(os.environ.get("CHORUS_BENCH_FLOW_INVOICES", "1000"))
#: The channels measured (``CHORUS_BENCH_CHANNELS=rest,grpc`` for a part of them).
CHANNELS = tuple(
    key.strip()
    for key in os.environ.get("CHORUS_BENCH_CHANNELS", "rest,grpc,ubl,facturx").split(",")
    if key.strip()
)
#: How often the bench's user signs in again (access tokens last 15 minutes by default).
TOKEN_RENEWAL_SECONDS = float(os.environ.get("CHORUS_BENCH_TOKEN_RENEWAL_SECONDS", "300"))


# -- machine and set-up shared by the benches -------------------------------------------------


def machine() -> str:
    """Cores, processor model and kernel, for the table."""
    uname = platform.uname()
    model = platform.processor() or uname.machine
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, {uname.system} {uname.release}"


async def supplier_structure(api: httpx.AsyncClient, auth: dict[str, str], siret: str) -> dict:
    """A supplier structure the signed-in user creates (and so belongs to)."""
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": siret,
            "raison_sociale": "Imprimerie du Débit Soutenu",
            "address": {
                "line1": "7 rue des Presses",
                "postal_code": "38000",
                "city": "Grenoble",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


LINES = (
    ("Ramettes de papier recyclé A4", "12", "4.35", "20"),
    ("Reliure de rapports", "3", "12.90", "10"),
    ("Brochures d'information", "40", "0.45", "5.5"),
)


def portal_body(supplier_id: str, recipient_siret: str, number: str) -> dict:
    """A portal invoice with three lines at three VAT rates (the deposit bench's)."""
    return {
        "supplier_structure_id": supplier_id,
        "recipient": {"identifier_type": "SIRET", "identifier": recipient_siret},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": number,
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": description,
                "quantity": quantity,
                "unit": "C62",
                "unit_price": price,
                "vat_rate": rate,
            }
            for description, quantity, price, rate in LINES
        ],
    }


def tar_gz(files: dict[str, bytes]) -> bytes:
    """A tar.gz of ``files`` (name → content), as the OCA connector sends a lot."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def uncompressed_facturx(pdf: bytes) -> bytes:
    """The same Factur-X PDF with its embedded XML stored without compression, so that a
    number in it can be replaced byte for byte (same length: the cross-reference offsets stay
    right). The rendered page keeps the template's number; the deposit reads the XML."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    names = writer.root_object["/Names"]["/EmbeddedFiles"]["/Names"]
    for spec in list(names)[1::2]:
        stream = spec.get_object()["/EF"]["/F"].get_object()
        data = stream.get_data()
        for key in ("/Filter", "/DecodeParms"):
            stream.pop(NameObject(key), None)
        stream._data = data  # pypdf writes _data as the stream's bytes
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def sign_in(stack, email: str) -> dict[str, str]:
    """A fresh access token of the bench's user (``POST /auth/token``): auth headers."""
    from e2e_support import STRONG_PASSWORD, client_ip

    async with httpx.AsyncClient(
        base_url=f"{stack.gateway_url}/api/v1", timeout=60, headers={"X-Forwarded-For": client_ip()}
    ) as api:
        login = await api.post(
            "/auth/token", json={"login_email": email, "password": STRONG_PASSWORD}
        )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def signed_in_supplier(stack) -> tuple[dict[str, str], dict, str]:
    """An activated user (auth headers), the supplier structure they created, and their login
    e-mail, through the gateway (registration e-mail read from the stack's SMTP catcher)."""
    from e2e_support import Mailbox, activated_user, client_ip, random_siret

    async with (
        httpx.AsyncClient(
            base_url=f"{stack.gateway_url}/api/v1",
            timeout=60,
            headers={"X-Forwarded-For": client_ip()},
        ) as api,
        httpx.AsyncClient(
            base_url=stack.mail_api_url.removesuffix("/").removesuffix("/api/v1"), timeout=10
        ) as mail,
    ):
        _, email, auth = await activated_user(api, Mailbox(mail), "Soline")
        supplier = await supplier_structure(api, auth, random_siret())
    return auth, supplier, email


async def invoice_model(stack, auth: dict[str, str], invoice_id: str):
    """The EN 16931 model of a portal invoice, read from its Factur-X (the files' template);
    the PDF may still be in preparation right after the deposit: asked again for a minute."""
    from chorus_invoices.documents.facturx import read_facturx_model

    async with httpx.AsyncClient(
        base_url=f"{stack.gateway_url}/api/v1", timeout=60, headers=auth
    ) as api:
        for _ in range(120):
            document = await api.get(f"/invoices/{invoice_id}/document")
            if document.status_code == 200 and document.content.startswith(b"%PDF"):
                return read_facturx_model(document.content)
            await asyncio.sleep(0.5)
    raise AssertionError(f"no Factur-X for {invoice_id}: {document.status_code} {document.text}")


def ratio(rate: float, raw: float) -> str:
    """``rate`` as a share of the raw baseline, for the table."""
    return f"{rate / raw * 100:.1f} %" if rate and not math.isnan(rate) else "—"


def ms(seconds: float) -> str:
    return "—" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


# -- raw baseline -------------------------------------------------------------------------------

RAW_TABLES = """
CREATE TABLE raw_invoices (
    id uuid PRIMARY KEY, number text NOT NULL, supplier_structure_id text NOT NULL,
    recipient_structure_id text NOT NULL, framework text NOT NULL, type text NOT NULL,
    issue_date date NOT NULL, issue_year integer NOT NULL, currency char(3) NOT NULL,
    net_total numeric NOT NULL, vat_total numeric NOT NULL, gross_total numeric NOT NULL,
    amount_due numeric NOT NULL, status text NOT NULL, created_by text NOT NULL,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX raw_invoices_number ON raw_invoices (supplier_structure_id, issue_year, number);
CREATE INDEX raw_invoices_issued ON raw_invoices (supplier_structure_id, created_at DESC, id DESC);
CREATE INDEX raw_invoices_received
    ON raw_invoices (recipient_structure_id, created_at DESC, id DESC);
CREATE TABLE raw_outbox (
    seq bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE, topic text NOT NULL, key text NOT NULL,
    ce_type text NOT NULL, ce_source text NOT NULL, ce_time timestamptz NOT NULL DEFAULT now(),
    payload bytea NOT NULL, traceparent text, published_at timestamptz
);
CREATE INDEX raw_outbox_unpublished ON raw_outbox (seq) WHERE published_at IS NULL;
"""

RAW_INVOICE = """
INSERT INTO raw_invoices (id, number, supplier_structure_id, recipient_structure_id, framework,
    type, issue_date, issue_year, currency, net_total, vat_total, gross_total, amount_due,
    status, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'A1_FACTURE_FOURNISSEUR', 'FACTURE', $5, $6, 'EUR', $7, $8, $9, $9,
    'DEPOSEE', $10, now(), now())
"""

RAW_OUTBOX = """
INSERT INTO raw_outbox (id, topic, key, ce_type, ce_source, payload)
VALUES ($1, 'chorus.invoices.events.v1', $2, 'chorus.invoices.v1.InvoiceSubmitted',
    '/chorus/invoices', $3)
"""


async def raw_baseline(server_url: str, connections: int, seconds: float = 5.0) -> float:
    """Transactions per second, each one invoice-shaped INSERT and one outbox-shaped INSERT,
    over ``connections`` for ``seconds``, on a fresh scratch database of ``server_url``."""
    name = f"bench_raw_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    pool = await asyncpg.create_pool(
        with_database(server_url, name), min_size=connections, max_size=connections
    )
    await pool.execute(RAW_TABLES)
    supplier, recipient, user = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    today = date.today()
    payload = os.urandom(220)  # about an InvoiceSubmitted event in its envelope
    done = [0] * connections
    deadline = time.perf_counter() + seconds

    async def writer(slot: int) -> None:
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                invoice_id = uuid.uuid4()
                async with conn.transaction():
                    await conn.execute(
                        RAW_INVOICE,
                        invoice_id,
                        f"R-{slot}-{done[slot]}",
                        supplier,
                        recipient,
                        today,
                        today.year,
                        Decimal("102.10"),
                        Decimal("14.93"),
                        Decimal("117.03"),
                        user,
                    )
                    await conn.execute(RAW_OUTBOX, uuid.uuid4(), str(invoice_id), payload)
                done[slot] += 1

    try:
        start = time.perf_counter()
        await asyncio.gather(*(writer(slot) for slot in range(connections)))
        elapsed = time.perf_counter() - start
    finally:
        await pool.close()
    return sum(done) / elapsed


# -- latencies and routing ------------------------------------------------------------------------


async def disposition_times(invoices_dsn: str, ids: Sequence[str]) -> dict[str, datetime]:
    """The ``MISE_A_DISPOSITION`` history time of each of ``ids`` that has one."""
    conn = await asyncpg.connect(invoices_dsn)
    try:
        found: dict[str, datetime] = {}
        for start in range(0, len(ids), 5000):
            rows = await conn.fetch(
                "SELECT invoice_id::text AS id, min(at) AS at FROM invoice_history"
                " WHERE status = 'MISE_A_DISPOSITION' AND invoice_id = ANY($1::uuid[])"
                " GROUP BY invoice_id",
                list(ids[start : start + 5000]),
            )
            found.update((row["id"], row["at"]) for row in rows)
        return found
    finally:
        await conn.close()


async def invoice_numbers(invoices_dsn: str, ids: Sequence[str]) -> dict[str, str]:
    """The number each of ``ids`` was stored with (the files' own, read by the service)."""
    conn = await asyncpg.connect(invoices_dsn)
    try:
        rows = await conn.fetch(
            "SELECT id::text AS id, number FROM invoices WHERE id = ANY($1::uuid[])", list(ids)
        )
        return {row["id"]: row["number"] for row in rows}
    finally:
        await conn.close()


async def wait_routed(invoices_dsn: str, ids: Sequence[str], timeout: float) -> dict:
    """Waits until every one of ``ids`` is ``MISE_A_DISPOSITION`` (at most ``timeout``
    seconds); returns the times found, complete or not."""
    deadline = time.perf_counter() + timeout
    while True:
        found = await disposition_times(invoices_dsn, ids)
        if len(found) == len(set(ids)) or time.perf_counter() > deadline:
            return found
        await asyncio.sleep(1.0)


# -- the Chorus Pro flow --------------------------------------------------------------------------


@dataclasses.dataclass
class FlowRun:
    """A tar.gz flow deposited through DepositFlow and followed to the end."""

    invoices: int
    archive_bytes: int
    answered: float  # seconds DepositFlow took to answer (archive stored, IN_EN_ATTENTE)
    integrated: float  # seconds from the deposit to IN_INTEGRE (GetFlow polled every 0.25 s)
    disposed: float  # seconds from the deposit to the last MISE_A_DISPOSITION of its invoices
    routed: int  # invoices of the flow found MISE_A_DISPOSITION
    refused: list


async def deposit_flow(
    stack,
    auth: dict[str, str],
    supplier_id: str,
    template,
    count: int,
    decision_timeout: float = 1800,
    routing_timeout: float = 600,
) -> FlowRun:
    """``count`` UBL 2.1 invoices written from ``template`` with fresh numbers, packed in one
    tar.gz before the clock starts, deposited over gRPC with the user's token (the Chorus
    Pro-compatible API is a translation in front of the same RPC), followed with GetFlow until
    decided, then until every invoice of it is ``MISE_A_DISPOSITION`` (history, read from the
    invoices database; the stack runs on the same machine, so the clocks compare)."""
    import grpc
    from chorus.invoices.v1 import invoices_service_pb2 as pb
    from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc
    from chorus_invoices.documents.ubl_writer import write_model

    pending = (
        pb.FLOW_STATE_IN_EN_ATTENTE_TRAITEMENT_CPP,
        pb.FLOW_STATE_IN_EN_COURS_TRAITEMENT_CPP,
    )
    run = uuid.uuid4().hex[:6]
    files = await asyncio.to_thread(
        lambda: {
            f"UBL-FL-{run}-{i:04d}.xml": write_model(
                dataclasses.replace(template, number=f"FL-{run}-{i:04d}")
            )
            for i in range(count)
        }
    )
    archive = await asyncio.to_thread(tar_gz, files)
    request = pb.DepositFlowRequest(
        supplier_structure_id=supplier_id,
        file_name="UBL_chorus_lot_factures.tar.gz",
        syntax="IN_DP_E1_UBL_INVOICE",
        content=archive,
    )
    metadata = (("authorization", auth["Authorization"]),)
    async with grpc.aio.insecure_channel(
        stack.env["CHORUS_INVOICES_ADDR"],
        options=[("grpc.max_send_message_length", 16 * 1024 * 1024)],
    ) as channel:
        stub = pb_grpc.InvoicesServiceStub(channel)
        started_at = datetime.now(UTC)
        start = time.perf_counter()
        flow = (await stub.DepositFlow(request, metadata=metadata, timeout=60)).flow
        answered = time.perf_counter() - start
        assert flow.state == pb.FLOW_STATE_IN_EN_ATTENTE_TRAITEMENT_CPP, flow
        lookup = pb.GetFlowRequest(number=flow.number)
        async with asyncio.timeout(decision_timeout):
            while flow.state in pending:
                await asyncio.sleep(0.25)
                flow = (await stub.GetFlow(lookup, metadata=metadata, timeout=30)).flow
        integrated = time.perf_counter() - start
    refused = [(i.file, [e.reason for e in i.errors]) for i in flow.items if not i.invoice_id]
    assert flow.state == pb.FLOW_STATE_IN_INTEGRE, refused[:3] or list(flow.errors)
    ids = [i.invoice_id for i in flow.items if i.invoice_id]
    times = await wait_routed(database_url(stack, "invoices"), ids, routing_timeout)
    disposed = (max(times.values()) - started_at).total_seconds() if times else math.nan
    return FlowRun(
        len(flow.items), len(archive), answered, integrated, disposed, len(times), refused
    )


# -- the four deposit channels -------------------------------------------------------------------

#: Invoice numbers are ``<tag><run><index:09d>``: 17 characters, as the file templates' marker.
NUMBER_DIGITS = 9


def number(tag: str, run: str, index: int) -> str:
    return f"{tag}{run}{index:0{NUMBER_DIGITS}d}"


def marker(tag: str, run: str) -> str:
    """The placeholder number written in a file template, replaced byte for byte per deposit."""
    return tag + "X" * (len(run) + NUMBER_DIGITS)


class Channels:
    """Senders for the open loop: portal entry through REST and through gRPC (CreateInvoice on
    invoices with the user's token, no gateway), a UBL file and a Factur-X file through REST
    (``POST /api/v1/invoices/xml``). File templates are written once, before the clock, with a
    marker number replaced by each deposit's own."""

    def __init__(
        self,
        stack,
        auth: dict[str, str],
        supplier_id: str,
        recipient_siret: str,
        max_in_flight: int = MAX_IN_FLIGHT,
        email: str | None = None,
    ) -> None:
        self.stack = stack
        self.auth = auth
        self.email = email
        self.renewal: asyncio.Task[None] | None = None
        self.supplier_id = supplier_id
        self.recipient_siret = recipient_siret
        self.base = f"{stack.gateway_url}/api/v1"
        self.run = uuid.uuid4().hex[:6]
        self.max_in_flight = max_in_flight
        self.session = None
        self.channel = None
        self.stub = None
        self.ubl: bytes = b""
        self.facturx: bytes = b""

    async def start(self) -> None:
        import aiohttp
        import grpc
        from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc

        self.session = aiohttp.ClientSession(
            # Idle connections are dropped before the gateway's own keep-alive timeout (5 s)
            # would close them under a request (a "Server disconnected" that is no answer).
            connector=aiohttp.TCPConnector(limit=self.max_in_flight, keepalive_timeout=2),
            timeout=aiohttp.ClientTimeout(total=120),
        )
        self.channel = grpc.aio.insecure_channel(self.stack.env["CHORUS_INVOICES_ADDR"])
        self.stub = pb_grpc.InvoicesServiceStub(self.channel)
        if self.email is not None:
            self.renewal = asyncio.create_task(self._renew())

    async def _renew(self) -> None:
        """Signs in again every ``TOKEN_RENEWAL_SECONDS``: a run outlasts an access token
        (15 minutes by default); each request takes the current one."""
        while True:
            await asyncio.sleep(TOKEN_RENEWAL_SECONDS)
            try:
                self.auth = await sign_in(self.stack, self.email)
            except Exception as error:  # tried again soon; the current token still works
                print(f"  (sign-in to renew the token failed, tried again: {error})")

    async def stop(self) -> None:
        if self.renewal is not None:
            self.renewal.cancel()
        if self.session is not None:
            await self.session.close()
        if self.channel is not None:
            await self.channel.close()

    async def prepare_files(self, template) -> None:
        """The UBL and Factur-X templates, from an EN 16931 model of the supplier's invoice."""
        from chorus_invoices.documents.facturx import make_facturx_model
        from chorus_invoices.documents.ubl_writer import write_model

        def build() -> tuple[bytes, bytes]:
            ubl = write_model(dataclasses.replace(template, number=marker("UB", self.run)))
            pdf = make_facturx_model(dataclasses.replace(template, number=marker("FX", self.run)))
            return ubl, uncompressed_facturx(pdf.pdf)

        self.ubl, self.facturx = await asyncio.to_thread(build)
        assert marker("UB", self.run).encode() in self.ubl
        assert marker("FX", self.run).encode() in self.facturx

    async def _answer(self, response) -> str:
        body = await response.read()
        if response.status != 201:
            raise Refused(f"{response.status} {body[:300]!r}")
        import json

        return json.loads(body)["id"]

    async def portal_rest(self, index: int) -> str:
        body = portal_body(self.supplier_id, self.recipient_siret, number("PR", self.run, index))
        async with self.session.post(
            f"{self.base}/invoices", json=body, headers=self.auth
        ) as response:
            return await self._answer(response)

    async def portal_grpc(self, index: int) -> str:
        from chorus.invoices.v1 import invoices_service_pb2 as pb

        request = pb.CreateInvoiceRequest(
            supplier_structure_id=self.supplier_id,
            recipient=pb.RecipientRef(identifier_type="SIRET", identifier=self.recipient_siret),
            framework=pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
            type=pb.INVOICE_TYPE_FACTURE,
            number=number("PG", self.run, index),
            issue_date=date.today().isoformat(),
            currency="EUR",
            lines=[
                pb.InvoiceLine(description=d, quantity=q, unit="C62", unit_price=p, vat_rate=r)
                for d, q, p, r in LINES
            ],
        )
        metadata = (("authorization", self.auth["Authorization"]),)
        response = await self.stub.CreateInvoice(request, metadata=metadata, timeout=120)
        return response.invoice.id

    async def _file(self, content: bytes, filename: str, media_type: str) -> str:
        import aiohttp

        form = aiohttp.FormData()
        form.add_field("file", content, filename=filename, content_type=media_type)
        form.add_field("supplier_structure_id", self.supplier_id)
        async with self.session.post(
            f"{self.base}/invoices/xml", data=form, headers=self.auth
        ) as response:
            return await self._answer(response)

    async def ubl_rest(self, index: int) -> str:
        content = self.ubl.replace(
            marker("UB", self.run).encode(), number("UB", self.run, index).encode()
        )
        return await self._file(content, "facture.xml", "application/xml")

    async def facturx_rest(self, index: int) -> str:
        content = self.facturx.replace(
            marker("FX", self.run).encode(), number("FX", self.run, index).encode()
        )
        return await self._file(content, "facture.pdf", "application/pdf")

    def tags(self) -> tuple[str, ...]:
        """How this run's invoice numbers start, per channel."""
        return tuple(f"{tag}{self.run}" for tag in ("PR", "PG", "UB", "FX"))

    def senders(self, keys: Iterable[str] = CHANNELS) -> dict[str, Send]:
        """Channel label (as in the issue's table) → sender, for the channels of ``keys``
        (``rest``, ``grpc``, ``ubl``, ``facturx``)."""
        every = {
            "rest": ("portal entry through REST", self.portal_rest),
            "grpc": ("portal entry through gRPC (no gateway)", self.portal_grpc),
            "ubl": ("UBL file through REST", self.ubl_rest),
            "facturx": ("CII / Factur-X file through REST", self.facturx_rest),
        }
        return dict(every[key] for key in keys)


async def warm_up(loop_: OpenLoop, deposits: int = 3) -> list[str]:
    """A few deposits one after the other through ``loop_``'s sender (numbers from its
    sequence); the first ones may find the document workers still starting (503 on a busy
    machine) and are tried again with a new number, up to a minute."""
    ids = []
    for _ in range(deposits):
        for attempt in range(12):
            loop_.next_index += 1
            try:
                ids.append(await loop_.send(loop_.next_index - 1))
                break
            except Exception:
                if attempt == 11:
                    raise
                await asyncio.sleep(5)
    return ids
