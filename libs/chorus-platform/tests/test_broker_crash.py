"""The broker is killed and restarts empty while events are being written: every event still
reaches the consumer, once, in each aggregate's order (relay, consumer and inbox together)."""

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict

import asyncpg
import pytest
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_platform.consumer import EventConsumer, Subscription
from chorus_platform.db import create_pool
from chorus_platform.migrations import apply_migrations, platform_migrations
from chorus_platform.outbox import OutboxRelay, add_event, topic_of
from chorus_platform.unit_of_work import UnitOfWork

KEYS = 5
EVENTS_PER_KEY = 40


@pytest.fixture
async def pool(platform_settings):
    conn = await asyncpg.connect(platform_settings.database_dsn)
    await apply_migrations(conn, platform_migrations())
    await conn.execute("CREATE TABLE handled (seq bigserial, key text, event text)")
    await conn.close()
    pool = await create_pool(platform_settings.database_dsn)
    yield pool
    await pool.close()


@contextlib.asynccontextmanager
async def running(*workers):
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def write_stream(pool, service, keys, written, pause):
    """One event per transaction, keys in turn, ``pause`` seconds apart."""
    for i in range(EVENTS_PER_KEY):
        for key in keys:
            async with pool.acquire() as conn, conn.transaction():
                await add_event(
                    conn, service=service, key=key, message=ev.UserActivated(user_id=f"{key}#{i}")
                )
            written[key].append(f"{key}#{i}")
            await asyncio.sleep(pause)


@pytest.mark.parametrize(("downtime", "batch_size"), [(0.0, 1), (1.5, 1), (1.5, 20)])
async def test_every_event_survives_a_broker_crash_in_order_and_once(
    pool, platform_settings, kafka_broker, caplog, downtime, batch_size
):
    service = platform_settings.service_name

    async def record(tx, message, envelope):
        key = message.user_id.split("#")[0]
        await tx.conn.execute(
            "INSERT INTO handled (key, event) VALUES ($1, $2)", key, message.user_id
        )

    relay = OutboxRelay(platform_settings.database_dsn, platform_settings, check_seconds=1.0)
    consumer = EventConsumer(
        name="crash-test",
        topics=[topic_of(service)],
        subscriptions=[Subscription(ev.UserActivated, record)],
        uow=UnitOfWork(pool, service=service),
        settings=platform_settings,
        batch_size=batch_size,
    )
    keys = [str(uuid.uuid4()) for _ in range(KEYS)]
    written = defaultdict(list)
    total = KEYS * EVENTS_PER_KEY
    async with running(relay, consumer):
        writing = asyncio.create_task(write_stream(pool, service, keys, written, pause=0.01))
        async with asyncio.timeout(60):
            while await pool.fetchval("SELECT count(*) FROM handled") < total // 3:
                await asyncio.sleep(0.02)
        await asyncio.to_thread(kafka_broker.kill)  # mid-stream: acknowledged events die with it
        await asyncio.sleep(downtime)
        await asyncio.to_thread(kafka_broker.start)
        back = time.monotonic()
        await writing
        async with asyncio.timeout(120):
            while await pool.fetchval("SELECT count(DISTINCT event) FROM handled") < total:
                await asyncio.sleep(0.1)
        caught_up = time.monotonic() - back

    rows = await pool.fetch("SELECT key, event FROM handled ORDER BY seq")
    handled = defaultdict(list)
    for row in rows:
        handled[row["key"]].append(row["event"])
    assert handled == written  # every event, each once (inbox), in its aggregate's order
    assert relay.broker_losses >= 1 and relay.republished > 0
    assert any("lost events it had acknowledged" in r.getMessage() for r in caplog.records)
    print(
        f"\nbroker down {downtime:.1f} s: {relay.republished} events published again,"
        f" consumer restarts {consumer.restarts}, all {total} handled {caught_up:.2f} s"
        " after the broker came back"
    )
