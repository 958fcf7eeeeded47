"""The topics Chorus declares, and making sure they exist as declared.

Every topic is declared here, once, with its partition count: the events topic of each
service that publishes (``chorus.<svc>.events.v1``) and its dead-letter companion
``<topic>.dlq`` (:data:`DECLARED_TOPICS`). A record's partition is its key's hash modulo the
partition count, so a topic re-created with another count sends an aggregate's later events
to another partition and their order is lost. Hence:

* :func:`ensure_topics` only ever creates a topic with its declared count
  (:func:`declared_partitions`; a topic not declared here, as tests make, gets
  :data:`DEFAULT_PARTITIONS`), and logs a warning and counts
  (``chorus.topics.partition_mismatches``) each topic it finds with another count;
* the devstack's embedded broker creates every declared topic before it accepts its first
  client (``chorus_devstack.broker``), because a client asking for the metadata of a topic
  that does not exist makes that broker create it with its own default count.
"""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from opentelemetry import metrics

from chorus_platform.settings import ChorusSettings

log = logging.getLogger(__name__)

#: Services that publish events (each through its outbox relay, to its own topic).
PUBLISHERS = ("identity", "structures", "invoices")
#: Partitions of every declared topic, and of a topic created but not declared.
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


#: Topic name → partition count, for every topic Chorus uses.
DECLARED_TOPICS: dict[str, int] = {
    name: DEFAULT_PARTITIONS
    for service in PUBLISHERS
    for name in (events_topic(service), dlq_topic(events_topic(service)))
}


def declared_partitions(topic: str) -> int:
    """The partition count ``topic`` is declared with (:data:`DEFAULT_PARTITIONS` if undeclared)."""
    return DECLARED_TOPICS.get(topic, DEFAULT_PARTITIONS)


async def ensure_topics(settings: ChorusSettings, topics: list[str]) -> dict[str, int]:
    """Creates ``topics`` and their ``.dlq`` companions when missing, each with its declared
    partition count, and returns every one's partition count as the broker reports it.

    A topic that exists with another count is left as it is (changing it would move keys
    between partitions), logged as a warning and counted. Idempotent; safe against another
    client creating the same topic at the same time.
    """
    wanted = [t for topic in topics for t in (topic, dlq_topic(topic))]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(t, num_partitions=declared_partitions(t), replication_factor=1)
                        for t in missing
                    ]
                )
            log.info("topics created", extra={"topics": missing})
        counts = {
            described["topic"]: len(described["partitions"])
            for described in await admin.describe_topics(wanted)
            if described.get("error_code", 0) == 0
        }
    finally:
        await admin.close()
    for topic, count in counts.items():
        if count != declared_partitions(topic):
            _mismatches.add(1, {"topic": topic})
            log.warning(
                "topic has %d partitions, %d declared: keys may have moved partition",
                count,
                declared_partitions(topic),
                extra={"topic": topic},
            )
    return counts
