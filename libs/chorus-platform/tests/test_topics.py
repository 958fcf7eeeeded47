"""Topics are created with the configured partitions, replication factor and
min.insync.replicas, and a different count is reported."""

import logging
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError
from chorus_devstack.ports import free_port
from chorus_platform.broker_connections import broker_up
from chorus_platform.kafka_clients import client_options
from chorus_platform.topics import (
    DECLARED_TOPICS,
    DEFAULT_PARTITIONS,
    declared_partitions,
    dlq_topic,
    ensure_topics,
    events_topic,
    new_topic,
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


async def _describe(settings, topic: str) -> tuple[int, int, dict[str, str]]:
    """What the broker reports of ``topic``: partitions, replicas of partition 0, configs."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    [resource] = response.resources
    configs = {entry[0]: entry[1] for entry in resource[4]}
    return len(described["partitions"]), len(described["partitions"][0]["replicas"]), configs


def test_a_topic_is_created_as_the_settings_say(platform_settings):
    configured = platform_settings.model_copy(
        update={
            "kafka_partitions": 6,
            "kafka_replication_factor": 3,
            "kafka_min_insync_replicas": 2,
        }
    )
    topic = new_topic("chorus.invoices.events.v1", configured)
    assert (topic.name, topic.num_partitions, topic.replication_factor) == (
        "chorus.invoices.events.v1",
        6,
        3,
    )
    assert topic.topic_configs == {"min.insync.replicas": "2"}
    assert declared_partitions("anything", configured) == 6


@pytest.mark.parametrize(("replication", "min_insync"), [(1, 1), (3, 2)])
async def test_the_broker_gets_the_configured_topology(platform_settings, replication, min_insync):
    # The embedded broker is one node that accepts (and reports) any replication factor.
    configured = platform_settings.model_copy(
        update={
            "kafka_partitions": 5,
            "kafka_replication_factor": replication,
            "kafka_min_insync_replicas": min_insync,
        }
    )
    topic = f"test.{uuid.uuid4().hex[:8]}.events.v1"

    counts = await ensure_topics(configured, [topic])

    assert counts == {topic: 5, dlq_topic(topic): 5}
    for name in (topic, dlq_topic(topic)):
        partitions, replicas, configs = await _describe(configured, name)
        assert (partitions, replicas) == (5, replication)
        assert configs["min.insync.replicas"] == str(min_insync)


async def test_a_count_setting_changed_later_leaves_existing_topics_alone(
    platform_settings, caplog
):
    topic = f"test.{uuid.uuid4().hex[:8]}.events.v1"
    await ensure_topics(platform_settings, [topic])
    more = platform_settings.model_copy(update={"kafka_partitions": 8})

    with caplog.at_level(logging.WARNING, logger="chorus_platform.topics"):
        counts = await ensure_topics(more, [topic])

    assert counts == {topic: 3, dlq_topic(topic): 3}
    assert sum("3 partitions, 8 declared" in r.getMessage() for r in caplog.records) == 2


async def test_topic_creation_feeds_the_broker_up_gauge(platform_settings, metrics_recorded):
    away = platform_settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    with pytest.raises(KafkaConnectionError):
        await ensure_topics(away, ["test.away.events.v1"], client="relay")
    assert broker_up()["relay"] == 0
    assert _gauge(metrics_recorded, "chorus.broker.up")["relay"] == 0

    await ensure_topics(platform_settings, [f"test.{uuid.uuid4().hex[:8]}.v1"], client="relay")

    assert broker_up()["relay"] == 1
    assert _gauge(metrics_recorded, "chorus.broker.up")["relay"] == 1


def _gauge(metrics_recorded, name: str) -> dict[str, float]:
    """The latest value of gauge ``name`` by its ``client`` attribute (collected now)."""
    data = metrics_recorded._reader.get_metrics_data()
    return {
        point.attributes["client"]: point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    }
