"""The topics Chorus declares, and making sure they exist as declared.

Every topic is declared here, once: the events topic of each service that publishes
(``chorus.<svc>.events.v1``) and its dead-letter companion ``<topic>.dlq``
(:data:`DECLARED_TOPICS`). Their topology comes from the settings: ``CHORUS_KAFKA_PARTITIONS``
(:data:`DEFAULT_PARTITIONS`, 3), ``CHORUS_KAFKA_REPLICATION_FACTOR`` and
``CHORUS_KAFKA_MIN_INSYNC_REPLICAS`` (1 and 1 for the embedded broker; 3 and 2 on a real
cluster, so that an ``acks=all`` write survives the loss of one broker and is refused, rather
than acknowledged by a lone replica, when two are away). A record's partition is its key's
hash modulo the partition count, so a topic re-created with another count sends an
aggregate's later events to another partition and their order is lost. Hence:

* :func:`ensure_topics` only ever creates a topic with the configured count, replication
  factor and ``min.insync.replicas`` (a topic config), and logs a warning and counts
  (``chorus.topics.partition_mismatches``) each topic it finds with another count: changing
  ``CHORUS_KAFKA_PARTITIONS`` does not touch existing topics (an operator adds partitions
  knowingly, when nothing is in flight);
* the devstack's embedded broker creates every declared topic before it accepts its first
  client (``chorus_devstack.broker``), because a client asking for the metadata of a topic
  that does not exist makes that broker create it with its own default count.
"""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from opentelemetry import metrics

from chorus_platform.broker_connections import track
from chorus_platform.kafka_clients import client_options
from chorus_platform.settings import ChorusSettings

log = logging.getLogger(__name__)

#: Services that publish events (each through its outbox relay, to its own topic).
PUBLISHERS = ("identity", "structures", "invoices")
#: Partitions of every declared topic by default (``CHORUS_KAFKA_PARTITIONS``).
DEFAULT_PARTITIONS = 3

_mismatches = metrics.get_meter("chorus_platform.topics").create_counter(
    "chorus.topics.partition_mismatches",
    unit="{topic}",
    description="Topics found with a partition count other than the declared one.",
)


def events_topic(service: str) -> str:
    """The one topic a service produces to: ``chorus.<svc>.events.v1``."""
    return f"chorus.{service}.events.v1"


def dlq_topic(topic: str) -> str:
    """Where records that keep failing are parked (a copy; the consumer's database keeps them)."""
    return f"{topic}.dlq"


#: Topic name → default partition count, for every topic Chorus uses.
DECLARED_TOPICS: dict[str, int] = {
    name: DEFAULT_PARTITIONS
    for service in PUBLISHERS
    for name in (events_topic(service), dlq_topic(events_topic(service)))
}


def declared_partitions(topic: str, settings: ChorusSettings | None = None) -> int:
    """The partition count ``topic`` is declared with: ``settings.kafka_partitions`` (every
    topic, declared here or made by a test), :data:`DEFAULT_PARTITIONS` without settings."""
    if settings is not None:
        return settings.kafka_partitions
    return DECLARED_TOPICS.get(topic, DEFAULT_PARTITIONS)


def new_topic(name: str, settings: ChorusSettings) -> NewTopic:
    """How Chorus creates ``name``: the configured partitions, replication factor and
    ``min.insync.replicas``."""
    return NewTopic(
        name,
        num_partitions=declared_partitions(name, settings),
        replication_factor=settings.kafka_replication_factor,
        topic_configs={"min.insync.replicas": str(settings.kafka_min_insync_replicas)},
    )


class TopicCreationRefused(KafkaError):
    """The broker refused to create a topic as configured (e.g. a replication factor above its
    number of brokers, a min.insync.replicas above the replication factor)."""


def _check_created(response) -> None:
    refused = [
        f"{entry[0]}: {for_code(entry[1]).__name__}"
        + (f" ({entry[2]})" if len(entry) > 2 and entry[2] else "")
        for entry in response.topic_errors
        if entry[1] not in (0, TopicAlreadyExistsError.errno)
    ]
    if refused:
        raise TopicCreationRefused(
            "the broker refused to create "
            + "; ".join(refused)
            + " (check CHORUS_KAFKA_PARTITIONS, _REPLICATION_FACTOR, _MIN_INSYNC_REPLICAS)"
        )


async def ensure_topics(
    settings: ChorusSettings, topics: list[str], *, client: str | None = None
) -> dict[str, int]:
    """Creates ``topics`` and their ``.dlq`` companions when missing (:func:`new_topic`), and
    returns every one's partition count as the broker reports it.

    A topic that exists with another count is left as it is (changing it would move keys
    between partitions), logged as a warning and counted. Idempotent; safe against another
    client creating the same topic at the same time. ``client`` (``relay``, ``consumer``):
    whose ``chorus.broker.up`` this contact feeds.
    """
    wanted = [t for topic in topics for t in (topic, dlq_topic(topic))]
    admin = AIOKafkaAdminClient(**client_options(settings))
    if client is not None:
        track(admin._client, client)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                response = await admin.create_topics([new_topic(t, settings) for t in missing])
                _check_created(response)
            log.info("topics created", extra={"topics": missing})
        counts = {
            described["topic"]: len(described["partitions"])
            for described in await admin.describe_topics(wanted)
            if described.get("error_code", 0) == 0
        }
    finally:
        await admin.close()
    for topic, count in counts.items():
        if count != declared_partitions(topic, settings):
            _mismatches.add(1, {"topic": topic})
            log.warning(
                "topic has %d partitions, %d declared: keys may have moved partition",
                count,
                declared_partitions(topic, settings),
                extra={"topic": topic},
            )
    return counts
