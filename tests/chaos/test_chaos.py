"""Chaos: the whole system under a steady deposit load while every part of it is crashed.

The stack is started for real (PostgreSQL, the embedded broker, the SMTP catcher, the five
services). A supplier deposits portal invoices at a fixed rate (a new deposit starts every
1/rate seconds, at most ``CHORUS_CHAOS_IN_FLIGHT`` at once), each with an
``Idempotency-Key`` and retried with the same key after a 5xx, a dropped connection or a
409 "in progress", as an ERP connector does. Meanwhile the broker, PostgreSQL and each
service are killed (SIGKILL) at random moments, one at a time, and restarted after 1–5 s.

At the end, every deposit the client saw accepted must have converged:

- 0 invoices short of ``MISE_A_DISPOSITION``, 0 deposits abandoned by the client;
- 0 duplicated transitions in any invoice's history, 0 invoices the client did not ask for;
- every "mise à disposition" e-mail sent exactly once (one message, one Message-ID);
- no dead letter, in any service's database.

The figures (kills per part, deposits, client answers by status, recovery times) are printed.
``make test`` runs the short form (``CHORUS_CHAOS_KILLS=1`` kill of each part); ``make chaos``
the full length (20 kills of each part).
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import date

import asyncpg
import httpx
import pytest
import pytest_asyncio
from chorus_devstack.supervisor import Stack
from e2e_support import PUBLIC_RECIPIENT_SIRET, STRONG_PASSWORD, random_siret, unique_email

KILLS_PER_PART = int(os.environ.get("CHORUS_CHAOS_KILLS", "1"))
RATE_PER_SECOND = float(os.environ.get("CHORUS_CHAOS_RATE", "4"))
SEED = int(os.environ.get("CHORUS_CHAOS_SEED", str(random.randrange(1 << 30))))
SERVICES = ("identity", "structures", "invoices", "notifications", "gateway")
PARTS = ("broker", "postgres", *SERVICES)
# How long after the last kill everything must have converged.
CONVERGENCE_SECONDS = float(os.environ.get("CHORUS_CHAOS_CONVERGENCE_SECONDS", "240"))
# A deposit the client could not get accepted within this long is counted as abandoned.
DEPOSIT_DEADLINE_SECONDS = 240.0
# How long the e-mails may take to all arrive after the invoices converged: longer than the
# e-mail takeover delay (30 s) plus the first backoffs of a refused attempt (10 s, 20 s, 40 s).
MAIL_CONVERGENCE_SECONDS = float(os.environ.get("CHORUS_CHAOS_MAIL_SECONDS", "150"))
# Like an ERP's connector, the load keeps a bounded number of deposits in flight: when the
# stack answers slowly (a loaded CI machine), fewer are started instead of piling up retries
# of deposits that then outlive their deadline.
MAX_IN_FLIGHT = int(os.environ.get("CHORUS_CHAOS_IN_FLIGHT", "12"))
pytestmark = [
    pytest.mark.chaos,
    pytest.mark.asyncio(loop_scope="session"),
    # Up to ~10 s a kill (wait, downtime, restart), plus the setup and the convergence.
    pytest.mark.timeout(
        600 + len(PARTS) * KILLS_PER_PART * 15 + CONVERGENCE_SECONDS + MAIL_CONVERGENCE_SECONDS
    ),
]
# The settings of the chaos stack: quick reconciliation, so convergence is not a long wait.
CHAOS_ENV = {
    "CHORUS_ROUTING_RECONCILE_AFTER_SECONDS": "15",
    "CHORUS_ROUTING_RECONCILE_INTERVAL_SECONDS": "5",
}


def progress(line: str) -> None:
    """A line on the terminal as the run goes (shown with ``-s``, as ``make chaos`` runs)."""
    print(f"[chaos {time.strftime('%H:%M:%S')}] {line}", flush=True)


@dataclass
class Figures:
    kills: collections.Counter = field(default_factory=collections.Counter)
    recoveries: dict[str, list[float]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    answers: collections.Counter = field(default_factory=collections.Counter)
    started: int = 0
    accepted: dict[str, str] = field(default_factory=dict)  # invoice id -> number
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    retries: int = 0


class Supplier:
    """One supplier account with its structure, as an ERP connector holding its tokens."""

    def __init__(self, client: httpx.AsyncClient, email: str) -> None:
        self.client = client
        self.email = email
        self.access = ""
        self.refresh = ""
        self.structure_id = ""
        self._renewing: asyncio.Lock = asyncio.Lock()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    async def renew(self, seen: str) -> None:
        """A new access token (after a 401), refreshing once for every deposit that saw it."""
        async with self._renewing:
            if self.access != seen:
                return
            response = await self.client.post("/auth/refresh", json={"refresh_token": self.refresh})
            if response.status_code != 200:
                response = await self.client.post(
                    "/auth/token", json={"login_email": self.email, "password": STRONG_PASSWORD}
                )
            response.raise_for_status()
            tokens = response.json()
            self.access, self.refresh = tokens["access_token"], tokens["refresh_token"]


async def activated_supplier(client: httpx.AsyncClient, mail: httpx.AsyncClient) -> Supplier:
    email = unique_email("chaos")
    response = await client.post(
        "/accounts",
        json={
            "login_email": email,
            "first_name": "Camille",
            "last_name": "Chaos",
            "terms_accepted": True,
        },
    )
    assert response.status_code in (201, 202), response.text
    token = await activation_token(mail, email)
    response = await client.post(
        "/accounts/activation",
        json={
            "token": token,
            "password": STRONG_PASSWORD,
            "secret_question": "Nom de mon premier chat ?",
            "secret_answer": "Félix",
        },
    )
    assert response.status_code == 200, response.text
    supplier = Supplier(client, email)
    login = await client.post(
        "/auth/token", json={"login_email": email, "password": STRONG_PASSWORD}
    )
    assert login.status_code == 200, login.text
    supplier.access, supplier.refresh = login.json()["access_token"], login.json()["refresh_token"]
    structure = await client.post(
        "/structures",
        headers=supplier.auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": "Fromagerie du Chaos",
            "address": {
                "line1": "1 place du Marché",
                "postal_code": "74000",
                "city": "Annecy",
                "country": "FR",
            },
        },
    )
    assert structure.status_code == 201, structure.text
    supplier.structure_id = structure.json()["id"]
    return supplier


async def all_messages(mail: httpx.AsyncClient) -> list[dict]:
    response = await mail.get("/api/v1/messages", params={"start": 0, "limit": 1_000_000})
    response.raise_for_status()
    return response.json()["messages"]


async def delivered(
    mail: httpx.AsyncClient, address: str, figures: Figures, *, wait: bool = True
) -> tuple[collections.Counter, collections.Counter]:
    """How many "mise à disposition" e-mails each accepted invoice has in the catcher (and how
    often each Message-ID was seen); with ``wait``, polls until every invoice has one or
    MAIL_CONVERGENCE_SECONDS have passed."""
    deadline = time.monotonic() + MAIL_CONVERGENCE_SECONDS
    while True:
        available: collections.Counter = collections.Counter()
        message_ids: collections.Counter = collections.Counter()
        for message in await all_messages(mail):
            if not any(t["Address"] == address for t in message["To"]):
                continue
            for number in figures.accepted.values():
                if number in message["Subject"] and "mise à disposition" in message["Subject"]:
                    available[number] += 1
                    message_ids[message["MessageID"]] += 1
        complete = all(available[n] for n in figures.accepted.values())
        if complete or not wait or time.monotonic() > deadline:
            return available, message_ids
        await asyncio.sleep(2.0)


async def activation_token(mail: httpx.AsyncClient, email: str) -> str:
    async with asyncio.timeout(120):
        while True:
            for summary in await all_messages(mail):
                if any(to["Address"] == email for to in summary["To"]):
                    detail = (await mail.get(f"/api/v1/message/{summary['ID']}")).json()
                    match = re.search(r"/activation\?token=([A-Za-z0-9_\-]+)", detail["Text"])
                    if match:
                        return match.group(1)
            await asyncio.sleep(0.3)


def invoice_body(supplier: Supplier, number: str) -> dict:
    return {
        "supplier_structure_id": supplier.structure_id,
        "recipient": {"identifier_type": "SIRET", "identifier": PUBLIC_RECIPIENT_SIRET},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": number,
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": "Reblochon fermier",
                "quantity": "4",
                "unit": "C62",
                "unit_price": "9.80",
                "vat_rate": "5.5",
            }
        ],
    }


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return ""


async def deposit(supplier: Supplier, figures: Figures) -> None:
    """One invoice, retried with the same key until it is accepted or definitively refused."""
    number = f"CHAOS-{uuid.uuid4().hex[:12]}"
    key = str(uuid.uuid4())
    figures.started += 1
    deadline = time.monotonic() + DEPOSIT_DEADLINE_SECONDS
    delay = 0.2
    while time.monotonic() < deadline:
        seen = supplier.access
        try:
            response = await supplier.client.post(
                "/invoices",
                headers={**supplier.auth, "Idempotency-Key": key},
                json=invoice_body(supplier, number),
            )
        except httpx.TransportError as error:
            figures.answers[type(error).__name__] += 1
        else:
            figures.answers[response.status_code] += 1
            if response.status_code >= 500:
                figures.answers[f"{response.status_code} {_code(response)}"] += 1
            if response.status_code == 201:
                figures.accepted[response.json()["id"]] = number
                return
            if response.status_code == 401:
                await supplier.renew(seen)
                continue
            if response.status_code not in (409, 429) and response.status_code < 500:
                figures.refused.append((number, response.status_code, response.text[:300]))
                return
        figures.retries += 1
        await asyncio.sleep(delay)
        delay = min(delay * 2, 3.0)
    figures.abandoned.append(number)


async def steady_load(supplier: Supplier, figures: Figures, stop: asyncio.Event) -> None:
    tasks: set[asyncio.Task] = set()
    period = 1 / RATE_PER_SECOND
    next_start = time.monotonic()
    while not stop.is_set():
        if len(tasks) >= MAX_IN_FLIGHT:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            next_start = max(next_start, time.monotonic())
            continue
        task = asyncio.create_task(deposit(supplier, figures))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        next_start += period
        await asyncio.sleep(max(0.0, next_start - time.monotonic()))
    if tasks:
        await asyncio.gather(*tasks)


async def crash(stack: Stack, part: str) -> None:
    if part == "broker":
        await asyncio.to_thread(getattr(stack.broker, "kill", stack.broker.stop))
    elif part == "postgres":
        await asyncio.to_thread(stack.postgres.kill)
    else:
        await stack.kill_service(part)


async def revive(stack: Stack, part: str) -> None:
    if part == "broker":
        await asyncio.to_thread(stack.broker.start)
    elif part == "postgres":
        await asyncio.to_thread(stack.postgres.recover)
    else:
        await stack.start_service(part)


async def killer(stack: Stack, figures: Figures, rng: random.Random) -> None:
    schedule = [part for part in PARTS for _ in range(KILLS_PER_PART)]
    rng.shuffle(schedule)
    for number, part in enumerate(schedule, 1):
        await asyncio.sleep(rng.uniform(2.0, 6.0))
        await crash(stack, part)
        figures.kills[part] += 1
        down = rng.uniform(1.0, 5.0)
        await asyncio.sleep(down)
        started = time.monotonic()
        await revive(stack, part)
        figures.recoveries[part].append(time.monotonic() - started)
        progress(
            f"kill {number}/{len(schedule)}: {part} down {down:.1f} s, serving again after"
            f" {figures.recoveries[part][-1]:.1f} s; {len(figures.accepted)} accepted so far"
        )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chaos_stack(tmp_path_factory):
    stack = Stack(
        ephemeral=True,
        ready_timeout=180,
        logs_dir=tmp_path_factory.mktemp("chaos-logs"),
        extra_env=CHAOS_ENV,
    )
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def converged(dsn: str, figures: Figures) -> dict[str, str]:
    """Each accepted invoice's status, once all are MISE_A_DISPOSITION or the time is up."""
    deadline = time.monotonic() + CONVERGENCE_SECONDS
    ids = list(figures.accepted)
    while True:
        try:
            conn = await asyncpg.connect(dsn)
            try:
                rows = await conn.fetch(
                    "SELECT id::text, status FROM invoices WHERE id = ANY($1::uuid[])", ids
                )
            finally:
                await conn.close()
            statuses = {row["id"]: row["status"] for row in rows}
            if all(statuses.get(i) == "MISE_A_DISPOSITION" for i in ids):
                return statuses
        except (OSError, asyncpg.PostgresError):
            statuses = {}
        if time.monotonic() > deadline:
            return statuses
        await asyncio.sleep(1.0)


