"""The sustained bench's own logic, without a stack: the open loop never waits for answers, the
verdict finds growth and names the stage that saturated first, the search doubles then bisects,
and document queue tables are found in a real PostgreSQL database."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from bench_backlogs import Backlogs
from bench_load import (
    CLIENT_STAGE,
    ERRORS_STAGE,
    Load,
    OpenLoop,
    Refused,
    Search,
    Step,
    next_rate,
    verdict,
)


def step(samples: list[dict[str, float]], rate: float = 10.0, **load) -> Step:
    drain = load.pop("drain", samples[0])
    drained_in = load.pop("drained_in", 0.5)
    result = Step(
        rate,
        Load(rate, len(samples), **load),
        baseline={stage: 0.0 for stage in samples[0]},
        samples=samples,
        drain=drain,
        drained_in=drained_in,
    )
    verdict(result)
    return result


FLAT = [{"outbox": 2.0, "lag": 1.0} for _ in range(12)]


def test_a_flat_backlog_with_no_error_is_sustained():
    held = step(FLAT)
    assert held.sustained
    assert held.saturated == ""


def test_a_growing_backlog_is_not_sustained_and_named():
    samples = [{"outbox": 2.0, "lag": 10.0 * i} for i in range(12)]
    held = step(samples, drain={"outbox": 0.0, "lag": 0.0})
    assert not held.sustained
    assert held.saturated == "lag"


def test_growth_within_the_margin_is_noise():
    samples = [{"outbox": 2.0 + i % 4, "lag": 1.0} for i in range(12)]  # ±3 < floor of 5
    assert step(samples).sustained


def test_the_stage_that_left_its_margin_first_saturated_first():
    samples = [
        {"request path": 20.0 * i, "lag": 0.0 if i < 6 else 50.0 * (i - 5)} for i in range(12)
    ]
    held = step(samples, drain={"request path": 0.0, "lag": 300.0})
    assert not held.sustained
    assert held.saturated == "request path"


def test_errors_rank_after_a_stage_that_grew_the_same_second():
    samples = [{"request path": 20.0 * i} for i in range(12)]
    held = step(samples, errors=["#3: 503"], first_error_at=1.0)
    assert held.saturated == "request path"
    only_errors = step(FLAT, errors=["#3: 503"], first_error_at=4.0)
    assert (only_errors.sustained, only_errors.saturated) == (False, ERRORS_STAGE)


def test_a_backlog_that_does_not_drain_is_not_sustained():
    held = step(FLAT, drain={"outbox": 2.0, "lag": 400.0}, drained_in=None)
    assert not held.sustained
    assert held.saturated == "lag"


def test_the_client_cap_is_a_saturation():
    held = step(FLAT, capped=3, client_saturated_at=2.0)
    assert (held.sustained, held.saturated) == (False, CLIENT_STAGE)


def test_the_search_doubles_then_bisects():
    capacity = 37.0
    search = Search("c")
    rates, bisections = [], 0
    while (rate := next_rate(search, bisections, 10.0, 3)) is not None:
        if search.best is not None and search.first_failed is not None:
            bisections += 1
        rates.append(rate)
        held = Step(rate, Load(rate, 1), {}, [{}], {}, 0.0)
        held.sustained = rate <= capacity
        search.steps.append(held)
    assert rates == [10.0, 20.0, 40.0, 30.0, 35.0, 37.5]
    assert search.best.rate == 35.0
    assert search.first_failed.rate == 37.5


def test_the_search_halves_when_the_start_is_too_fast():
    search = Search("c")
    rates = []
    while (rate := next_rate(search, 0, 10.0, 0)) is not None:
        rates.append(rate)
        held = Step(rate, Load(rate, 1), {}, [{}], {}, 0.0)
        held.sustained = rate <= 3.0
        search.steps.append(held)
    assert rates == [10.0, 5.0, 2.5]


async def test_the_open_loop_sends_without_waiting_for_answers():
    release = asyncio.Event()
    started: list[int] = []

    async def send(index: int) -> str:
        started.append(index)
        await release.wait()
        return f"id-{index}"

    loop_ = OpenLoop(send, max_in_flight=1000)
    run = asyncio.create_task(loop_.run(rate=1000.0, seconds=0.05))
    while len(started) < 50 and not run.done():
        await asyncio.sleep(0.01)
    # Every request left although none was answered.
    assert started == list(range(50))
    assert loop_.load.in_flight == 50
    release.set()
    load = await run
    assert [a.invoice_id for a in load.answers] == [f"id-{i}" for i in range(50)]
    assert (load.errors, load.capped, load.in_flight) == ([], 0, 0)


async def test_the_in_flight_cap_counts_as_client_saturation():
    release = asyncio.Event()

    async def send(index: int) -> str:
        await release.wait()
        raise Refused("503")

    loop_ = OpenLoop(send, max_in_flight=10)
    run = asyncio.create_task(loop_.run(rate=1000.0, seconds=0.05))
    while loop_.load is None or loop_.load.capped + loop_.load.in_flight < 50:
        await asyncio.sleep(0.01)
    release.set()
    load = await run
    assert (load.capped, len(load.errors)) == (40, 10)
    assert load.client_saturated_at is not None and load.first_error_at is not None
    assert loop_.next_index == 10  # numbers stay unique: only the sent ones are used


@pytest.fixture
async def invoices_like(make_database):
    dsn = await make_database("bench_queues")
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        """
        CREATE TABLE invoices (id int, status text);
        CREATE TABLE facturx_renderings (invoice_id int, queued_at timestamptz,
                                         lease_until timestamptz, failed_at timestamptz);
        CREATE TABLE pdf_render_jobs (invoice_id int, status text);
        CREATE TABLE document_jobs (id int, rendered_at timestamptz);
        CREATE TABLE worker_notes (id int);
        CREATE TABLE audit_notes (id int, status text);
        INSERT INTO invoices VALUES (1, 'DEPOSEE');
        INSERT INTO facturx_renderings VALUES (1, now(), NULL, NULL), (2, now(), now(), NULL),
                                              (3, now(), NULL, now());
        INSERT INTO pdf_render_jobs VALUES (1, 'PENDING'), (2, 'done'), (3, 'running');
        INSERT INTO document_jobs VALUES (1, NULL), (2, now());
        INSERT INTO audit_notes VALUES (1, 'PENDING');
        """
    )
    yield conn
    await conn.close()


async def test_document_queues_are_found_by_name_and_columns(invoices_like):
    found = await Backlogs(None)._document_queues(invoices_like)
    counts = {stage: await invoices_like.fetchval(sql) for stage, _, sql in found}
    assert counts == {
        "document_jobs pending (invoices)": 1,
        "facturx_renderings pending (invoices)": 2,
        "pdf_render_jobs pending (invoices)": 2,
    }
