"""Benchmark of invoice deposits (`make bench`): the whole system, driven through the gateway.

A throwaway stack (PostgreSQL, embedded broker, SMTP catcher, the five services as processes,
default settings) is started; one supplier user and structure deposit to the seeded
"Ministère de la Démonstration" (no service code or engagement required). Measured in the same
run, so the figures compare with each other (absolute numbers drift between runs on shared
machines):

1. raw: plain INSERTs of an invoice-shaped row, one transaction each, on the stack's own
   PostgreSQL (a scratch database), on one connection and on ``CLIENTS`` connections at once;
2. portal entry: ``POST /invoices`` with three lines from ``CLIENTS`` concurrent clients
   (gateway -> gRPC -> invoices, which computes the totals and writes the CII XML; the
   Factur-X PDF is rendered on its first download, not in the request -> PostgreSQL + outbox);
3. Factur-X: ``POST /invoices/xml`` of Factur-X PDFs (the portal invoice's own Factur-X,
   regenerated with a fresh number each, before the clock starts), same concurrency; each file
   is checked against the XSD and the EN 16931 schematron in the document worker;
4. for each channel, the time from the deposit's answer (client clock: the stack runs on the
   same machine) to the ``MISE_A_DISPOSITION`` entry of the invoice's history (outbox ->
   broker -> routing consumer), p50/p99, read once every invoice got there; and the same from
   the history's ``DEPOSEE`` entry, which portal entry stamps when the request arrives, before
   the Factur-X rendering (so under load it includes the wait for the document worker).

It runs twice: without, then with an ``Idempotency-Key`` on every deposit (as ERP connectors
send one), whose reservation and stored answer commit with the deposit itself.

It prints a table; it asserts only that every deposit was accepted and routed (no timing
assertions). The service logs stay in the test's ``logs`` temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import platform
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import httpx
import pytest
import pytest_asyncio
from chorus_devstack.supervisor import Stack
from chorus_invoices.documents.facturx import make_facturx_model, read_facturx_model
from e2e_support import PUBLIC_RECIPIENT_SIRET, Mailbox, activated_user, client_ip, random_siret

CLIENTS = 8
DEPOSITS = 200  # per channel
RAW_INSERTS = 2000
WARM_UP = 3
ROUTING_TIMEOUT = 180

pytestmark = pytest.mark.timeout(900)


@pytest_asyncio.fixture
async def stack(tmp_path_factory):
    stack = Stack(ephemeral=True, ready_timeout=180, logs_dir=tmp_path_factory.mktemp("logs"))
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


# -- raw database inserts --------------------------------------------------------------------

RAW_TABLE = """
CREATE TABLE raw_invoices (
    id uuid PRIMARY KEY, number text NOT NULL, supplier_structure_id text NOT NULL,
    recipient_structure_id text NOT NULL, framework text NOT NULL, type text NOT NULL,
    issue_date date NOT NULL, issue_year integer NOT NULL, currency char(3) NOT NULL,
    net_total numeric NOT NULL, vat_total numeric NOT NULL, gross_total numeric NOT NULL,
    amount_due numeric NOT NULL, status text NOT NULL, created_by text NOT NULL,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX raw_invoices_number ON raw_invoices (supplier_structure_id, issue_year, number);
CREATE INDEX raw_invoices_issued
    ON raw_invoices (supplier_structure_id, created_at DESC, id DESC);
CREATE INDEX raw_invoices_received
    ON raw_invoices (recipient_structure_id, created_at DESC, id DESC);
"""

RAW_INSERT = """
INSERT INTO raw_invoices (id, number, supplier_structure_id, recipient_structure_id, framework,
    type, issue_date, issue_year, currency, net_total, vat_total, gross_total, amount_due,
    status, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'A1_FACTURE_FOURNISSEUR', 'FACTURE', $5, $6, 'EUR', $7, $8, $9, $9,
    'DEPOSEE', $10, now(), now())
"""


async def scratch_database(server_url: str) -> str:
    """A fresh database on the stack's PostgreSQL server with the invoice-shaped table."""
    name = f"bench_raw_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = server_url.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(RAW_TABLE)
    finally:
        await conn.close()
    return dsn


async def raw_inserts(dsn: str, connections: int) -> float:
    """Invoice-shaped INSERTs per second, one transaction each, over ``connections``."""
    pool = await asyncpg.create_pool(dsn, min_size=connections, max_size=connections)
    supplier, recipient, user = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    today = date.today()
    per_connection = RAW_INSERTS // connections

    async def writer(slot: int) -> None:
        async with pool.acquire() as conn:
            for i in range(per_connection):
                async with conn.transaction():
                    await conn.execute(
                        RAW_INSERT,
                        uuid.uuid4(),
                        f"R{connections}-{slot}-{i}",
                        supplier,
                        recipient,
                        today,
                        today.year,
                        Decimal("102.10"),
                        Decimal("14.93"),
                        Decimal("117.03"),
                        user,
                    )

    try:
        start = time.perf_counter()
        await asyncio.gather(*(writer(slot) for slot in range(connections)))
        elapsed = time.perf_counter() - start
    finally:
        await pool.close()
    return per_connection * connections / elapsed


# -- deposits through the gateway -------------------------------------------------------------


async def supplier_structure(api: httpx.AsyncClient, auth: dict[str, str]) -> dict:
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": "Imprimerie du Banc d'Essai",
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


def portal_body(supplier_id: str, number: str) -> dict:
    """A portal invoice with three lines at three VAT rates."""
    return {
        "supplier_structure_id": supplier_id,
        "recipient": {"identifier_type": "SIRET", "identifier": PUBLIC_RECIPIENT_SIRET},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": number,
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": "Ramettes de papier recyclé A4",
                "quantity": "12",
                "unit": "C62",
                "unit_price": "4.35",
                "vat_rate": "20",
            },
            {
                "description": "Reliure de rapports",
                "quantity": "3",
                "unit": "C62",
                "unit_price": "12.90",
                "vat_rate": "10",
            },
            {
                "description": "Brochures d'information",
                "quantity": "40",
                "unit": "C62",
                "unit_price": "0.45",
                "vat_rate": "5.5",
            },
        ],
    }