async def test_nothing_is_lost_or_done_twice_while_every_part_crashes(chaos_stack):
    stack = chaos_stack
    rng = random.Random(SEED)
    figures = Figures()
    limits = httpx.Limits(max_connections=64)
    async with (
        httpx.AsyncClient(
            base_url=f"{stack.gateway_url}/api/v1", timeout=30, limits=limits
        ) as client,
        httpx.AsyncClient(base_url=stack.mail_api_url.removesuffix("/api/v1"), timeout=30) as mail,
    ):
        supplier = await activated_supplier(client, mail)
        progress(
            f"supplier ready; load at {RATE_PER_SECOND:g}/s, {len(PARTS) * KILLS_PER_PART} kills"
        )
        stop = asyncio.Event()
        began = time.monotonic()
        load = asyncio.create_task(steady_load(supplier, figures, stop))
        try:
            await killer(stack, figures, rng)
        finally:
            stop.set()
            await load
        loaded_for = time.monotonic() - began

        progress(f"load stopped: {len(figures.accepted)} accepted; waiting for convergence")
        invoices_dsn = stack.postgres.url_for("chorus_invoices")
        waited = time.monotonic()
        statuses = await converged(invoices_dsn, figures)
        convergence = time.monotonic() - waited

        conn = await asyncpg.connect(invoices_dsn)
        try:
            duplicated = await conn.fetch(
                """SELECT invoice_id::text, status, count(*) AS n FROM invoice_history
                    WHERE invoice_id = ANY($1::uuid[]) GROUP BY 1, 2 HAVING count(*) > 1""",
                list(figures.accepted),
            )
            unasked = await conn.fetch(
                """SELECT id::text, number FROM invoices
                    WHERE supplier_structure_id = $1 AND NOT (id = ANY($2::uuid[]))""",
                supplier.structure_id,
                list(figures.accepted),
            )
        finally:
            await conn.close()

        # Every e-mail of this supplier's invoices, once. An e-mail may be late, not lost: a
        # sender killed between SMTP and its record leaves it for the next sender to send again
        # after CHORUS_EMAIL_TAKEOVER_SECONDS, and a refused attempt waits for its backoff.
        waited = time.monotonic()
        available, message_ids = await delivered(mail, supplier.email, figures)
        mails_converged = time.monotonic() - waited
        await asyncio.sleep(10)  # a duplicate would show up by now
        available, message_ids = await delivered(mail, supplier.email, figures, wait=False)
        mails_missing = [n for n in figures.accepted.values() if available[n] == 0]
        mails_doubled = {n: c for n, c in available.items() if c > 1}
        missing_rows = []
        if mails_missing:
            conn = await asyncpg.connect(stack.postgres.url_for("chorus_notifications"))
            try:
                missing_rows = [
                    dict(row)
                    for row in await conn.fetch(
                        """SELECT e.subject, e.status, e.attempts, e.last_error,
                                  e.created_at, e.next_attempt_at, e.claimed_by
                             FROM emails e
                            WHERE e.recipient_address = $1
                              AND EXISTS (SELECT 1 FROM unnest($2::text[]) AS n(number)
                                           WHERE e.subject LIKE '%' || n.number || '%')""",
                        supplier.email,
                        mails_missing,
                    )
                ]
            finally:
                await conn.close()

        dead_letters = {}
        for service in ("invoices", "notifications"):
            conn = await asyncpg.connect(stack.postgres.url_for(f"chorus_{service}"))
            try:
                if await conn.fetchval("SELECT to_regclass('dead_letters') IS NOT NULL"):
                    dead_letters[service] = await conn.fetchval("SELECT count(*) FROM dead_letters")
            finally:
                await conn.close()

    short = {
        i: statuses.get(i, "absent")
        for i in figures.accepted
        if statuses.get(i) != "MISE_A_DISPOSITION"
    }
    recovery = {
        part: f"p50 {statistics.median(times):.1f} s, max {max(times):.1f} s"
        for part, times in sorted(figures.recoveries.items())
    }
    print(
        f"\nchaos (seed {SEED}): {sum(figures.kills.values())} kills {dict(figures.kills)}"
        f"\n  load {loaded_for:.0f} s at {RATE_PER_SECOND:g} deposits/s: {figures.started} started,"
        f" {len(figures.accepted)} accepted, {len(figures.refused)} refused,"
        f" {len(figures.abandoned)} abandoned, {figures.retries} retries"
        f"\n  client answers: {dict(sorted(figures.answers.items(), key=str))}"
        f"\n  restart → serving: {recovery}"
        f"\n  converged {convergence:.1f} s after the load; short of MISE_A_DISPOSITION:"
        f" {len(short)}; duplicated transitions: {len(duplicated)}; invoices not asked for:"
        f" {len(unasked)}"
        f"\n  e-mails: {sum(available.values())} for {len(figures.accepted)} invoices,"
        f" (all there {mails_converged:.1f} s after the invoices),"
        f" missing {len(mails_missing)}, doubled {len(mails_doubled)},"
        f" Message-IDs seen twice {sum(1 for c in message_ids.values() if c > 1)}"
        f"\n  dead letters: {dead_letters}"
    )
    assert figures.kills == {part: KILLS_PER_PART for part in PARTS}
    assert figures.accepted, "no deposit was accepted"
    assert not figures.refused, figures.refused[:5]
    assert not figures.abandoned, figures.abandoned[:5]
    assert not short, list(short.items())[:10]
    assert not duplicated, [dict(r) for r in duplicated[:10]]
    assert not unasked, [dict(r) for r in unasked[:10]]
    assert not mails_missing, (mails_missing[:10], missing_rows[:10])
    assert not mails_doubled, mails_doubled
    assert not any(dead_letters.values()), dead_letters
