"""Document work in spawned worker processes: off the event loop, errors carried back, a dead
or stuck worker replaced."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
import pytest_asyncio
from chorus_invoices.documents.formats import DocumentKind
from chorus_invoices.documents.intake import read_deposit
from chorus_invoices.documents.validation import Validator
from chorus_invoices.documents.workers import DocumentWorkers
from chorus_platform.errors import InvalidArgument, Unavailable

from .conftest import corpus_file


@pytest_asyncio.fixture(scope="module")
async def workers():
    pool = DocumentWorkers(processes=1, warm=True)
    await pool.start()
    yield pool
    await pool.close()


def many_lines_ubl(copies: int) -> bytes:
    """The corpus UBL invoice with its lines repeated: a long schematron run (its sums no
    longer hold, which does not matter here)."""
    text = corpus_file("valid/ubl-invoice.xml").decode()
    start = text.index("  <cac:InvoiceLine>")
    end = text.index("</Invoice>")
    return (text[:start] + text[start:end] * copies + text[end:]).encode()


async def test_validator_reports_rule_ids_from_a_worker(workers):
    report = await Validator(workers).validate(
        DocumentKind.UBL_INVOICE, corpus_file("invalid/ubl-br-co-15-gross.xml")
    )
    assert report.rule_ids == {"BR-CO-15"}


async def test_domain_errors_cross_back_with_reason_and_violations(workers):
    with pytest.raises(InvalidArgument) as caught:
        await workers.run(read_deposit, corpus_file("hostile/cii-invalid-date.xml"))
    assert caught.value.reason == "DOCUMENT_VALUE_INVALID"
    assert caught.value.violations[0].field
    with pytest.raises(InvalidArgument) as caught:
        await workers.run(read_deposit, corpus_file("invalid/cii-br-co-10-line-sum.xml"))
    assert caught.value.reason == "EN16931_RULES_FAILED"
    assert caught.value.metadata["rules"] == "BR-CO-10,BR-CO-13"


async def test_a_schematron_failing_in_a_worker_is_validation_engine_failed_naming_the_file(
    workers,
):
    data = corpus_file("hostile/cii-two-tax-representative-vat-ids.xml")
    with pytest.raises(InvalidArgument) as caught:
        await workers.run(read_deposit, data, None, "représentant.xml")
    error = caught.value
    assert error.reason == "VALIDATION_ENGINE_FAILED"  # not DOCUMENT_UNREADABLE
    assert "le fichier « représentant.xml »" in error.message
    assert error.metadata["stylesheet"] == "EN16931-CII-validation.xslt"
    report = await Validator(workers).validate(
        DocumentKind.CII, corpus_file("valid/cii-invoice.xml")
    )
    assert report.valid  # the worker goes on


async def test_validation_never_blocks_the_event_loop(workers):
    data = many_lines_ubl(400)
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick():
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    report = await Validator(workers).validate(DocumentKind.UBL_INVOICE, data)
    elapsed = time.monotonic() - started
    done.set()
    await ticker
    assert not report.valid  # BR-CO-10 and friends: the repeated lines break the sums
    # The same transform in this process would hold the GIL for all of `elapsed`.
    assert elapsed > 0.3, "document too small to show anything"
    assert max(gaps) < min(0.25, elapsed / 2)


async def test_a_dead_worker_is_replaced():
    pool = DocumentWorkers(processes=1, warm=False)
    try:
        with pytest.raises(InvalidArgument) as caught:
            await pool.run(os._exit, 3)
        assert caught.value.reason == "DOCUMENT_UNPROCESSABLE"
        assert await pool.run(pow, 2, 10) == 1024
    finally:
        await pool.close()


async def test_a_stuck_worker_is_ended_and_replaced():
    pool = DocumentWorkers(processes=1, warm=False, timeout=0.5)
    try:
        await pool.start()
        started = time.monotonic()
        with pytest.raises(InvalidArgument) as caught:
            await pool.run(time.sleep, 30)
        assert caught.value.reason == "DOCUMENT_UNPROCESSABLE"
        assert time.monotonic() - started < 5
        assert await pool.run(pow, 3, 3) == 27
    finally:
        await pool.close()


async def test_an_exception_in_a_worker_is_document_unreadable_and_the_worker_lives_on():
    pool = DocumentWorkers(processes=1, warm=False)
    try:
        with pytest.raises(InvalidArgument) as caught:
            await pool.run(int, "pas un nombre")  # ValueError in the worker
        assert caught.value.reason == "DOCUMENT_UNREADABLE"
        assert caught.value.violations[0].field == "file"
        assert await pool.run(pow, 2, 5) == 32
        assert pool.replaced == 0
    finally:
        await pool.close()


async def test_a_dying_worker_fails_only_its_own_document():
    # One worker, four documents queued behind each other: the second kills the worker. A
    # shared process pool would fail the third and fourth with it.
    pool = DocumentWorkers(processes=1, warm=False)
    try:
        results = await asyncio.gather(
            pool.run(pow, 2, 1),
            pool.run(os._exit, 9),
            pool.run(pow, 2, 3),
            pool.run(pow, 2, 4),
            return_exceptions=True,
        )
        assert results[0] == 2 and results[2:] == [8, 16]
        assert isinstance(results[1], InvalidArgument)
        assert results[1].reason == "DOCUMENT_UNPROCESSABLE"
        assert pool.replaced == 1
    finally:
        await pool.close()


async def test_a_dead_worker_among_several_leaves_the_others_at_work():
    pool = DocumentWorkers(processes=2, warm=False)
    try:
        await pool.start()
        slow = asyncio.ensure_future(pool.run(time.sleep, 0.5))
        await asyncio.sleep(0.1)  # the slow one has its worker
        with pytest.raises(InvalidArgument):
            await pool.run(os._exit, 9)
        assert await slow is None
        assert await asyncio.gather(*(pool.run(pow, 3, n) for n in range(4))) == [1, 3, 9, 27]
    finally:
        await pool.close()


async def test_a_document_sent_before_the_workers_are_warm_waits_for_them():
    pool = DocumentWorkers(processes=1, warm=True)
    try:
        assert not pool.ready
        report = await Validator(pool).validate(
            DocumentKind.UBL_INVOICE, corpus_file("valid/ubl-invoice.xml")
        )
        assert report.valid
    finally:
        await pool.close()


async def test_a_document_gets_unavailable_when_the_workers_are_not_warm_in_time():
    # Compiling the schematrons takes seconds; this pool waits a hundredth of one.
    pool = DocumentWorkers(processes=1, warm=True, startup_wait=0.01)
    try:
        with pytest.raises(Unavailable) as caught:
            await pool.run(pow, 2, 2)
        assert caught.value.reason == "DOCUMENT_WORKERS_STARTING"
        await pool.start()
        assert await pool.run(pow, 2, 2) == 4  # once warm, no such bound
    finally:
        await pool.close()


async def test_a_caller_that_gives_up_does_not_lose_the_worker():
    pool = DocumentWorkers(processes=1, warm=False)
    try:
        await pool.start()
        abandoned = asyncio.ensure_future(pool.run(time.sleep, 0.3))
        await asyncio.sleep(0.05)
        abandoned.cancel()
        assert await pool.run(pow, 5, 2) == 25  # got the worker back once the sleep ended
        assert pool.replaced == 0
    finally:
        await pool.close()
