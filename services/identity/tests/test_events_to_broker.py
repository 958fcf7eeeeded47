"""The outbox relay publishes identity's events to Kafka, keyed by user id, in order."""

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_platform.outbox import topic_of


async def read_user_events(bootstrap: str, user_id: str, count: int) -> list[tuple[str, bytes]]:
    """(ce_type, value) of the first ``count`` records keyed by ``user_id``."""
    topic = topic_of("identity")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[tuple[str, bytes]] = []
    try:
        async with asyncio.timeout(30):
            while topic not in await consumer.topics():  # the relay creates it on connect
                await asyncio.sleep(0.1)
            partitions = consumer.partitions_for_topic(topic)
            consumer.assign([TopicPartition(topic, p) for p in partitions])
            await consumer.seek_to_beginning()
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    found += [
                        (dict(r.headers)["ce_type"].decode(), r.value)
                        for r in records
                        if r.key == user_id.encode()
                    ]
    finally:
        await consumer.stop()
    return found


async def test_registration_events_reach_the_broker_in_order(flows, identity_settings):
    user = await flows.register()

    published = await read_user_events(identity_settings.kafka_bootstrap, user.id, 2)

    assert [ce_type for ce_type, _ in published] == [
        ev.UserRegistered.DESCRIPTOR.full_name,
        ev.ActivationLinkIssued.DESCRIPTOR.full_name,
    ]
    assert ev.UserRegistered.FromString(published[0][1]).user_id == user.id
