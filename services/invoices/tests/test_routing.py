"""The routing consumer against the real broker: deposit → relay → consumer → routed, once."""

from __future__ import annotations

import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.events.routing import CONSUMER_NAME
from chorus_platform import outbox

TOPIC = "chorus.invoices.events.v1"
STATUS_CHANGED = "chorus.invoices.events.v1.InvoiceStatusChanged"


async def history_of(api, invoice_id: str) -> list[tuple[str, str]]:
    rows = await api.fetch(
        "SELECT status, actor FROM invoice_history WHERE invoice_id = $1 ORDER BY at, seq",
        invoice_id,
    )
    return [tuple(r) for r in rows]


async def test_deposit_is_routed_to_mise_a_disposition_once_even_when_replayed(
    start_api, parties, make_request, wait_until, kafka_broker
):
    # One test on purpose: each new member of the routing group waits about 5 s to join on
    # the embedded broker, and a stopped first member is only evicted after its session.
    api = await start_api(background=True)
    invoice = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice
    request = pb.GetInvoiceRequest(invoice_id=invoice.id)

    async def routed():
        seen = (await api.call("GetInvoice", request, parties.user)).invoice
        return seen.status == pb.INVOICE_STATUS_MISE_A_DISPOSITION

    await wait_until(routed, timeout=30)

    entries = (
        await api.call(
            "GetInvoiceHistory", pb.GetInvoiceHistoryRequest(invoice_id=invoice.id), parties.user
        )
    ).entries
    assert [(e.status, e.lifecycle_code, e.actor) for e in entries] == [
        (pb.INVOICE_STATUS_DEPOSEE, 200, parties.user),
        (pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT, 201, "system"),
        (pb.INVOICE_STATUS_MISE_A_DISPOSITION, 203, "system"),
    ]
    times = [e.at.ToDatetime() for e in entries]
    assert times[0] < times[1] < times[2]
    await assert_two_status_changes(api, invoice.id, parties)

    # The events reach the broker, keyed by invoice, as CloudEvents.
    async def published():
        rows = await api.fetch("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
        return rows[0]["n"] == 0

    await wait_until(published)
    assert await read_topic_types(kafka_broker.bootstrap, invoice.id, expected=3) == [
        "chorus.invoices.events.v1.InvoiceSubmitted",
        STATUS_CHANGED,
        STATUS_CHANGED,
    ]

    # The same InvoiceSubmitted again (same ce_id), then a second one behind it.
    marker = await replay_submission(api, invoice.id)

    async def marker_handled():
        rows = await api.fetch(
            "SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2", CONSUMER_NAME, marker
        )
        return bool(rows)

    await wait_until(marker_handled)
    assert await history_of(api, invoice.id) == [
        ("DEPOSEE", parties.user),
        ("EN_COURS_ACHEMINEMENT", "system"),
        ("MISE_A_DISPOSITION", "system"),
    ]
    await assert_two_status_changes(api, invoice.id, parties)
    assert await api.count("inbox") == 2


async def assert_two_status_changes(api, invoice_id: str, parties) -> None:
    rows = await api.fetch(
        "SELECT payload FROM outbox WHERE ce_type = $1 AND key = $2 ORDER BY seq",
        STATUS_CHANGED,
        invoice_id,
    )
    changes = [events_pb.InvoiceStatusChanged.FromString(r["payload"]) for r in rows]
    assert [(c.from_status, c.to_status, c.lifecycle_code) for c in changes] == [
        (pb.INVOICE_STATUS_DEPOSEE, pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT, 201),
        (pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT, pb.INVOICE_STATUS_MISE_A_DISPOSITION, 203),
    ]
    for change in changes:
        assert change.invoice_id == invoice_id
        assert change.depositor_user_id == parties.user
        assert change.actor == "system"
        assert change.supplier_structure_id == parties.supplier.id
        assert change.recipient_structure_id == parties.recipient.id


async def replay_submission(api, invoice_id: str) -> str:
    """Has the relay publish the invoice's InvoiceSubmitted row again, then adds a distinct
    InvoiceSubmitted for it (same key, so handled after); returns the latter's event id."""
    conn = await asyncpg.connect(api.dsn)
    try:
        await conn.execute(
            "UPDATE outbox SET published_at = NULL WHERE key = $1 AND ce_type = $2",
            invoice_id,
            "chorus.invoices.events.v1.InvoiceSubmitted",
        )
        async with conn.transaction():
            return await outbox.add_event(
                conn,
                service="invoices",
                key=invoice_id,
                message=events_pb.InvoiceSubmitted(invoice_id=invoice_id),
            )
    finally:
        await conn.close()


async def read_topic_types(bootstrap: str, key: str, *, expected: int) -> list[str]:
    """ce_type of the records keyed ``key`` on the topic, read without a consumer group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[str] = []
    try:
        partitions = consumer.partitions_for_topic(TOPIC) or set()
        consumer.assign([TopicPartition(TOPIC, p) for p in partitions])
        await consumer.seek_to_beginning()
        for _ in range(40):
            batches = await consumer.getmany(timeout_ms=250)
            for records in batches.values():
                for record in records:
                    if record.key == key.encode():
                        headers = dict(record.headers)
                        assert headers["content-type"] == b"application/protobuf"
                        assert headers["ce_source"] == b"/chorus/invoices"
                        found.append(headers["ce_type"].decode())
            if len(found) >= expected:
                break
    finally:
        await consumer.stop()
    return found


async def test_routing_handler_ignores_an_invoice_already_routed_or_not_deposited(
    api, parties, make_request
):
    deposited = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice
    draft = (
        await api.call("CreateInvoice", make_request(parties, draft=True), parties.user)
    ).invoice

    for invoice_id in (deposited.id, deposited.id, draft.id, str(uuid.uuid4())):
        await api.route(invoice_id)

    assert [s for s, _ in await history_of(api, deposited.id)] == [
        "DEPOSEE",
        "EN_COURS_ACHEMINEMENT",
        "MISE_A_DISPOSITION",
    ]
    assert [s for s, _ in await history_of(api, draft.id)] == ["BROUILLON"]
