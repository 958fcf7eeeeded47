"""Topic administration: each service makes sure its own topic and dead-letter topic exist."""

from __future__ import annotations

import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from chorus_platform.settings import ChorusSettings

log = logging.getLogger(__name__)


def dlq_topic(topic: str) -> str:
    """Where records that keep failing are parked."""
    return f"{topic}.dlq"


async def ensure_topics(settings: ChorusSettings, topics: list[str], partitions: int = 3) -> None:
    """Creates ``topics`` and their ``.dlq`` companions when missing (idempotent)."""
    wanted = [t for topic in topics for t in (topic, dlq_topic(topic))]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
            log.info("topics created", extra={"topics": missing})
    finally:
        await admin.close()
