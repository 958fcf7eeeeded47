"""Kafka consumer loop: manual offset commits, inbox dedupe, bounded retries, dead letters.

Each handled record runs its handler inside a unit-of-work transaction
(:mod:`chorus_platform.unit_of_work`) that also inserts ``(consumer, ce_id)`` into ``inbox``;
a record already in the inbox is skipped, so an event delivered twice (relay retry,
rebalance, restart) has its effect once. The handler gets that transaction and passes it to
the use case it calls; the events the use case emits are written to the service's outbox in
the same commit. A handler that keeps
failing is retried with exponential backoff, then the record is copied to ``<topic>.dlq``
with the error in its headers, and consumption goes on. Offsets are committed after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from google.protobuf.message import Message

from chorus_platform import cloudevents, telemetry
from chorus_platform.outbox import make_producer
from chorus_platform.settings import ChorusSettings
from chorus_platform.topics import dlq_topic, ensure_topics
from chorus_platform.unit_of_work import Transaction, UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[Transaction, Message, cloudevents.Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """Handle events of protobuf class ``message_type`` with ``handler``."""

    message_type: type[Message]
    handler: Handler


class EventConsumer:
    """Consumes ``topics`` as consumer group ``name`` and dispatches by ``ce_type``.

    Records whose type has no subscription are acknowledged and ignored (additive evolution).
    """

    def __init__(
        self,
        *,
        name: str,
        topics: list[str],
        subscriptions: list[Subscription],
        uow: UnitOfWork,
        settings: ChorusSettings,
    ) -> None:
        self.name = name
        self._topics = topics
        self._by_type = {s.message_type.DESCRIPTOR.full_name: s for s in subscriptions}
        self._uow = uow
        self._settings = settings
        self.handled = 0
        self.dead_lettered = 0

    async def run(self) -> None:
        """Consumes until cancelled; reconnects after broker outages."""
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("consumer %s interrupted; retrying", self.name, exc_info=True)
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        await ensure_topics(self._settings, self._topics)
        consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=self.name,
            client_id=f"{self.name}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,
            # The shortest session Kafka accepts by default: a consumer that died without
            # leaving its group (the embedded broker never lets generation 0 leave) is
            # replaced after 6 s instead of 10.
            session_timeout_ms=6000,
            fetch_max_wait_ms=self._settings.consumer_fetch_max_wait_ms,
            heartbeat_interval_ms=2000,
        )
        producer = make_producer(self._settings)
        try:
            await consumer.start()
            await producer.start()
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=200)
                for tp, records in batches.items():
                    for record in records:
                        await self._process(record, producer)
                    await consumer.commit({tp: records[-1].offset + 1})
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
            with contextlib.suppress(Exception):
                await producer.stop()

    async def _process(self, record: ConsumerRecord, producer: AIOKafkaProducer) -> None:
        try:
            envelope = cloudevents.from_record(record)
        except ValueError as exc:
            await self._dead_letter(record, producer, exc, attempts=0)
            return
        subscription = self._by_type.get(envelope.type)
        if subscription is None:
            return
        attributes = {
            "messaging.system": "kafka",
            "messaging.operation": "process",
            "messaging.destination.name": record.topic,
            "messaging.message.id": envelope.id,
            "messaging.consumer.group.name": self.name,
        }
        # The handling continues the trace of the transaction that wrote the event.
        with telemetry.consumer_span(f"{envelope.type} process", envelope.traceparent, attributes):
            await self._handle_with_retries(record, envelope, subscription, producer)

    async def _handle_with_retries(
        self,
        record: ConsumerRecord,
        envelope: cloudevents.Envelope,
        subscription: Subscription,
        producer: AIOKafkaProducer,
    ) -> None:
        delay = self._settings.consumer_backoff_seconds
        for attempt in range(1, self._settings.consumer_max_attempts + 1):
            try:
                await self._handle_once(record, envelope, subscription)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "handler failed",
                    extra={"consumer": self.name, "event_id": envelope.id, "attempt": attempt},
                    exc_info=True,
                )
                if attempt == self._settings.consumer_max_attempts:
                    await self._dead_letter(record, producer, exc, attempts=attempt)
                    return
                await asyncio.sleep(delay)
                delay *= 2

    async def _handle_once(
        self, record: ConsumerRecord, envelope: cloudevents.Envelope, subscription: Subscription
    ) -> None:
        message = subscription.message_type.FromString(record.value)
        async with self._uow.transaction() as tx:
            inserted = await tx.conn.fetchval(
                "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING RETURNING 1",
                self.name,
                envelope.id,
            )
            if not inserted:
                return
            await subscription.handler(tx, message, envelope)
        self.handled += 1

    async def _dead_letter(
        self, record: ConsumerRecord, producer: AIOKafkaProducer, exc: Exception, attempts: int
    ) -> None:
        headers = [
            *(record.headers or ()),
            ("dlq_error", f"{type(exc).__name__}: {exc}"[:1000].encode()),
            ("dlq_consumer", self.name.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_original", f"{record.topic}/{record.partition}/{record.offset}".encode()),
        ]
        await producer.send_and_wait(
            dlq_topic(record.topic), value=record.value, key=record.key, headers=headers
        )
        self.dead_lettered += 1
        log.error(
            "event parked on dead-letter topic",
            extra={"consumer": self.name, "topic": dlq_topic(record.topic)},
        )


async def replay_dead_letters(
    settings: ChorusSettings, topic: str, *, limit: int = 1000, timeout_ms: int = 2000
) -> int:
    """Copies records parked on ``<topic>.dlq`` back to ``topic`` (without the dlq_ headers).

    Consumers dedupe through their inbox, so replaying a record already handled is harmless.
    Returns how many records were replayed.
    """
    consumer = AIOKafkaConsumer(
        dlq_topic(topic),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"chorus-dlq-replay-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = make_producer(settings)
    replayed = 0
    await consumer.start()
    await producer.start()
    try:
        while replayed < limit:
            batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=100)
            if not batches:
                break
            for tp, records in batches.items():
                for record in records:
                    headers = [(k, v) for k, v in record.headers if not k.startswith("dlq_")]
                    await producer.send_and_wait(
                        topic, value=record.value, key=record.key, headers=headers
                    )
                    replayed += 1
                await consumer.commit({tp: records[-1].offset + 1})
    finally:
        await consumer.stop()
        await producer.stop()
    return replayed
