"""A client whose broker connection broke gives up instead of carrying on with a new broker
(held against aiokafka and the real embedded broker); ``chorus.broker.up`` follows the relay's
and the consumers' contacts with it."""

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_platform.broker_connections import (
    BrokerConnectionLost,
    broker_up,
    watch_consumer,
    watch_producer,
)
from chorus_platform.consumer import EventConsumer, Subscription
from chorus_platform.db import create_pool
from chorus_platform.migrations import apply_migrations, platform_migrations
from chorus_platform.outbox import OutboxRelay, add_event, topic_of
from chorus_platform.unit_of_work import UnitOfWork


async def records_in(bootstrap: str, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer.end_offsets([TopicPartition(topic, 0)])  # loads the topic's metadata
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        batches = await consumer.getmany(timeout_ms=1000)
        return [r.value for records in batches.values() for r in records]
    finally:
        await consumer.stop()


async def test_an_unacknowledged_send_is_not_retried_on_a_restarted_broker(kafka_broker):
    topic = f"test.{uuid.uuid4().hex[:8]}.fence"
    kafka_broker.create_topic(topic, partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
    watch = watch_producer(producer)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"acknowledged")
        kafka_broker.pause()  # the next send stays in flight...
        in_flight = asyncio.ensure_future(producer.send_and_wait(topic, b"in flight"))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(kafka_broker.kill)  # ...until the broker dies with it
        await asyncio.to_thread(kafka_broker.start)

        with pytest.raises(KafkaConnectionError):
            await asyncio.wait_for(in_flight, 20)
        assert watch.broken
        with pytest.raises(BrokerConnectionLost):
            watch.check()
        with pytest.raises(BrokerConnectionLost):  # and the producer takes nothing more
            await producer.send(topic, b"later")
    finally:
        await producer.stop()
    # Without the watch, aiokafka would have written it at the start of the new, empty log.
    assert await records_in(kafka_broker.bootstrap, topic) == []


async def test_a_consumer_watch_sees_the_broker_go_and_an_idle_close_is_no_break(kafka_broker):
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_broker.bootstrap)
    watch = watch_consumer(consumer)
    await consumer.start()
    try:
        await consumer.topics()
        assert not watch.broken
        await asyncio.to_thread(kafka_broker.stop)
        await asyncio.to_thread(kafka_broker.start)
        async with asyncio.timeout(10):
            while not watch.broken:
                await asyncio.sleep(0.05)
    finally:
        await consumer.stop()  # closing it ourselves is no break either


async def gauge_values(metrics_recorded) -> dict[str, float]:
    """``chorus.broker.up`` as an exporter would read it now, by ``client``."""
    data = metrics_recorded._reader.get_metrics_data()
    return {
        point.attributes["client"]: point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "chorus.broker.up"
        for point in metric.data.data_points
    }


async def until_up_is(expected: dict[str, int], seconds: float = 60) -> None:
    try:
        async with asyncio.timeout(seconds):
            while {k: broker_up().get(k) for k in expected} != expected:
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"chorus.broker.up is {broker_up()}, not {expected}") from None


async def test_broker_up_follows_the_relay_and_the_consumers(
    platform_settings, kafka_broker, metrics_recorded
):
    conn = await asyncpg.connect(platform_settings.database_dsn)
    await apply_migrations(conn, platform_migrations())
    await conn.close()
    pool = await create_pool(platform_settings.database_dsn)

    async def ignore(tx, message, envelope):
        pass

    service = platform_settings.service_name
    relay = OutboxRelay(platform_settings.database_dsn, platform_settings, check_seconds=0.5)
    consumer = EventConsumer(
        name=f"{service}-up",
        topics=[topic_of(service)],
        subscriptions=[Subscription(ev.UserActivated, ignore)],
        uow=UnitOfWork(pool, service=service),
        settings=platform_settings,
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        await until_up_is({"relay": 1, "consumer": 1})

        await asyncio.to_thread(kafka_broker.stop)
        try:
            await until_up_is({"consumer": 0})  # consumers fetch all the time
            # An idle relay has no contact to report: an event to publish makes it try.
            async with pool.acquire() as conn, conn.transaction():
                await add_event(conn, service=service, key="k", message=ev.UserActivated())
            await until_up_is({"relay": 0, "consumer": 0})
            assert await gauge_values(metrics_recorded) == {"relay": 0, "consumer": 0}
        finally:
            await asyncio.to_thread(kafka_broker.start)

        await until_up_is({"relay": 1, "consumer": 1})
        assert await gauge_values(metrics_recorded) == {"relay": 1, "consumer": 1}
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await pool.close()