Deposit = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def deposit_all(
    clients: list[httpx.AsyncClient], count: int, deposit: Deposit
) -> tuple[float, dict[str, datetime]]:
    """``count`` deposits from the concurrent ``clients``: (deposits per second, the time each
    invoice's deposit was answered, by invoice id)."""
    queue = iter(range(count))
    answered: dict[str, datetime] = {}
    failures: list[str] = []

    async def client_loop(client: httpx.AsyncClient) -> None:
        for index in queue:
            response = await deposit(client, index)
            if response.status_code == 201:
                answered[response.json()["id"]] = datetime.now(UTC)
            else:
                failures.append(f"#{index}: {response.status_code} {response.text[:300]}")

    start = time.perf_counter()
    await asyncio.gather(*(client_loop(client) for client in clients))
    elapsed = time.perf_counter() - start
    assert not failures, f"{len(failures)} deposits refused, first: {failures[:3]}"
    return count / elapsed, answered


async def wait_all_routed(client: httpx.AsyncClient, ids: list[str]) -> None:
    """Until every invoice is MISE_A_DISPOSITION (the test fails after ROUTING_TIMEOUT)."""
    pending = set(ids)
    try:
        async with asyncio.timeout(ROUTING_TIMEOUT):
            while pending:
                for invoice_id in list(pending):
                    response = await client.get(f"/invoices/{invoice_id}")
                    assert response.status_code == 200, response.text
                    if response.json()["status"] == "MISE_A_DISPOSITION":
                        pending.discard(invoice_id)
                if pending:
                    await asyncio.sleep(0.5)
    except TimeoutError:
        pytest.fail(f"{len(pending)} of {len(ids)} invoices never reached MISE_A_DISPOSITION")


async def routing_delays(
    clients: list[httpx.AsyncClient], answered: dict[str, datetime]
) -> tuple[list[float], list[float]]:
    """Seconds to the MISE_A_DISPOSITION entry of each history, from the deposit's answer
    (client clock, same machine) and from the history's DEPOSEE entry."""
    from_answer: list[float] = []
    from_history: list[float] = []
    queue = iter(answered.items())

    async def reader(client: httpx.AsyncClient) -> None:
        for invoice_id, answered_at in queue:
            response = await client.get(f"/invoices/{invoice_id}/history")
            assert response.status_code == 200, response.text
            at = {item["status"]: item["at"] for item in response.json()["items"]}
            available = datetime.fromisoformat(at["MISE_A_DISPOSITION"])
            from_answer.append((available - answered_at).total_seconds())
            deposited = datetime.fromisoformat(at["DEPOSEE"])
            from_history.append((available - deposited).total_seconds())

    await asyncio.gather(*(reader(client) for client in clients))
    return from_answer, from_history


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


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


