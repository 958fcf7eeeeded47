"""Support of the sustained-throughput benchmark (issue #16): open-loop load, backlog sampling,
the "sustained" verdict, the search for the highest sustained rate, and the shared set-up.

The pieces, each usable alone:

* :func:`raw_baseline`: one invoice-shaped INSERT and one outbox-shaped INSERT per transaction
  on a scratch database of the stack's PostgreSQL, over N connections (the ratio's denominator);
* :class:`OpenLoop`: requests fired at ``t0 + i / rate`` whatever the answers do, bounded only
  by an in-flight cap; hitting the cap, or the scheduler falling a second behind, is reported as
  "saturated at the client";
* :class:`Backlogs`: what waits at each stage, read once a second — unpublished outbox rows of
  each service's database, invoices still ``DEPOSEE``, each consumer group's lag (end offsets
  minus committed offsets, from the broker), e-mails due and not sent, any document queue table
  found in the invoices database (discovered by name and columns, so that the harness works
  before and after the queues are added), flows not decided yet — plus the client's requests in
  flight;
* :func:`verdict`: a held rate is sustained when there were no errors, no stage's backlog trends
  up (the last third's mean not above the first third's by more than a margin) and every stage
  drains back to where it was within ``DRAIN_SECONDS``; otherwise it names the stage that
  saturated first (the one whose backlog left its margin for good earliest);
* :func:`find_sustained`: start at ``START_RATE``, double while sustained, then bisect.

Settings (environment): ``CHORUS_BENCH_HOLD_SECONDS`` (60, as the issue defines "sustained"),
``CHORUS_BENCH_START_RATE`` (10/s), ``CHORUS_BENCH_MAX_RATE`` (2,560/s),
``CHORUS_BENCH_BISECT_STEPS`` (3), ``CHORUS_BENCH_MAX_IN_FLIGHT`` (1,000),
``CHORUS_BENCH_DRAIN_SECONDS`` (10), ``CHORUS_BENCH_FLOW_INVOICES`` (1,000; 0: no flow),
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
import statistics
import tarfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import httpx
from chorus_platform.settings import with_database

HOLD_SECONDS = float(os.environ.get("CHORUS_BENCH_HOLD_SECONDS", "60"))
START_RATE = float(os.environ.get("CHORUS_BENCH_START_RATE", "10"))
MAX_RATE = float(os.environ.get("CHORUS_BENCH_MAX_RATE", "2560"))
MIN_RATE = 1.0
BISECT_STEPS = int(os.environ.get("CHORUS_BENCH_BISECT_STEPS", "3"))
MAX_IN_FLIGHT = int(os.environ.get("CHORUS_BENCH_MAX_IN_FLIGHT", "1000"))
DRAIN_SECONDS = float(os.environ.get("CHORUS_BENCH_DRAIN_SECONDS", "10"))
FLOW_INVOICES = int(os.environ.get("CHORUS_BENCH_FLOW_INVOICES", "1000"))
#: The channels measured (``CHORUS_BENCH_CHANNELS=rest,grpc`` for a part of them).
CHANNELS = tuple(
    key.strip()
    for key in os.environ.get("CHORUS_BENCH_CHANNELS", "rest,grpc,ubl,facturx").split(",")
    if key.strip()
)
#: How often the bench's user signs in again (access tokens last 15 minutes by default).
TOKEN_RENEWAL_SECONDS = float(os.environ.get("CHORUS_BENCH_TOKEN_RENEWAL_SECONDS", "300"))
#: Longest wait for the system to come back to its resting backlogs between two steps.
SETTLE_SECONDS = 300.0
#: A backlog "grows" only by more than max(MARGIN_FLOOR, MARGIN_SECONDS x rate) items: half a
#: second of arrivals is noise (a batch in progress), not a trend.
MARGIN_FLOOR = 5.0
MARGIN_SECONDS = 0.5
#: The scheduler is "behind" when a request leaves this late: the client itself saturates.
CLIENT_LATE_SECONDS = 1.0

CLIENT_STAGE = "client (in-flight cap / scheduler late)"
ERRORS_STAGE = "answers (errors)"
IN_FLIGHT_STAGE = "requests in flight (request path)"


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


def database_url(stack, service: str) -> str:
    """The DSN of a service's own database on the stack's server (``chorus_<svc>``)."""
    return with_database(stack.env["CHORUS_DATABASE_URL"], f"chorus_{service}")


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


# -- open-loop load -----------------------------------------------------------------------------


class Refused(Exception):
    """A deposit answered with anything but success (the message says what)."""


#: Sends deposit number ``index``; returns the invoice id, raises :class:`Refused`.
Send = Callable[[int], Awaitable[str]]


@dataclasses.dataclass
class Answer:
    invoice_id: str
    latency: float  # seconds, request sent -> answer read
    answered_at: datetime  # wall clock (the stack runs on the same machine)


@dataclasses.dataclass
class Load:
    """What an open-loop run did."""

    rate: float
    seconds: float
    answers: list[Answer] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    capped: int = 0  # requests not sent: the in-flight cap was reached
    late: int = 0  # requests sent more than CLIENT_LATE_SECONDS after their time
    in_flight: int = 0
    # Seconds from the start to the first error / the client's first cap or late send.
    first_error_at: float | None = None
    client_saturated_at: float | None = None

    @property
    def sent(self) -> int:
        return len(self.answers) + len(self.errors) + self.in_flight


class OpenLoop:
    """Fires ``send(i)`` at ``t0 + i / rate`` for ``seconds``, never waiting for answers (only
    the in-flight cap bounds it). ``next_index`` keeps numbers unique across runs."""

    def __init__(self, send: Send, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.send = send
        self.max_in_flight = max_in_flight
        self.next_index = 0
        self.load: Load | None = None

    async def run(self, rate: float, seconds: float) -> Load:
        load = self.load = Load(rate, seconds)
        tasks: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        count = max(1, round(rate * seconds))
        start = loop.time()
        for i in range(count):
            at = start + i / rate
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)  # behind: still let the answers and the sampler run
                if -delay > CLIENT_LATE_SECONDS:
                    load.late += 1
                    load.client_saturated_at = load.client_saturated_at or (loop.time() - start)
            if load.in_flight >= self.max_in_flight:
                load.capped += 1
                load.client_saturated_at = load.client_saturated_at or (loop.time() - start)
                continue
            load.in_flight += 1
            task = loop.create_task(self._one(load, self.next_index, start))
            self.next_index += 1
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)
        return load

    async def _one(self, load: Load, index: int, start: float) -> None:
        sent = time.perf_counter()
        try:
            invoice_id = await self.send(index)
        except Exception as error:  # every failure is an error of the answer, counted
            load.errors.append(f"#{index}: {type(error).__name__}: {str(error)[:300]}")
            if load.first_error_at is None:
                load.first_error_at = asyncio.get_running_loop().time() - start
        else:
            load.answers.append(Answer(invoice_id, time.perf_counter() - sent, datetime.now(UTC)))
        finally:
            load.in_flight -= 1


# -- backlogs -----------------------------------------------------------------------------------

#: Tables of the invoices database whose name says "work queue" are counted as one: with a
#: status-like column, the rows in these states; with a completion timestamp, the rows without
#: it; with ``failed_at`` (rows deleted when done, kept when given up, as
#: ``facturx_renderings``), the rows not failed; with ``queued_at`` or a lease, every row.
QUEUE_NAME_HINTS = ("render", "queue", "job", "task", "pending", "work", "document_")
PENDING_STATES = ("PENDING", "QUEUED", "WAITING", "NEW", "RUNNING", "CLAIMED", "IN_PROGRESS")
DONE_COLUMNS = ("done_at", "rendered_at", "completed_at", "finished_at", "processed_at")
KNOWN_TABLES = frozenset(
    {
        "invoices",
        "invoice_lines",
        "invoice_vat_breakdown",
        "invoice_history",
        "outbox",
        "inbox",
        "idempotency_keys",
        "outbox_high_water",
        "dead_letters",
        "schema_migrations",
        "documents",
        "invoice_rule_warnings",
        "staged_attachments",
        "flows",
        "flow_items",
    }
)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _processes() -> Iterable[tuple[int, int, int, float]]:
    """(pid, parent pid, session id, CPU seconds) of every process, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                text = stat.read()
        except OSError:  # gone meanwhile
            continue
        fields = text[text.rindex(")") + 2 :].split()
        # state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
        yield (
            int(entry.name),
            int(fields[1]),
            int(fields[3]),
            (int(fields[11]) + int(fields[12])) / ticks,
        )


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class CpuMeter:
    """CPU seconds used so far by each part of the stack: each service and, apart, its workers
    (the other processes of its session), PostgreSQL (the postmaster and its backends), the
    broker, and this process (the load generator, the sampler and the in-process SMTP
    catcher). Processes that have exited no longer count: a reading covers the living ones."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.postmaster: int | None = None
        self.broker: int | None = None

    async def start(self, conn: asyncpg.Connection) -> None:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        self.postmaster = next((ppid for pid, ppid, _, _ in _processes() if pid == backend), None)
        port = self.stack.env["CHORUS_KAFKA_BOOTSTRAP"].rsplit(":", 1)[1]
        for pid, _, _, _ in _processes():
            line = _command_line(pid)
            if "tansu" in line and f":{port}" in line:
                self.broker = pid
                break

    def read(self) -> dict[str, float]:
        services = {pid: name for name, pid in self.stack.service_pids().items()}
        me = os.getpid()
        totals: dict[str, float] = dict.fromkeys([*services.values(), "postgres", "broker"], 0.0)
        totals["bench process"] = 0.0
        for pid, ppid, session, seconds in _processes():
            if session in services:
                # The service's own process, and its workers (document, flow) apart.
                name = services[session] if pid == session else f"{services[session]} workers"
                totals[name] = totals.get(name, 0.0) + seconds
            elif self.postmaster is not None and self.postmaster in (pid, ppid):
                totals["postgres"] += seconds
            elif pid == self.broker:
                totals["broker"] += seconds
            elif pid == me:
                totals["bench process"] += seconds
        return totals


def cpu_shares(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
    """Each part's CPU between two readings, as a share of one core."""
    return {
        name: max(0.0, after[name] - before.get(name, 0.0)) / seconds
        for name in after
        if seconds > 0
    }


