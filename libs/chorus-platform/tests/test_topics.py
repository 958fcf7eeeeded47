"""Topics are created with their declared partition count, and a different count is reported."""

import logging
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from chorus_platform.topics import (
    DECLARED_TOPICS,
    DEFAULT_PARTITIONS,
    declared_partitions,
    dlq_topic,
    ensure_topics,
    events_topic,
)


def test_every_publishing_service_declares_its_topic_and_dead_letter_topic():
    for service in ("identity", "structures", "invoices"):
        assert DECLARED_TOPICS[events_topic(service)] == 3
        assert DECLARED_TOPICS[dlq_topic(events_topic(service))] == 3
    assert declared_partitions("chorus.identity.events.v1") == 3
    assert declared_partitions("not.declared") == DEFAULT_PARTITIONS


async def test_missing_topics_are_created_with_their_declared_count(platform_settings):
    topic = f"test.{uuid.uuid4().hex[:8]}.events.v1"
    counts = await ensure_topics(platform_settings, [topic])
    assert counts == {topic: DEFAULT_PARTITIONS, dlq_topic(topic): DEFAULT_PARTITIONS}
    assert await ensure_topics(platform_settings, [topic]) == counts  # idempotent


async def test_a_topic_with_another_count_is_reported_and_left_alone(
    platform_settings, caplog, metrics_recorded
):
    topic = f"test.{uuid.uuid4().hex[:8]}.events.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=platform_settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])
    finally:
        await admin.close()
    before = metrics_recorded.total("chorus.topics.partition_mismatches")

    with caplog.at_level(logging.WARNING, logger="chorus_platform.topics"):
        counts = await ensure_topics(platform_settings, [topic])

    assert counts == {topic: 4, dlq_topic(topic): DEFAULT_PARTITIONS}  # never re-created
    [warning] = [r for r in caplog.records if "partitions" in r.getMessage()]
    assert warning.topic == topic
    assert "4 partitions, 3 declared" in warning.getMessage()
    assert metrics_recorded.total("chorus.topics.partition_mismatches") == before + 1
