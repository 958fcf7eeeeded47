import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from chorus_devstack.broker import BrokerError, KafkaBroker
from chorus_devstack.ports import free_port, port_is_open
from chorus_platform.topics import DECLARED_TOPICS


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k", headers=[("traceparent", b"00-x")])
    finally:
        await producer.stop()


async def _consume_one(bootstrap: str, topic: str) -> tuple[bytes, bytes, list]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        # All partitions: a topic auto-created by a producer's retry has several.
        await consumer.topics()  # refreshes metadata
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        record = await asyncio.wait_for(consumer.getone(), 10)
        return record.key, record.value, list(record.headers)
    finally:
        await consumer.stop()


async def _consume_all(bootstrap: str, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        batches = await consumer.getmany(timeout_ms=1000)
        return [r.value for records in batches.values() for r in records]
    finally:
        await consumer.stop()


async def test_produce_and_consume_one_record(kafka_broker: KafkaBroker) -> None:
    topic = "devstack.test.roundtrip"
    await _create_topic(kafka_broker.bootstrap, topic)
    await _produce(kafka_broker.bootstrap, topic, "facture émise".encode())
    key, value, headers = await _consume_one(kafka_broker.bootstrap, topic)
    assert (key, value.decode()) == (b"k", "facture émise")
    assert ("traceparent", b"00-x") in headers


async def test_stop_then_start_on_the_same_port(kafka_broker: KafkaBroker) -> None:
    topic = "devstack.test.outage"
    await _create_topic(kafka_broker.bootstrap, topic)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"before")

        kafka_broker.stop()
        assert not kafka_broker.running
        assert not port_is_open("127.0.0.1", kafka_broker.port)
        assert kafka_broker.topics[topic] == 1  # remembered for the restart
        sending = asyncio.ensure_future(producer.send_and_wait(topic, b"during", key=b"k"))
        await asyncio.sleep(0.3)
        assert not sending.done()  # the client keeps retrying while the broker is down

        kafka_broker.start()
        assert kafka_broker.running
        assert kafka_broker.list_topics()[topic] == 1
        # The same long-lived producer reconnects and delivers the pending record.
        await asyncio.wait_for(sending, 20)
        await producer.send_and_wait(topic, b"after", key=b"k")
    finally:
        await producer.stop()
    # Records from before the outage are gone (memory storage); later ones are all there.
    assert await _consume_all(kafka_broker.bootstrap, topic) == [b"during", b"after"]


async def test_pause_and_resume_lose_nothing(kafka_broker: KafkaBroker) -> None:
    topic = "devstack.test.pause"
    kafka_broker.create_topic(topic)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"one")
        kafka_broker.pause()
        sending = asyncio.ensure_future(producer.send_and_wait(topic, b"two"))
        await asyncio.sleep(0.3)
        assert not sending.done()
        kafka_broker.resume()
        await asyncio.wait_for(sending, 20)
    finally:
        await producer.stop()
    assert await _consume_all(kafka_broker.bootstrap, topic) == [b"one", b"two"]


def test_stop_while_paused() -> None:
    broker = KafkaBroker(free_port(), topics=["devstack.test.paused"])
    broker.start()
    assert "devstack.test.paused" in broker.list_topics()
    broker.pause()
    broker.stop()
    assert not port_is_open("127.0.0.1", broker.port)


async def test_busy_port_is_a_clear_error(kafka_broker: KafkaBroker) -> None:
    with pytest.raises(BrokerError, match="already in use"):
        KafkaBroker(kafka_broker.port).start()


async def test_a_restart_creates_the_declared_topics_before_any_client_can_ask(
    kafka_broker: KafkaBroker,
) -> None:
    """Clients asking for a declared topic's metadata all through a restart: tansu would
    create a missing topic with 4 partitions; the port opens only once it exists with 3."""
    topic = "chorus.invoices.events.v1"
    asking = True

    async def ask_again_and_again() -> None:
        while asking:
            producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
            try:
                await producer.start()
                await producer.partitions_for(topic)
            except Exception:  # the broker is away: ask again
                await asyncio.sleep(0.005)
            finally:
                await producer.stop()

    askers = [asyncio.create_task(ask_again_and_again()) for _ in range(3)]
    try:
        await asyncio.sleep(0.2)
        await asyncio.to_thread(kafka_broker.stop)
        await asyncio.sleep(0.3)
        await asyncio.to_thread(kafka_broker.start)
        await asyncio.sleep(0.5)
    finally:
        asking = False
        await asyncio.gather(*askers)
    listed = kafka_broker.list_topics()
    assert {name: listed.get(name) for name in DECLARED_TOPICS} == DECLARED_TOPICS
    assert DECLARED_TOPICS[topic] == 3


async def test_kill_breaks_every_client_connection_and_start_reopens(
    kafka_broker: KafkaBroker,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", kafka_broker.port)
    try:
        await asyncio.to_thread(kafka_broker.kill)
        assert await asyncio.wait_for(reader.read(1), 5) == b""  # the connection ended
        assert not port_is_open("127.0.0.1", kafka_broker.port)
    finally:
        writer.close()
        await asyncio.to_thread(kafka_broker.start)
    assert port_is_open("127.0.0.1", kafka_broker.port)
