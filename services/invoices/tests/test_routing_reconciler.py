"""The routing reconciler: a deposit whose InvoiceSubmitted never reaches the routing consumer
is routed anyway, once; an invoice already routed, or deposited a moment ago, is left alone."""

from __future__ import annotations

import asyncio

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.events import outgoing
from chorus_invoices.usecases.routing_reconciler import COUNTER_NAME, RoutingReconciler
from chorus_platform.unit_of_work import UnitOfWork
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

STATUS_CHANGED = "chorus.invoices.events.v1.InvoiceStatusChanged"
ROUTED_HISTORY = [
    "DEPOSEE",
    "EN_COURS_ACHEMINEMENT",
    "MISE_A_DISPOSITION",
]


@pytest.fixture
def settings(settings):
    """Deadlines short enough for a test: routed after 0.5 s, looked for every 0.1 s."""
    return settings.model_copy(
        update={"routing_reconcile_after_seconds": 0.5, "routing_reconcile_interval_seconds": 0.1}
    )


def reconciled_count(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    return sum(
        point.value
        for resource in (data.resource_metrics if data else [])
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == COUNTER_NAME
        for point in metric.data.data_points
    )


def reconciler(api, reader: InMemoryMetricReader | None = None) -> RoutingReconciler:
    """A reconciler for one pass at a time, with the default 30 s deadline: tests make an
    invoice old enough by moving its deposit back (:func:`age`), never by waiting."""
    meter = MeterProvider(metric_readers=[reader] if reader else []).get_meter("test")
    return RoutingReconciler(
        UnitOfWork(api.pool, service="invoices", encode=outgoing.encode),
        after_seconds=30,
        interval_seconds=10,
        meter=meter,
    )


async def history(api, invoice_id: str) -> list[str]:
    rows = await api.fetch(
        "SELECT status FROM invoice_history WHERE invoice_id = $1 ORDER BY at, seq", invoice_id
    )
    return [row["status"] for row in rows]


async def status_changes(api, invoice_id: str) -> int:
    rows = await api.fetch(
        "SELECT count(*) AS n FROM outbox WHERE key = $1 AND ce_type = $2",
        invoice_id,
        STATUS_CHANGED,
    )
    return rows[0]["n"]


async def deposit(api, parties, make_request) -> str:
    response = await api.call("CreateInvoice", make_request(parties), parties.user)
    return response.invoice.id


async def age(api, invoice_id: str, seconds: float) -> None:
    """As if the invoice had been deposited ``seconds`` ago."""
    await api.fetch(
        "UPDATE invoices SET updated_at = now() - make_interval(secs => $2) WHERE id = $1",
        invoice_id,
        seconds,
    )


async def test_a_deposit_whose_event_never_comes_is_routed_by_the_reconciler_alone(
    start_api, parties, make_request, wait_until
):
    # No relay, no consumer: the InvoiceSubmitted stays in the outbox. Only the reconciler.
    api = await start_api(background=False, reconciler=True)
    invoice_id = await deposit(api, parties, make_request)

    async def routed():
        return await history(api, invoice_id) == ROUTED_HISTORY

    await wait_until(routed, timeout=15)
    got = await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice_id), parties.user)
    assert got.invoice.status == pb.INVOICE_STATUS_MISE_A_DISPOSITION
    assert await status_changes(api, invoice_id) == 2
    entries = await api.fetch(
        "SELECT actor FROM invoice_history WHERE invoice_id = $1 ORDER BY at, seq", invoice_id
    )
    assert [e["actor"] for e in entries][1:] == ["system", "system"]


async def test_an_event_marked_published_but_lost_is_routed_once_by_the_reconciler(
    start_api, parties, make_request, wait_until, caplog
):
    # The deposit's outbox row is marked published without ever being sent (what an
    # in-memory broker dying after its acknowledgement does); relay and consumer run.
    quiet = await start_api(background=False, reconciler=False)
    invoice_id = await deposit(quiet, parties, make_request)
    await quiet.fetch("UPDATE outbox SET published_at = now() WHERE key = $1", invoice_id)
    caplog.set_level("WARNING", logger="chorus_invoices.usecases.routing_reconciler")

    api = await start_api(background=True)

    async def routed():
        return await history(api, invoice_id) == ROUTED_HISTORY

    await wait_until(routed, timeout=30)
    await asyncio.sleep(0.5)  # a few more passes: nothing more happens
    assert await history(api, invoice_id) == ROUTED_HISTORY
    assert await status_changes(api, invoice_id) == 2
    lines = [r for r in caplog.records if r.getMessage() == "invoice routed by the reconciler"]
    assert [r.invoice_id for r in lines] == [invoice_id]
    assert lines[0].waited_seconds >= 0.5


async def test_the_reconciler_leaves_routed_and_recent_deposits_alone_and_counts_what_it_does(
    api, parties, make_request
):
    routed_already = await deposit(api, parties, make_request)
    await api.route(routed_already)
    await age(api, routed_already, 60)
    recent = await deposit(api, parties, make_request)
    stuck = await deposit(api, parties, make_request)
    await age(api, stuck, 60)
    reader = InMemoryMetricReader()
    job = reconciler(api, reader)

    assert await job.reconcile() == [stuck]

    assert await history(api, stuck) == ROUTED_HISTORY
    assert await history(api, routed_already) == ROUTED_HISTORY
    assert await history(api, recent) == ["DEPOSEE"]
    assert reconciled_count(reader) == 1
    assert await job.reconcile() == []
    assert reconciled_count(reader) == 1


async def test_a_late_event_after_the_reconciler_changes_nothing(api, parties, make_request):
    invoice_id = await deposit(api, parties, make_request)
    await age(api, invoice_id, 60)
    assert await reconciler(api).reconcile() == [invoice_id]

    await api.route(invoice_id)  # the InvoiceSubmitted turns up after all

    assert await history(api, invoice_id) == ROUTED_HISTORY
    assert await status_changes(api, invoice_id) == 2


async def test_reconciler_and_consumer_at_the_same_moment_route_once(api, parties, make_request):
    invoice_ids = [await deposit(api, parties, make_request) for _ in range(5)]
    for invoice_id in invoice_ids:
        await age(api, invoice_id, 60)

    await asyncio.gather(reconciler(api).reconcile(), *(api.route(i) for i in invoice_ids))

    for invoice_id in invoice_ids:
        assert await history(api, invoice_id) == ROUTED_HISTORY
        assert await status_changes(api, invoice_id) == 2


async def test_a_pass_goes_past_more_than_one_batch(api, parties, make_request, monkeypatch):
    from chorus_invoices.usecases import routing_reconciler

    monkeypatch.setattr(routing_reconciler, "BATCH", 2)
    invoice_ids = [await deposit(api, parties, make_request) for _ in range(5)]
    for invoice_id in invoice_ids:
        await age(api, invoice_id, 60)

    assert sorted(await reconciler(api).reconcile()) == sorted(invoice_ids)
