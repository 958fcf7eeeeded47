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
from chorus_platform.topics import ensure_topics


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
    # As a service's consumer does: asking for a missing topic would create it with 4 partitions.
    await ensure_topics(settings, [topic_of(settings.service_name)])
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


async def wait_until(predicate, timeout=30.0):
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.1)


async def all_published(conn):
    return await conn.fetchval("SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL")


def by_key(records):
    received = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        received[record.key.decode()].append(ev.UserActivated.FromString(record.value).user_id)
    return dict(received)


async def test_each_published_row_records_where_the_broker_put_it(outbox_db, platform_settings):
    await write_events(outbox_db, platform_settings, per_user=4)
    relay = OutboxRelay(platform_settings.database_dsn, platform_settings)
    async with running(relay):
        await wait_until(lambda: all_published(outbox_db))
        records = await consume(platform_settings, 12)

    rows = await outbox_db.fetch("SELECT id, kafka_partition, kafka_offset FROM outbox")
    placed = {str(r["id"]): (r["kafka_partition"], r["kafka_offset"]) for r in rows}
    assert placed == {dict(r.headers)["ce_id"].decode(): (r.partition, r.offset) for r in records}
    # the mark is a floor of the partition's end offset: 1 + the first offset of the last batch
    marks = await outbox_db.fetch("SELECT partition, min_end_offset FROM outbox_high_water")
    ends = defaultdict(int)
    for r in records:
        ends[r.partition] = max(ends[r.partition], r.offset + 1)
    assert {m["partition"] for m in marks} == set(ends)
    assert all(1 <= m["min_end_offset"] <= ends[m["partition"]] for m in marks)


async def test_a_broker_that_restarted_empty_gets_the_recent_events_again_in_order(
    outbox_db, platform_settings, kafka_broker, caplog, metrics_recorded
):
    losses_before = metrics_recorded.total("chorus.outbox.broker_data_losses")
    written = await write_events(outbox_db, platform_settings, per_user=10)
    relay = OutboxRelay(platform_settings.database_dsn, platform_settings, check_seconds=0.5)
    async with running(relay):
        await wait_until(lambda: all_published(outbox_db))
        await asyncio.to_thread(kafka_broker.stop)  # nothing is being written meanwhile
        await asyncio.sleep(1.0)
        await asyncio.to_thread(kafka_broker.start)
        await wait_until(lambda: asyncio.sleep(0, result=relay.broker_losses == 1))
        await wait_until(lambda: all_published(outbox_db))
        records = await consume(platform_settings, 30)

    assert by_key(records) == dict(written)
    assert relay.republished == 30
    assert metrics_recorded.total("chorus.outbox.broker_data_losses") == losses_before + 1
    [warning] = [r for r in caplog.records if "lost events it had acknowledged" in r.getMessage()]
    assert warning.levelname == "WARNING"
    assert warning.republished == 30
    assert all(p["broker_end_offset"] < p["expected"] for p in warning.partitions.values())


async def test_only_rows_published_within_the_replay_window_are_published_again(
    outbox_db, platform_settings, kafka_broker
):
    settings = platform_settings.model_copy(update={"outbox_replay_seconds": 3600.0})
    old = await write_events(outbox_db, settings, per_user=2)
    relay = OutboxRelay(settings.database_dsn, settings)
    async with running(relay):
        await wait_until(lambda: all_published(outbox_db))
        await outbox_db.execute("UPDATE outbox SET published_at = published_at - interval '2 h'")
        recent = await write_events(outbox_db, settings, per_user=3)
        await wait_until(lambda: all_published(outbox_db))
        await asyncio.to_thread(kafka_broker.stop)
        await asyncio.to_thread(kafka_broker.start)
        await wait_until(lambda: asyncio.sleep(0, result=relay.broker_losses == 1))
        await wait_until(lambda: all_published(outbox_db))
        records = await consume(settings, 9)

    assert relay.republished == 9
    assert by_key(records) == dict(recent)
    assert not set(by_key(records)) & set(old)


async def test_an_event_committed_while_a_batch_is_being_marked_is_not_left_to_the_poll(
    outbox_db, platform_settings
):
    """Its NOTIFY arrives while the relay is busy; the relay must still go round at once
    (here the poll fallback and the idle broker check are an hour away, so only the NOTIFY
    can wake it)."""
    settings = platform_settings.model_copy(update={"outbox_poll_seconds": 3600.0})
    writer = await asyncpg.connect(settings.database_dsn)

    class CommitsDuringMarking(OutboxRelay):
        marked = 0

        async def _mark_published(self, conn, rows, acks, lowest):
            self.marked += 1
            if self.marked == 1:  # another transaction commits while the first batch is marked
                async with writer.transaction():
                    await add_event(
                        writer,
                        service=settings.service_name,
                        key="k",
                        message=ev.UserActivated(user_id="second"),
                    )
                await asyncio.sleep(0.3)  # its NOTIFY reaches the relay's connection meanwhile
            await super()._mark_published(conn, rows, acks, lowest)

    async with outbox_db.transaction():
        await add_event(
            outbox_db,
            service=settings.service_name,
            key="k",
            message=ev.UserActivated(user_id="first"),
        )
    relay = CommitsDuringMarking(settings.database_dsn, settings, check_seconds=3600.0)
    try:
        async with running(relay):
            records = await consume(settings, 2, timeout=20)
    finally:
        await writer.close()
    assert by_key(records) == {"k": ["first", "second"]}
