"""The consumer loop: inbox dedupe, retries, dead letters, offsets, broker restarts."""

import asyncio
import contextlib
import json
import os
import sys
import time
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
    """``python -m chorus_platform.dlq …`` as an operator runs it in the service's environment
    (its database and broker from the standard variables); its stdout."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chorus_platform.dlq",
        *args,
        env={
            **os.environ,
            "CHORUS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "CHORUS_DATABASE_URL": settings.database_url,
            "CHORUS_DATABASE_NAME": settings.database_name,
        },
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
        # One record per transaction: the attempts counted are the record's own (in a batch,
        # the batch's failed attempt comes first; tested with the batches).
        batch_size=1,
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

    parked = await pool.fetchrow("SELECT * FROM dead_letters")
    assert (parked["consumer"], parked["event_id"]) == ("test-dlq", bad_id)
    assert (parked["topic"], parked["attempts"]) == (topic, platform_settings.consumer_max_attempts)
    assert "ValueError: boom" in parked["error"]
    assert parked["value"] == ev.UserActivated(user_id="bad").SerializeToString()

    # operators see what is parked (ids, type, error; never the payload)...
    shown = await dlq_command(platform_settings, "show", "platformtest")
    [entry] = [json.loads(line) for line in shown.splitlines()]
    assert (entry["event_id"], entry["event_type"]) == (
        bad_id,
        "chorus.identity.events.v1.UserActivated",
    )
    assert (entry["consumer"], entry["topic"]) == ("test-dlq", topic)
    assert "boom" in entry["error"]
    assert "value" not in entry and "payload" not in entry

    # ...and once fixed, the parked event can be replayed and is handled
    replayed = json.loads(await dlq_command(platform_settings, "replay", "platformtest"))
    assert replayed["replayed"] == [entry["id"]]
    assert await dlq_command(platform_settings, "show", "platformtest") == ""
    fixed = EventConsumer(
        name="test-dlq",
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, record_effect)],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
    )
    async with running(fixed):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 2 FROM effects"))


async def test_dead_letters_survive_a_broker_restart_and_replay_from_the_database(
    pool, platform_settings, topic, kafka_broker
):
    async def refuses(tx, message, envelope):
        raise ValueError("référence de facture inconnue")

    def consumer(handler):
        return EventConsumer(
            name="test-dlq-restart",
            topics=[topic],
            subscriptions=[Subscription(ev.UserActivated, handler)],
            uow=UnitOfWork(pool, service="test"),
            settings=platform_settings,
        )

    bad_id = await publish(platform_settings, topic, ev.UserActivated(user_id="parked"))
    async with running(consumer(refuses)):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 1 FROM dead_letters"))

    await asyncio.to_thread(kafka_broker.stop)  # the broker forgets the record and its .dlq copy
    await asyncio.to_thread(kafka_broker.start)

    [entry] = [json.loads(line) for line in (await dlq_command(platform_settings, "show", "x"))
               .splitlines()]  # fmt: skip
    assert (entry["event_id"], entry["consumer"]) == (bad_id, "test-dlq-restart")
    assert "inconnue" in entry["error"]
    replayed = json.loads(
        await dlq_command(platform_settings, "replay", "x", "--id", str(entry["id"]))
    )
    assert replayed["replayed"] == [entry["id"]]

    async with running(consumer(record_effect)):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 1 FROM effects"))
    assert await pool.fetchval("SELECT user_id FROM effects") == "parked"
    assert await pool.fetchval("SELECT replayed_at IS NOT NULL FROM dead_letters") is True
    assert await dlq_command(platform_settings, "show", "x") == ""
    assert (
        json.loads(await dlq_command(platform_settings, "show", "x", "--all"))["id"] == entry["id"]
    )


async def test_a_consumer_stuck_on_a_commit_is_restarted(
    pool, platform_settings, topic, kafka_broker
):
    settings = platform_settings.model_copy(update={"consumer_commit_timeout_seconds": 1.0})

    async def freeze_the_broker_then_succeed(tx, message, envelope):
        await record_effect(tx, message, envelope)
        if message.user_id == "freeze":
            kafka_broker.pause()  # the commit that follows this handling cannot complete

    consumer = EventConsumer(
        name="test-stuck-commit",
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, freeze_the_broker_then_succeed)],
        uow=UnitOfWork(pool, service="test"),
        settings=settings,
    )
    await publish(platform_settings, topic, ev.UserActivated(user_id="freeze"))
    async with running(consumer):
        try:
            await wait_for(lambda: asyncio.sleep(0, result=consumer.restarts >= 1), timeout=60)
        finally:
            kafka_broker.resume()
        await publish(platform_settings, topic, ev.UserActivated(user_id="after"))
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 2 FROM effects"), timeout=60)
    # the frozen record came again after the restart and the inbox kept it from running twice
    effects = await pool.fetch("SELECT user_id FROM effects ORDER BY user_id")
    assert [r["user_id"] for r in effects] == ["after", "freeze"]


async def test_a_commit_to_a_topic_that_vanished_does_not_hold_the_consumer(
    pool, platform_settings, topic, kafka_broker
):
    """aiokafka retries a commit that gets UnknownTopicOrPartition for ever: bounded, the
    consumer starts again, which re-creates the topic."""
    settings = platform_settings.model_copy(update={"consumer_commit_timeout_seconds": 1.0})

    async def delete_the_topic_then_succeed(tx, message, envelope):
        await record_effect(tx, message, envelope)
        if message.user_id == "vanish":
            await asyncio.to_thread(kafka_broker.delete_topic, topic)

    consumer = EventConsumer(
        name="test-vanished-topic",
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, delete_the_topic_then_succeed)],
        uow=UnitOfWork(pool, service="test"),
        settings=settings,
    )
    await publish(platform_settings, topic, ev.UserActivated(user_id="vanish"))
    async with running(consumer):
        await wait_for(lambda: asyncio.sleep(0, result=consumer.restarts >= 1), timeout=60)
        await publish(platform_settings, topic, ev.UserActivated(user_id="after"))
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 2 FROM effects"), timeout=60)


@pytest.mark.parametrize("batch_size", [1, 20])
async def test_a_consumer_does_not_carry_its_position_into_a_broker_that_lost_its_data(
    pool, platform_settings, topic, kafka_broker, batch_size
):
    """The consumer has committed offset 6 when the broker restarts empty; the ten events
    published to the new broker sit at offsets 0-9. All are handled, in order."""
    inside, release = asyncio.Event(), asyncio.Event()
    handled = []

    async def handle(tx, message, envelope):
        handled.append(message.user_id)
        await record_effect(tx, message, envelope)
        if message.user_id == "K#5":
            inside.set()
            await release.wait()

    consumer = EventConsumer(
        name="test-new-log",
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, handle)],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
        batch_size=batch_size,
    )
    for i in range(5):
        await publish(platform_settings, topic, ev.UserActivated(user_id=f"K#{i}"), key="K")
    async with running(consumer):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 5 FROM effects"))
        await publish(platform_settings, topic, ev.UserActivated(user_id="K#5"), key="K")
        await asyncio.wait_for(inside.wait(), 30)
        await asyncio.to_thread(kafka_broker.stop)
        await asyncio.to_thread(kafka_broker.start)
        for i in range(6, 16):
            await publish(platform_settings, topic, ev.UserActivated(user_id=f"K#{i}"), key="K")
        release.set()
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 16 FROM effects"), timeout=60)

    first_seen = list(dict.fromkeys(handled))
    assert first_seen == [f"K#{i}" for i in range(16)]


async def test_a_consumer_resumes_quickly_after_a_broker_restart(
    pool, platform_settings, topic, kafka_broker
):
    consumer = EventConsumer(
        name="test-resume",
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, record_effect)],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
    )
    await publish(platform_settings, topic, ev.UserActivated(user_id="before"))
    async with running(consumer):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 1 FROM effects"))
        await asyncio.to_thread(kafka_broker.stop)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(kafka_broker.start)
        back = time.monotonic()
        await publish(platform_settings, topic, ev.UserActivated(user_id="after"))
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 2 FROM effects"), timeout=60)
        resumed = time.monotonic() - back
    print(f"\nconsumer resumed {resumed:.2f} s after the broker came back")


async def test_a_stopped_consumer_leaves_its_group_so_the_next_joins_at_once(
    pool, platform_settings, topic
):
    def make():
        return EventConsumer(
            name="test-leave",
            topics=[topic],
            subscriptions=[Subscription(ev.UserActivated, record_effect)],
            uow=UnitOfWork(pool, service="test"),
            settings=platform_settings,
        )

    await publish(platform_settings, topic, ev.UserActivated(user_id="one"))
    async with running(make()):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 1 FROM effects"))
    started = time.monotonic()
    await publish(platform_settings, topic, ev.UserActivated(user_id="two"))
    async with running(make()):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 2 FROM effects"))
    print(f"\nnext consumer of the group handled an event {time.monotonic() - started:.2f} s later")


@pytest.fixture
async def ordered_effects(pool):
    """Effects numbered in commit order (a sequence), to check the order per key."""
    await pool.execute("CREATE TABLE ordered_effects (n bigserial PRIMARY KEY, user_id text)")


async def record_ordered_effect(tx, message, envelope):
    await tx.conn.execute("INSERT INTO ordered_effects (user_id) VALUES ($1)", message.user_id)


async def ordered(pool):
    rows = await pool.fetch("SELECT user_id FROM ordered_effects ORDER BY n")
    return [r["user_id"] for r in rows]


async def test_a_batch_of_records_is_handled_in_one_transaction_in_order(
    pool, platform_settings, topic, ordered_effects
):
    written = [f"K#{i}" for i in range(12)]
    for user_id in written:
        await publish(platform_settings, topic, ev.UserActivated(user_id=user_id), key="K")
    duplicate = await publish(platform_settings, topic, ev.UserActivated(user_id="once"), key="K")
    await publish(  # a relay retry: the same event twice in one batch
        platform_settings, topic, ev.UserActivated(user_id="once"), event_id=duplicate, key="K"
    )
    consumer = EventConsumer(
        name="test-batch",
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, record_ordered_effect)],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
        batch_size=50,
    )
    async with running(consumer):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 13 FROM inbox"))
        await wait_for(lambda: asyncio.sleep(0, result=consumer.handled == 13))

    assert await ordered(pool) == [*written, "once"]
    assert consumer.batches >= 1 and consumer.batch_fallbacks == 0
    # fewer transactions than records: the handled records were grouped
    assert consumer.batches < consumer.handled


async def test_a_failing_record_in_a_batch_is_parked_alone_and_the_others_handled_once(
    pool, platform_settings, topic, ordered_effects
):
    calls = []

    async def fails_on_bad(tx, message, envelope):
        calls.append(message.user_id)
        await record_ordered_effect(tx, message, envelope)
        if message.user_id == "K#bad":
            raise ValueError("boom: invalid invoice reference")

    written = ["K#0", "K#1", "K#bad", "K#3", "K#4"]
    ids = {}
    for user_id in written:
        ids[user_id] = await publish(
            platform_settings, topic, ev.UserActivated(user_id=user_id), key="K"
        )
    consumer = EventConsumer(
        name="test-batch-dlq",
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, fails_on_bad)],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
        batch_size=50,
    )
    async with running(consumer):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 1 FROM dead_letters"))
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 4 FROM ordered_effects"))
        await asyncio.sleep(0.5)

    # the failed batch was rolled back; handled one at a time, each good record had its
    # effect once, in order, and only the bad one was parked, after its attempts
    assert await ordered(pool) == ["K#0", "K#1", "K#3", "K#4"]
    assert consumer.batch_fallbacks >= 1
    assert consumer.handled == 4 and consumer.dead_lettered == 1
    assert calls.count("K#bad") == platform_settings.consumer_max_attempts + 1
    parked = await pool.fetchrow("SELECT event_id, attempts FROM dead_letters")
    assert parked["event_id"] == ids["K#bad"]
    assert parked["attempts"] == platform_settings.consumer_max_attempts
    inbox = {r["event_id"] for r in await pool.fetch("SELECT event_id FROM inbox")}
    assert inbox == {ids[u] for u in written if u != "K#bad"}


async def test_a_batch_keeps_each_keys_order_across_partitions(
    pool, platform_settings, topic, ordered_effects
):
    keys = [f"key{k}" for k in range(6)]  # spread over the topic's partitions
    for i in range(8):
        for key in keys:
            await publish(platform_settings, topic, ev.UserActivated(user_id=f"{key}#{i}"), key=key)
    consumer = EventConsumer(
        name="test-batch-keys",
        topics=[topic],
        subscriptions=[Subscription(ev.UserActivated, record_ordered_effect)],
        uow=UnitOfWork(pool, service="test"),
        settings=platform_settings,
        batch_size=5,
    )
    async with running(consumer):
        await wait_for(lambda: pool.fetchval("SELECT count(*) = 48 FROM ordered_effects"))

    seen = await ordered(pool)
    for key in keys:
        assert [u for u in seen if u.startswith(f"{key}#")] == [f"{key}#{i}" for i in range(8)]
    assert consumer.batches >= 1
