"""A client whose broker connection broke gives up instead of carrying on with a new broker
(held against aiokafka and the real embedded broker)."""

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from chorus_platform.broker_connections import (
    BrokerConnectionLost,
    watch_consumer,
    watch_producer,
)


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
