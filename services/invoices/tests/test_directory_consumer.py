"""The ``invoices-directory`` consumer against the real broker: structures' events published
on their topic reach invoices' read model once, in time order, and a deactivation refuses
the next deposit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
from aiokafka import AIOKafkaProducer
from chorus.structures.events.v1 import structures_events_pb2 as events_pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_invoices.events.directory import CONSUMER_NAME
from chorus_platform import cloudevents

TOPIC = "chorus.structures.events.v1"


async def publish(bootstrap: str, key: str, message, at: datetime, event_id: str) -> None:
    """Publishes ``message`` as structures' relay would (CloudEvents headers, keyed)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            TOPIC,
            message.SerializeToString(),
            key=key.encode(),
            headers=cloudevents.to_headers(
                event_id=event_id,
                ce_type=message.DESCRIPTOR.full_name,
                source="/chorus/structures",
                time=at,
                traceparent=None,
            ),
        )
    finally:
        await producer.stop()


def with_status(structure: spb.Structure, status: int) -> spb.Structure:
    copy = spb.Structure()
    copy.CopyFrom(structure)
    copy.status = status
    return copy


async def test_events_from_the_broker_reach_the_model_once_and_in_time_order(
    start_api, parties, make_request, wait_until, kafka_broker
):
    # One test on purpose: a new member of the group waits about 5 s to join the broker.
    api = await start_api(background=True)
    await api.call("CreateInvoice", make_request(parties), parties.user)
    recipient = parties.recipient
    now = datetime.now(UTC)

    async def held_status() -> int | None:
        rows = await api.fetch(
            "SELECT structure FROM directory WHERE structure_id = $1", recipient.id
        )
        return spb.Structure.FromString(rows[0]["structure"]).status if rows else None

    closing = str(uuid.uuid4())
    closed = events_pb.StructureUpdated(
        structure=with_status(recipient, spb.STRUCTURE_STATUS_INACTIVE)
    )
    await publish(kafka_broker.bootstrap, recipient.id, closed, now, closing)

    async def inactive():
        return await held_status() == spb.STRUCTURE_STATUS_INACTIVE

    await wait_until(inactive, timeout=30)
    error = await api.fails("CreateInvoice", make_request(parties), parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "RECIPIENT_INACTIVE")
    assert api.structures.structures[recipient.id].status == spb.STRUCTURE_STATUS_ACTIVE

    # The same event again, an older state arriving late, then a service added behind them.
    await publish(kafka_broker.bootstrap, recipient.id, closed, now, closing)
    late = events_pb.StructureUpdated(structure=with_status(recipient, spb.STRUCTURE_STATUS_ACTIVE))
    await publish(
        kafka_broker.bootstrap, recipient.id, late, now - timedelta(seconds=2), str(uuid.uuid4())
    )
    service = spb.StructureService(id=str(uuid.uuid4()), code="ECOLES", name="Écoles", active=True)
    marker = str(uuid.uuid4())
    added = events_pb.ServiceCreated(structure_id=recipient.id, service=service)
    await publish(kafka_broker.bootstrap, recipient.id, added, now + timedelta(seconds=1), marker)

    async def marker_handled():
        rows = await api.fetch(
            "SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2", CONSUMER_NAME, marker
        )
        return bool(rows)

    await wait_until(marker_handled, timeout=30)
    assert await held_status() == spb.STRUCTURE_STATUS_INACTIVE
    rows = await api.fetch("SELECT structure FROM directory WHERE structure_id = $1", recipient.id)
    held = spb.Structure.FromString(rows[0]["structure"])
    assert [s.code for s in held.services] == ["ECOLES"]
    handled = await api.fetch("SELECT event_id FROM inbox WHERE consumer = $1", CONSUMER_NAME)
    assert sorted(r["event_id"] for r in handled if r["event_id"] in (closing, marker)) == sorted(
        [closing, marker]
    )
    assert await api.count("invoices") == 1
