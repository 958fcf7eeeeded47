"""The relay publishes outbox rows in order, with CloudEvents headers, and loses nothing."""

import asyncio
import contextlib
import uuid
from collections import defaultdict

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_platform.migrations import apply_migrations, platform_migrations
from chorus_platform.outbox import OutboxRelay, add_event, topic_of


@pytest.fixture
async def outbox_db(platform_settings):
    conn = await asyncpg.connect(platform_settings.database_dsn)
    await apply_migrations(conn, platform_migrations())
    yield conn
    await conn.close()


@contextlib.asynccontextmanager
async def running(relay):
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def consume(settings, count, timeout=30.0):
    consumer = AIOKafkaConsumer(
        topic_of(settings.service_name),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"test-{uuid.uuid4()}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    records = []
    try:
        async with asyncio.timeout(timeout):
            while len(records) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for rs in batch.values():
                    records.extend(rs)
    finally:
        await consumer.stop()
    return records


async def write_events(conn, settings, per_user):
    users = [str(uuid.uuid4()) for _ in range(3)]
    written = defaultdict(list)
    for i in range(per_user):
        for user in users:
            async with conn.transaction():
                await add_event(
                    conn,
                    service=settings.service_name,
                    key=user,
                    message=ev.UserActivated(user_id=f"{user}#{i}"),
                )
            written[user].append(f"{user}#{i}")
    return written


async def test_one_aggregates_events_arrive_in_commit_order(outbox_db, platform_settings):
    written = await write_events(outbox_db, platform_settings, per_user=40)
    relay = OutboxRelay(platform_settings.database_dsn, platform_settings, batch_size=17)

    async with running(relay):
        records = await consume(platform_settings, 120)

    received = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        received[record.key.decode()].append(ev.UserActivated.FromString(record.value).user_id)
    assert dict(received) == dict(written)
    unpublished = await outbox_db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    assert unpublished == 0


async def test_records_carry_cloudevents_binary_headers(outbox_db, platform_settings):
    async with outbox_db.transaction():
        event_id = await add_event(
            outbox_db,
            service=platform_settings.service_name,
            key="user-1",
            message=ev.UserActivated(user_id="user-1"),
            traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
    relay = OutboxRelay(platform_settings.database_dsn, platform_settings)
    async with running(relay):
        [record] = await consume(platform_settings, 1)

    headers = {k: v.decode() for k, v in record.headers}
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == event_id
    assert headers["ce_type"] == "chorus.identity.events.v1.UserActivated"
    assert headers["ce_source"] == f"/chorus/{platform_settings.service_name}"
    assert headers["content-type"] == "application/protobuf"
    assert headers["traceparent"].startswith("00-0af7651916cd43dd")
    assert "T" in headers["ce_time"]
    assert record.key == b"user-1"


async def test_add_event_outside_a_transaction_is_refused(outbox_db, platform_settings):
    with pytest.raises(RuntimeError, match="transaction"):
        await add_event(
            outbox_db,
            service=platform_settings.service_name,
            key="k",
            message=ev.UserActivated(user_id="x"),
        )


async def test_a_rolled_back_transaction_publishes_nothing(outbox_db, platform_settings):
    with contextlib.suppress(ZeroDivisionError):
        async with outbox_db.transaction():
            await add_event(
                outbox_db,
                service=platform_settings.service_name,
                key="k",
                message=ev.UserActivated(user_id="x"),
            )
            _ = 1 / 0
    assert await outbox_db.fetchval("SELECT count(*) FROM outbox") == 0


async def test_events_written_while_the_broker_is_down_wait_and_arrive(
    outbox_db, platform_settings, kafka_broker
):
    relay = OutboxRelay(platform_settings.database_dsn, platform_settings, retry_seconds=0.3)
    async with running(relay):
        kafka_broker.stop()
        try:
            written = await write_events(outbox_db, platform_settings, per_user=5)
            await asyncio.sleep(2.0)  # the relay keeps failing meanwhile
            waiting = await outbox_db.fetchval(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL"
            )
            assert waiting == 15
        finally:
            kafka_broker.start()
        records = await consume(platform_settings, 15, timeout=60)

    ids = sorted(ev.UserActivated.FromString(r.value).user_id for r in records)
    assert ids == sorted(i for values in written.values() for i in values)