@pytest.mark.parametrize("keyed", [False, True], ids=["no-key", "idempotency-key"])
async def test_invoice_deposit_throughput_and_routing_latency(stack, keyed):
    raw_dsn = await scratch_database(stack.env["CHORUS_DATABASE_URL"])
    raw_single = await raw_inserts(raw_dsn, 1)
    raw_concurrent = await raw_inserts(raw_dsn, CLIENTS)

    base = f"{stack.gateway_url}/api/v1"
    async with (
        httpx.AsyncClient(
            base_url=base, timeout=60, headers={"X-Forwarded-For": client_ip()}
        ) as api,
        httpx.AsyncClient(
            base_url=stack.mail_api_url.removesuffix("/").removesuffix("/api/v1"), timeout=10
        ) as mail,
    ):
        _, _, auth = await activated_user(api, Mailbox(mail), "Berenice")
        supplier = await supplier_structure(api, auth)
        clients = [
            httpx.AsyncClient(
                base_url=base,
                timeout=60,
                headers={**auth, "X-Forwarded-For": client_ip()},
                limits=httpx.Limits(max_connections=1),
            )
            for _ in range(CLIENTS)
        ]
        try:
            run = uuid.uuid4().hex[:6]

            def key(number: str) -> dict[str, str]:
                return {"Idempotency-Key": f"bench-{number}"} if keyed else {}

            def portal(offset: int) -> Deposit:
                async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
                    number = f"P-{run}-{offset + index:04d}"
                    return await client.post(
                        "/invoices", json=portal_body(supplier["id"], number), headers=key(number)
                    )

                return send

            # Warm-up (connections, caches, the document worker), then the portal's own
            # Factur-X becomes the template of the Factur-X deposits.
            _, warm_ids = await deposit_all(clients[:1], WARM_UP, portal(DEPOSITS))
            template = await clients[0].get(f"/invoices/{next(iter(warm_ids))}/document")
            assert template.status_code == 200, template.text
            invoice = read_facturx_model(template.content)
            assert invoice.buyer.legal_registration.value == PUBLIC_RECIPIENT_SIRET
            files = await asyncio.to_thread(
                lambda: [
                    make_facturx_model(dataclasses.replace(invoice, number=f"F-{run}-{i:04d}")).pdf
                    for i in range(WARM_UP + DEPOSITS)
                ]
            )

            def facturx(offset: int) -> Deposit:
                async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
                    return await client.post(
                        "/invoices/xml",
                        files={"file": ("facture.pdf", files[offset + index], "application/pdf")},
                        data={"supplier_structure_id": supplier["id"]},
                        headers=key(f"F-{run}-{offset + index:04d}"),
                    )

                return send

            _, warm_files = await deposit_all(clients[:1], WARM_UP, facturx(DEPOSITS))
            await wait_all_routed(clients[0], [*warm_ids, *warm_files])

            portal_rate, portal_ids = await deposit_all(clients, DEPOSITS, portal(0))
            facturx_rate, facturx_ids = await deposit_all(clients, DEPOSITS, facturx(0))
            await wait_all_routed(clients[0], [*portal_ids, *facturx_ids])
            portal_delays = await routing_delays(clients, portal_ids)
            facturx_delays = await routing_delays(clients, facturx_ids)
        finally:
            for client in clients:
                await client.aclose()

    assert len(set(portal_ids)) == len(set(facturx_ids)) == DEPOSITS
    assert len(portal_delays[0]) == len(facturx_delays[0]) == DEPOSITS
    print()
    keys = "an Idempotency-Key each" if keyed else "no Idempotency-Key"
    print(
        f"invoice deposits through the gateway, {DEPOSITS} per channel, {CLIENTS} clients, {keys}"
    )
    print(f"  machine: {machine()}")
    print(f"  raw INSERT, 1 connection             {raw_single:8.0f} tx/s")
    print(f"  raw INSERT, {CLIENTS} connections            {raw_concurrent:8.0f} tx/s")
    for label, rate in (
        ("portal entry (POST /invoices)", portal_rate),
        ("Factur-X (POST /invoices/xml)", facturx_rate),
    ):
        share = rate / raw_concurrent
        print(f"  {label:36} {rate:8.1f} deposits/s  ({share:.1%} of raw, {CLIENTS} connections)")
    for label, (from_answer, from_history) in (
        ("portal", portal_delays),
        ("Factur-X", facturx_delays),
    ):
        p50, p99 = percentiles(from_answer)
        print(f"  {label:8} answered -> MISE_A_DISPOSITION  p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
        p50, p99 = percentiles(from_history)
        print(f"  {label:8} history DEPOSEE -> MISE_A_DISP.  p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    print(f"  service logs: {stack.logs_dir}")