class Backlogs:
    """Reads, on demand, what waits at each stage (see the module docstring). Stages whose
    table does not exist are left out, so it works before and after the services change."""

    def __init__(
        self,
        stack,
        services: Sequence[str] = ("identity", "structures", "invoices", "notifications"),
    ) -> None:
        self.stack = stack
        self.services = tuple(services)
        self.conns: dict[str, asyncpg.Connection] = {}
        self.queries: list[tuple[str, str, str]] = []  # (stage, service, SQL)
        self.groups: list[str] = []  # consumer groups
        self.topics: list[str] = []
        self.committed_readers: dict = {}  # consumer group -> a consumer of that group id
        self.admin = None
        self.offsets_reader = None
        self.cpu = CpuMeter(stack)

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient

        for service in self.services:
            self.conns[service] = await asyncpg.connect(database_url(self.stack, service))
        for service, conn in self.conns.items():
            if await conn.fetchval("SELECT to_regclass('outbox') IS NOT NULL"):
                self.queries.append(
                    (
                        f"outbox unpublished ({service})",
                        service,
                        "SELECT count(*) FROM outbox WHERE published_at IS NULL",
                    )
                )
        if "invoices" in self.conns:
            self.queries.append(
                (
                    "invoices DEPOSEE (not routed)",
                    "invoices",
                    "SELECT count(*) FROM invoices WHERE status = 'DEPOSEE'",
                )
            )
            self.queries += await self._document_queues(self.conns["invoices"])
            self.queries.append(
                (
                    "flows not decided",
                    "invoices",
                    "SELECT count(*) FROM flows WHERE state IN "
                    "('IN_EN_ATTENTE_TRAITEMENT_CPP', 'IN_EN_COURS_TRAITEMENT_CPP')",
                )
            )
        if "notifications" in self.conns:
            self.queries.append(
                (
                    "e-mails due, not sent (notifications)",
                    "notifications",
                    "SELECT count(*) FROM emails WHERE status = 'SENDING'"
                    " OR (status = 'PENDING' AND next_attempt_at <= now())",
                )
            )
        await self.cpu.start(next(iter(self.conns.values())))
        bootstrap = self.stack.env["CHORUS_KAFKA_BOOTSTRAP"]
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await self.admin.start()
        self.offsets_reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await self.offsets_reader.start()
        await self.discover_groups()

    async def _document_queues(self, conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
        rows = await conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        )
        tables: dict[str, dict[str, str]] = {}
        for row in rows:
            tables.setdefault(row["table_name"], {})[row["column_name"]] = row["data_type"]
        found = []
        for table, columns in tables.items():
            if table in KNOWN_TABLES or not any(h in table for h in QUEUE_NAME_HINTS):
                continue
            status = next((c for c in ("status", "state") if c in columns), None)
            done = next((c for c in DONE_COLUMNS if c in columns), None)
            count = f"SELECT count(*) FROM {_ident(table)}"
            if status is not None:
                states = ", ".join(f"'{s}'" for s in PENDING_STATES)
                sql = f"{count} WHERE upper({_ident(status)}::text) IN ({states})"
            elif done is not None:
                sql = f"{count} WHERE {_ident(done)} IS NULL"
            elif "failed_at" in columns:
                # A queue whose rows go when done, and stay with failed_at when given up.
                sql = f"{count} WHERE failed_at IS NULL"
            elif "queued_at" in columns or "lease_until" in columns:
                sql = count
            else:
                continue
            found.append((f"{table} pending (invoices)", "invoices", sql))
        return found

    async def discover_groups(self) -> None:
        """The consumer groups the broker knows (the services' consumers have joined by now) and
        the events topics. A group's committed offsets are read with a consumer of that group
        id that never subscribes (the embedded broker does not answer the admin client's
        OffsetFetch); a topic counts for a group once it has committed on it."""
        from aiokafka import AIOKafkaConsumer

        with contextlib.suppress(Exception):  # a broker without ListGroups: the known ones
            self.groups = sorted({entry[0] for entry in await self.admin.list_consumer_groups()})
        for group in ("invoices-routing", "notifications"):
            if group not in self.groups:
                self.groups.append(group)
        self.topics = sorted(
            t
            for t in await self.admin.list_topics()
            if t.startswith("chorus.") and not t.endswith(".dlq")
        )
        bootstrap = self.stack.env["CHORUS_KAFKA_BOOTSTRAP"]
        for group in self.groups:
            reader = AIOKafkaConsumer(
                bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
            )
            await reader.start()
            self.committed_readers[group] = reader

    async def sample(self) -> dict[str, float]:
        """Each stage's backlog now."""
        values: dict[str, float] = {}
        for stage, service, sql in self.queries:
            values[stage] = float(await self.conns[service].fetchval(sql))
        values.update(await self._lags())
        return values

    async def _lags(self) -> dict[str, float]:
        from aiokafka import TopicPartition

        partitions = [
            TopicPartition(topic, p)
            for topic in self.topics
            for p in sorted(self.offsets_reader.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            await self.offsets_reader.force_metadata_update()
            return {}
        ends = await self.offsets_reader.end_offsets(partitions)
        lags: dict[str, float] = {}
        for group, reader in self.committed_readers.items():
            lag, consumed = 0, False
            for tp in partitions:
                done = await reader.committed(tp)
                if done is not None and done >= 0:
                    consumed = True
                    lag += max(0, ends[tp] - done)
            if consumed:
                lags[f"consumer lag ({group})"] = float(lag)
        return lags

    async def stop(self) -> None:
        for conn in self.conns.values():
            await conn.close()
        if self.admin is not None:
            await self.admin.close()
        if self.offsets_reader is not None:
            await self.offsets_reader.stop()
        for reader in self.committed_readers.values():
            await reader.stop()


# -- one held rate ------------------------------------------------------------------------------


@dataclasses.dataclass
class Step:
    """One rate held: the load, the backlog samples, and the verdict."""

    rate: float
    load: Load
    baseline: dict[str, float]
    samples: list[dict[str, float]]  # one per second while the rate was held
    drain: dict[str, float]  # last sample of the drain
    drained_in: float | None  # seconds after the last send until every stage was back
    sustained: bool = False
    saturated: str = ""  # the stage that saturated first, when not sustained
    growth: dict[str, float] = dataclasses.field(default_factory=dict)
    cpu: dict[str, float] = dataclasses.field(default_factory=dict)  # share of a core, hold

    @property
    def accepted(self) -> list[str]:
        return [a.invoice_id for a in self.load.answers]


def margin(rate: float) -> float:
    return max(MARGIN_FLOOR, MARGIN_SECONDS * rate)


def verdict(step: Step) -> None:
    """Sets ``sustained``, ``saturated`` and ``growth`` (see the module docstring)."""
    allowed = margin(step.rate)
    onsets: dict[str, float] = {}
    stages = sorted({s for sample in step.samples for s in sample})
    third = max(1, len(step.samples) // 3)
    for stage in stages:
        series = [sample.get(stage, 0.0) for sample in step.samples]
        base = step.baseline.get(stage, series[0] if series else 0.0)
        first, last = statistics.fmean(series[:third]), statistics.fmean(series[-third:])
        step.growth[stage] = last - first
        grows = last - first > allowed
        stuck = step.drain.get(stage, 0.0) > base + allowed
        if grows or stuck:
            # The onset: the first second after which it never came back within its margin.
            above = [v > base + allowed for v in series]
            # Sample k is read k + 1 seconds after the start: a stage above its margin from
            # sample k on left it after the previous reading, k seconds after the start.
            onset = len(series)
            while onset > 0 and above[onset - 1]:
                onset -= 1
            onsets[stage] = float(onset if any(above) else len(series))
    # Errors and the client's own limits are effects: at the same second, a stage comes first.
    if step.load.client_saturated_at is not None:
        onsets[CLIENT_STAGE] = step.load.client_saturated_at + 0.01
    if step.load.first_error_at is not None:
        onsets[ERRORS_STAGE] = step.load.first_error_at + 0.02
    if not onsets and step.drained_in is not None and step.drained_in > DRAIN_SECONDS:
        onsets[IN_FLIGHT_STAGE] = len(step.samples)  # answers came late, after the hold
    step.sustained = not onsets and step.drained_in is not None
    if onsets:
        step.saturated = min(onsets, key=lambda s: (onsets[s], -step.growth.get(s, 0.0)))
    elif not step.sustained:
        step.saturated = "did not drain"


async def hold(loop_: OpenLoop, backlogs: Backlogs, rate: float, seconds: float) -> Step:
    """Holds ``rate`` for ``seconds`` while sampling every second, then follows the drain."""
    baseline = await backlogs.sample()
    samples: list[dict[str, float]] = []
    cpu_before = backlogs.cpu.read()
    run = asyncio.create_task(loop_.run(rate, seconds))
    started = time.perf_counter()
    hold_end = started + seconds
    next_at = started + 1.0
    while next_at <= hold_end + 0.01 and not run.done():
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        sample = await backlogs.sample()
        sample[IN_FLIGHT_STAGE] = float(loop_.load.in_flight if loop_.load else 0)
        samples.append(sample)
        next_at += 1.0
    cpu = cpu_shares(cpu_before, backlogs.cpu.read(), time.perf_counter() - started)
    # The open loop returns once every answer is in: its tail is part of the drain, which
    # counts from the last send.
    load = await run
    drained_at = hold_end
    deadline = drained_at + DRAIN_SECONDS
    allowed = margin(rate)
    drained_in: float | None = None
    while True:
        drain = await backlogs.sample()
        if all(v <= baseline.get(s, 0.0) + allowed for s, v in drain.items()):
            drained_in = time.perf_counter() - drained_at
            break
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.25)
    baseline.setdefault(IN_FLIGHT_STAGE, 0.0)
    step = Step(rate, load, baseline, samples or [drain], drain, drained_in, cpu=cpu)
    verdict(step)
    return step


async def settle(
    backlogs: Backlogs, reference: dict[str, float], timeout: float = SETTLE_SECONDS
) -> dict[str, float]:
    """Waits until every stage is back to ``reference`` (plus the floor margin), at most
    ``timeout`` seconds, so that the next step starts from an idle system; returns the stages
    still above it (none: settled)."""
    deadline = time.perf_counter() + timeout
    while True:
        now = await backlogs.sample()
        above = {s: v for s, v in now.items() if v > reference.get(s, 0.0) + MARGIN_FLOOR}
        if not above or time.perf_counter() > deadline:
            return above
        await asyncio.sleep(1.0)


# -- the search ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Search:
    """The steps of one channel and what they say."""

    channel: str
    steps: list[Step] = dataclasses.field(default_factory=list)

    @property
    def best(self) -> Step | None:
        """The highest sustained step."""
        held = [s for s in self.steps if s.sustained]
        return max(held, key=lambda s: s.rate) if held else None

    @property
    def first_failed(self) -> Step | None:
        """The lowest rate that was not sustained (where the first saturated stage is read)."""
        failed = [s for s in self.steps if not s.sustained]
        return min(failed, key=lambda s: s.rate) if failed else None

    @property
    def accepted(self) -> Iterable[str]:
        for step in self.steps:
            yield from step.accepted


def next_rate(
    search: Search, bisections: int, start: float = START_RATE, bisect_steps: int = BISECT_STEPS
) -> float | None:
    """Double while sustained, halve while not, then bisect ``bisect_steps`` times."""
    best, failed = search.best, search.first_failed
    if failed is None:
        rate = (best.rate * 2) if best else start
        return rate if rate <= MAX_RATE else None
    if best is None:
        rate = failed.rate / 2
        return rate if rate >= MIN_RATE else None
    if bisections >= bisect_steps or failed.rate - best.rate <= max(1.0, 0.05 * best.rate):
        return None
    return round((best.rate + failed.rate) / 2, 1)


async def find_sustained(
    channel: str,
    loop_: OpenLoop,
    backlogs: Backlogs,
    seconds: float = HOLD_SECONDS,
    start: float = START_RATE,
    bisect_steps: int = BISECT_STEPS,
    report: Callable[[str], None] = print,
) -> Search:
    """The highest rate ``loop_`` holds for ``seconds`` with no backlog growing."""
    search = Search(channel)
    resting = await backlogs.sample()
    bisections = 0
    while (rate := next_rate(search, bisections, start, bisect_steps)) is not None:
        if search.best is not None and search.first_failed is not None:
            bisections += 1
        step = await hold(loop_, backlogs, rate, seconds)
        search.steps.append(step)
        report(describe(channel, step))
        if unsettled := await settle(backlogs, resting):
            report(f"  [{channel}] still above the resting level before the next step: {unsettled}")
    return search


def describe(channel: str, step: Step) -> str:
    load = step.load
    answers = [a.latency for a in load.answers]
    p50 = statistics.median(answers) * 1000 if answers else math.nan
    verdict_text = "sustained" if step.sustained else f"NOT sustained: {step.saturated}"
    growing = ", ".join(
        f"{s} +{g:.0f}" for s, g in sorted(step.growth.items(), key=lambda x: -x[1]) if g > 0
    )
    drained = f"{step.drained_in:.1f} s" if step.drained_in is not None else "no"
    return (
        f"  [{channel}] {step.rate:7.1f}/s x {load.seconds:.0f} s: {len(load.answers)} ok, "
        f"{len(load.errors)} errors, {load.capped} capped, {load.late} late, answer p50 "
        f"{p50:.0f} ms, drained {drained}; {verdict_text}"
        + (f" (growth: {growing})" if growing else "")
        + (f"; CPU {cpu_text(step.cpu)}" if step.cpu else "")
        + (f"; first error {load.errors[0]}" if load.errors else "")
    )


def cpu_text(shares: dict[str, float], parts: int = 6) -> str:
    """The busiest parts first, in % of one core."""
    busiest = sorted(shares.items(), key=lambda item: -item[1])[:parts]
    return ", ".join(f"{name} {share:.0%}" for name, share in busiest)


# -- latencies and routing ------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: int) -> float:
    """The ``q``-th percentile (inclusive method); ``nan`` without samples."""
    if not samples:
        return math.nan
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


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
