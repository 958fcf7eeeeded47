"""The consumer loop: inbox dedupe, retries, dead letters, offsets."""

import asyncio
import contextlib
import json
import os
import sys
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_platform import cloudevents
from chorus_platform.consumer import EventConsumer, Subscription
from chorus_platform.db import create_pool
from chorus_platform.migrations import apply_migrations, platform_migrations
from chorus_platform.topics import ensure_topics
from chorus_platform.unit_of_work import UnitOfWork


@pytest.fixture
async def pool(platform_settings):
    conn = await asyncpg.connect(platform_settings.database_dsn)
    await apply_migrations(conn, platform_migrations())
    await conn.execute("CREATE TABLE effects (user_id text NOT NULL)")
    await conn.close()
    pool = await create_pool(platform_settings.database_dsn)
    yield pool
    await pool.close()


@pytest.fixture
def topic(platform_settings):
    return f"test.{uuid.uuid4().hex[:8]}.events.v1"


async def publish(settings, topic, message, *, event_id=None, key="k"):
    await ensure_topics(settings, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        event_id = event_id or str(uuid.uuid4())
        headers = cloudevents.to_headers(
            event_id=event_id,
            ce_type=message.DESCRIPTOR.full_name,
            source="/chorus/test",
            time=datetime.now(UTC),
            traceparent=None,
        )
        await producer.send_and_wait(
            topic, message.SerializeToString(), key=key.encode(), headers=headers
        )
    finally:
        await producer.stop()
    return event_id


async def dlq_command(settings, *args: str) -> str:
    """``python -m chorus_platform.dlq …`` as an operator runs it; its stdout."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chorus_platform.dlq",
        *args,
        env={**os.environ, "CHORUS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


@contextlib.asynccontextmanager
async def running(consumer):
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_for(predicate, timeout=30.0):
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.1)


async def record_effect(tx, message, envelope):
    await tx.conn.execute("INSERT INTO effects (user_id) VALUES ($1)", message.user_id)


async def test_an_event_delivered_twice_has_its_effect_once(pool, platform_settings, topic):
    consumer = EventConsumer(
        name="test-dedupe",
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, record_effect)],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
    )
    event_id = await publish(platform_settings, topic, ev.UserActivated(user_id="u1"))
    await publish(platform_settings, topic, ev.UserActivated(user_id="u1"), event_id=event_id)
    await publish(platform_settings, topic, ev.UserActivated(user_id="u2"))

    async with running(consumer):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 2 FROM inbox"))
        await asyncio.sleep(0.5)

    effects = await pool.fetch("SELECT user_id FROM effects ORDER BY user_id")
    assert [r["user_id"] for r in effects] == ["u1", "u2"]


async def test_committed_offsets_mean_a_restart_does_not_reprocess(pool, platform_settings, topic):
    calls = []

    async def count_calls(tx, message, envelope):
        calls.append(envelope.id)

    def make():
        return EventConsumer(
            name="test-offsets",
            topics=[topic],
            subscriptions=[Subscription(ev.UserActivated, count_calls)],
            uow=UnitOfWork(pool, service="test"),
            settings=platform_settings,
        )

    await publish(platform_settings, topic, ev.UserActivated(user_id="u1"))
    async with running(make()):
        await wait_for(lambda: asyncio.sleep(0, result=len(calls) == 1))
        await asyncio.sleep(1.0)
    await pool.execute("DELETE FROM inbox")  # only the committed offset can prevent a rerun now
    await publish(platform_settings, topic, ev.UserActivated(user_id="u2"))
    async with running(make()):
        await wait_for(lambda: asyncio.sleep(0, result=len(calls) == 2))
        await asyncio.sleep(1.0)
    assert len(calls) == 2


async def test_a_failing_handler_is_retried_then_dead_lettered(pool, platform_settings, topic):
    attempts = []

    async def always_fails(tx, message, envelope):
        await tx.conn.execute("INSERT INTO effects (user_id) VALUES ($1)", message.user_id)
        attempts.append(envelope.id)
        raise ValueError("boom: invalid invoice reference")

    consumer = EventConsumer(
        name="test-dlq",
        topics=[topic],
        subscriptions=[
            Subscription(ev.UserActivated, always_fails),
            Subscription(ev.UserRegistered, lambda c, m, e: record_effect(c, m, e)),
        ],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
    )
    bad_id = await publish(platform_settings, topic, ev.UserActivated(user_id="bad"))
    await publish(platform_settings, topic, ev.UserRegistered(user_id="good"))

    async with running(consumer):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 1 FROM effects"))
        dlq = AIOKafkaConsumer(
            f"{topic}.dlq",
            bootstrap_servers=platform_settings.kafka_bootstrap,
            group_id=f"t-{uuid.uuid4()}",
            auto_offset_reset="earliest",
        )
        await dlq.start()
        try:
            record = await asyncio.wait_for(dlq.getone(), 30)
        finally:
            await dlq.stop()

    assert len(attempts) == platform_settings.consumer_max_attempts
    # every failed attempt was rolled back: only the good event had an effect
    assert [r["user_id"] for r in await pool.fetch("SELECT user_id FROM effects")] == ["good"]
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["ce_id"] == bad_id
    assert "ValueError: boom" in headers["dlq_error"]
    assert headers["dlq_consumer"] == "test-dlq"
    assert headers["dlq_attempts"] == str(platform_settings.consumer_max_attempts)

    # operators see what is parked (ids, type, error; never the payload)...
    shown = await dlq_command(platform_settings, "show", topic)
    [entry] = [json.loads(line) for line in shown.splitlines()]
    assert (entry["event_id"], entry["type"]) == (bad_id, "chorus.identity.events.v1.UserActivated")
    assert entry["consumer"] == "test-dlq"
    assert "boom" in entry["error"]
    assert "payload" not in entry

    # ...and once fixed, the parked event can be replayed and is handled
    replayed = json.loads(await dlq_command(platform_settings, "replay", topic))["replayed"]
    assert replayed == 1
    fixed = EventConsumer(
        name="test-dlq",
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, record_effect)],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
    )
    async with running(fixed):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 2 FROM effects"))
