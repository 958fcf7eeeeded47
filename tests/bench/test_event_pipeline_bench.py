"""Benchmark of the event pipeline (`make bench`): how much the outbox costs.

Measured in one run, on the same throwaway PostgreSQL and embedded broker, so the figures
compare with each other (absolute numbers drift between runs on shared machines):

1. raw: plain INSERTs of a row the size of an event, one transaction each;
2. outbox: the same transactions writing the row through ``add_event`` (plus NOTIFY);
3. relay: how fast the relay drains a backlog of those rows to the broker (acks=all);
4. consumer: how fast an :class:`~chorus_platform.consumer.EventConsumer` handles that
   backlog (inbox row + one INSERT per event), one transaction per event and then in batches
   (``batch_size``), from its first handled event to its last (the group join not counted);
5. latency: commit -> record readable by a consumer, p50/p99, with the relay running.

It prints a table; it asserts only that every event arrived (no timing assertions).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_platform.consumer import EventConsumer, Subscription
from chorus_platform.db import create_pool
from chorus_platform.migrations import apply_migrations, platform_migrations
from chorus_platform.outbox import OutboxRelay, add_event, topic_of
from chorus_platform.settings import ChorusSettings
from chorus_platform.unit_of_work import UnitOfWork

EVENTS = 2000
LATENCY_SAMPLES = 200
CONSUMER_BATCH = 50


@pytest.fixture
async def bench_settings(kafka_broker, make_database):
    dsn = await make_database("bench")
    conn = await asyncpg.connect(dsn)
    await apply_migrations(conn, platform_migrations())
    await conn.execute("CREATE TABLE raw_events (id uuid PRIMARY KEY, key text, payload bytea)")
    await conn.execute("CREATE TABLE consumed (consumer text, user_id text)")
    await conn.close()
    return ChorusSettings(
        service_name=f"bench{uuid.uuid4().hex[:6]}",
        database_url=dsn,
        database_name=dsn.rsplit("/", 1)[1],
        kafka_bootstrap=kafka_broker.bootstrap,
        outbox_poll_seconds=0.5,
    )


def message(i: int) -> ev.UserActivated:
    return ev.UserActivated(user_id=f"{uuid.uuid4()}#{i}")


async def raw_inserts(conn: asyncpg.Connection) -> float:
    start = time.perf_counter()
    for i in range(EVENTS):
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO raw_events (id, key, payload) VALUES ($1, $2, $3)",
                uuid.uuid4(),
                f"k{i % 50}",
                message(i).SerializeToString(),
            )
    return EVENTS / (time.perf_counter() - start)


async def outbox_writes(conn: asyncpg.Connection, service: str) -> float:
    start = time.perf_counter()
    for i in range(EVENTS):
        async with conn.transaction():
            await add_event(conn, service=service, key=f"k{i % 50}", message=message(i))
    return EVENTS / (time.perf_counter() - start)


async def drain(relay: OutboxRelay, conn: asyncpg.Connection) -> float:
    start = time.perf_counter()
    task = asyncio.create_task(relay.run())
    try:
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return EVENTS / (time.perf_counter() - start)


async def consume(settings: ChorusSettings, batch_size: int) -> tuple[float, EventConsumer]:
    """Events/s of a new consumer group handling the whole topic, first to last event."""
    pool = await create_pool(settings.database_dsn)
    name = f"bench-consumer-{batch_size}"
    stamps: list[float] = []

    async def handle(tx, message, envelope):
        await tx.conn.execute(
            "INSERT INTO consumed (consumer, user_id) VALUES ($1, $2)", name, message.user_id
        )
        stamps.append(time.perf_counter())

    consumer = EventConsumer(
        name=name,
        topics=[topic_of(settings.service_name)],
        subscriptions=[Subscription(ev.UserActivated, handle)],
        uow=UnitOfWork(pool, service=settings.service_name),
        settings=settings,
        batch_size=batch_size,
    )
    task = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(120):
            while consumer.handled < EVENTS:
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pool.close()
    return (EVENTS - 1) / (stamps[-1] - stamps[0]), consumer


async def latencies(settings: ChorusSettings, conn: asyncpg.Connection) -> list[float]:
    consumer = AIOKafkaConsumer(
        topic_of(settings.service_name),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"bench-{uuid.uuid4()}",
        auto_offset_reset="latest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    relay = OutboxRelay(settings.database_dsn, settings)
    task = asyncio.create_task(relay.run())
    samples = []
    try:
        await asyncio.sleep(6)  # let the consumer join its group before measuring
        for i in range(LATENCY_SAMPLES):
            marker = f"latency-{i}"
            committed = time.perf_counter()
            async with conn.transaction():
                await add_event(
                    conn,
                    service=settings.service_name,
                    key="k",
                    message=ev.UserActivated(user_id=marker),
                )
            while True:
                record = await asyncio.wait_for(consumer.getone(), 30)
                if ev.UserActivated.FromString(record.value).user_id == marker:
                    samples.append(time.perf_counter() - committed)
                    break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()
    return samples


async def test_event_pipeline_throughput_and_latency(bench_settings):
    conn = await asyncpg.connect(bench_settings.database_dsn)
    try:
        raw_rate = await raw_inserts(conn)
        outbox_rate = await outbox_writes(conn, bench_settings.service_name)
        relay = OutboxRelay(bench_settings.database_dsn, bench_settings)
        relay_rate = await drain(relay, conn)
        single_rate, single = await consume(bench_settings, 1)
        batch_rate, batched = await consume(bench_settings, CONSUMER_BATCH)
        samples = await latencies(bench_settings, conn)
    finally:
        await conn.close()

    assert relay.published == EVENTS
    assert single.handled == batched.handled == EVENTS
    assert len(samples) == LATENCY_SAMPLES
    cuts = statistics.quantiles(samples, n=100)
    print()
    print(f"event pipeline, {EVENTS} events, one transaction each")
    print(f"  raw INSERT                 {raw_rate:8.0f} tx/s")
    share = outbox_rate / raw_rate
    print(f"  INSERT through the outbox  {outbox_rate:8.0f} tx/s  ({share:.0%} of raw)")
    print(f"  relay drain to the broker  {relay_rate:8.0f} events/s")
    print(f"  consumer, 1 event per tx   {single_rate:8.0f} events/s")
    print(
        f"  consumer, batches of {CONSUMER_BATCH:<4d}  {batch_rate:8.0f} events/s"
        f"  ({batched.batches} transactions)"
    )
    p50, p99 = cuts[49] * 1000, cuts[98] * 1000
    print(f"  commit -> consumer         p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
