"""Kafka consumer loop: manual offset commits, inbox dedupe, bounded retries, dead letters,
and a fresh start whenever the broker may have changed under it.

Guarantees of :class:`EventConsumer`:

* **Once.** Each handled record runs its handler inside a unit-of-work transaction
  (:mod:`chorus_platform.unit_of_work`) that also inserts ``(consumer, ce_id)`` into
  ``inbox``; a record already in the inbox is skipped, so an event delivered twice (relay
  retry or re-publication, rebalance, restart) has its effect once. The handler gets that
  transaction and passes it to the use case it calls; the events the use case emits are
  written to the service's outbox in the same commit.
* **Batches.** With ``batch_size`` above 1 (the consumer's argument, else
  ``CHORUS_CONSUMER_BATCH_SIZE``: 50 by default, 1 turns batches off), up to that many
  consecutive records of one partition are handled in one transaction: one inbox INSERT for
  all of them, each handler called in turn, in offset order, on the same ``tx``, one commit.
  Handlers must then keep
  the contract they already have (no effect outside the transaction: a failed attempt is
  rolled back and run again). If any record of the batch fails (a handler raises, a record
  cannot be read), the whole batch is rolled back and its records are handled one at a time
  as above, so retries, dead letters and the once-only effect stay per record.
* **Parked, not lost.** A handler that keeps failing is retried with exponential backoff,
  then the record is parked: inserted into the service's ``dead_letters`` table (it outlives
  the broker; ``python -m chorus_platform.dlq`` shows and replays it) and copied to
  ``<topic>.dlq`` with the error in its headers (best effort); consumption goes on.
* **Offsets after effects.** A partition's offset is committed after its records are
  handled, once per batch fetched from it. Each commit is bounded
  (``CHORUS_CONSUMER_COMMIT_TIMEOUT_SECONDS``): one that cannot complete — a hung broker,
  ``UnknownTopicOrPartition`` retried forever by aiokafka, a group the broker forgot —
  tears the consumer down and a new one starts.
* **Nothing skipped after a broker restart.** When one of its connections to the broker
  breaks (:mod:`chorus_platform.broker_connections`), the consumer stops handling records
  (those fetched meanwhile are dropped), leaves its group and a new consumer starts from the
  offsets the broker has committed for the group. A broker that lost its data has none, so
  the new consumer reads the new log from its first record, where the relay re-publishes
  what was lost: aiokafka's remembered position is never applied to the new log.
* **Quick return.** Restarts back off from 0.05 s to 0.25 s while the broker is away; the
  session (``CHORUS_CONSUMER_SESSION_TIMEOUT_MS``, 2 s) sets how long the embedded broker
  takes to admit a member (half of it, 1 s at least), and a stopping consumer leaves its
  group so that the next one is admitted at once instead of after the old session expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.protocol.group import LeaveGroupRequest
from google.protobuf.message import Message
from opentelemetry import metrics

from chorus_platform import cloudevents, dlq, telemetry
from chorus_platform.broker_connections import (
    BrokerConnectionLost,
    ConnectionWatch,
    record_contact,
    stop_client,
    watch_consumer,
)
from chorus_platform.kafka_clients import client_options
from chorus_platform.metrics import LastValues, poll_every
from chorus_platform.outbox import make_producer
from chorus_platform.settings import ChorusSettings
from chorus_platform.topics import dlq_topic, ensure_topics
from chorus_platform.unit_of_work import Transaction, UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[Transaction, Message, cloudevents.Envelope], Awaitable[None]]

_RESTART_DELAYS = (0.05, 0.1, 0.25)
_LAG_EVERY_SECONDS = 5.0
_DEAD_LETTERS_EVERY_SECONDS = 5.0
#: Whether a consumer of this process already counts the pending dead letters.
_dead_letters_measured = False
_LAG_PROBE_TIMEOUT_SECONDS = 5.0
_DLQ_COPY_TIMEOUT_SECONDS = 5.0

_meter = metrics.get_meter("chorus_platform.consumer")
_restarts = _meter.create_counter(
    "chorus.consumer.restarts",
    unit="{restart}",
    description="Consumers torn down and started again (broker connection broke, commit stuck).",
)
_lag = LastValues(
    _meter,
    "chorus.consumer.lag",
    description="Records of a partition not handled yet: the broker's high water minus the"
    " consumer's committed position.",
)
_process_duration = _meter.create_histogram(
    "messaging.process.duration",
    unit="s",
    description="Time to handle one event (a batch's time is shared by its records), by"
    " outcome: ok, retry (an attempt failed), parked.",
)
_retries = _meter.create_counter(
    "chorus.consumer.retries",
    unit="{attempt}",
    description="Handler attempts that failed and were retried.",
)
_dead_letters = _meter.create_counter(
    "chorus.consumer.dead_letters",
    unit="{event}",
    description="Events parked in dead_letters after their last attempt failed.",
)


class CommitStalled(RuntimeError):
    """An offset commit did not complete within the commit timeout."""


@dataclass(frozen=True)
class Subscription:
    """Handle events of protobuf class ``message_type`` with ``handler``."""

    message_type: type[Message]
    handler: Handler


class EventConsumer:
    """Consumes ``topics`` as consumer group ``name`` and dispatches by ``ce_type``.

    Records whose type has no subscription are acknowledged and ignored (additive evolution).
    ``batch_size``: records handled per transaction (see the module's docstring); None takes
    ``settings.consumer_batch_size``. Counters for tests and operators: :attr:`handled`,
    :attr:`dead_lettered`, :attr:`restarts`, :attr:`batches` (transactions that handled
    several records) and :attr:`batch_fallbacks` (batches handled again one by one).
    """

    def __init__(
        self,
        *,
        name: str,
        topics: list[str],
        subscriptions: list[Subscription],
        uow: UnitOfWork,
        settings: ChorusSettings,
        batch_size: int | None = None,
    ) -> None:
        self.name = name
        self._batch_size = max(1, batch_size or settings.consumer_batch_size)
        self._topics = topics
        self._by_type = {s.message_type.DESCRIPTOR.full_name: s for s in subscriptions}
        self._uow = uow
        self._settings = settings
        self.handled = 0
        self.dead_lettered = 0
        self.restarts = 0
        self.batches = 0
        self.batch_fallbacks = 0

    async def run(self) -> None:
        """Consumes until cancelled; starts a new consumer after every interruption. One
        consumer of the process also counts the pending dead letters meanwhile."""
        global _dead_letters_measured
        measuring = None
        if not _dead_letters_measured:
            _dead_letters_measured = True
            measuring = asyncio.create_task(
                poll_every(_DEAD_LETTERS_EVERY_SECONDS, self._measure_dead_letters),
                name="dead-letters-pending",
            )
        try:
            await self._run()
        finally:
            if measuring is not None:
                measuring.cancel()
                _dead_letters_measured = False

    async def _measure_dead_letters(self) -> None:
        async with self._uow.reading() as conn:
            await dlq.measure_pending(conn)

    async def _run(self) -> None:
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except (BrokerConnectionLost, KafkaConnectionError) as exc:
                log.info("consumer %s restarting: %s", self.name, exc)
            except Exception:
                log.warning("consumer %s interrupted; restarting", self.name, exc_info=True)
            self.restarts += 1
            _restarts.add(1, {"consumer": self.name})
            failures = 1 if time.monotonic() - started > 10 else failures + 1
            await asyncio.sleep(_RESTART_DELAYS[min(failures, len(_RESTART_DELAYS)) - 1])

    async def _consume(self) -> None:
        await ensure_topics(self._settings, self._topics, client="consumer")
        session_ms = self._settings.consumer_session_timeout_ms
        consumer = AIOKafkaConsumer(
            *self._topics,
            **client_options(self._settings),
            group_id=self.name,
            client_id=f"{self.name}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(session_ms // 4, 100),
            fetch_max_wait_ms=self._settings.consumer_fetch_max_wait_ms,
        )
        connection = watch_consumer(consumer)
        producer = make_producer(self._settings)
        positions: dict[TopicPartition, int] = {}
        probe: asyncio.Task | None = None
        try:
            await consumer.start()
            await producer.start()
            record_contact("consumer", True)
            probe = asyncio.create_task(self._probe_lag(consumer, positions), name="consumer-lag")
            while True:
                batches = await consumer.getmany(timeout_ms=250, max_records=200)
                self._measure_lag(consumer, positions)
                for tp, records in batches.items():
                    for start in range(0, len(records), self._batch_size):
                        chunk = records[start : start + self._batch_size]
                        connection.check()  # records fetched after a break are not handled
                        if len(chunk) > 1 and await self._handle_batch(chunk):
                            continue
                        for record in chunk:
                            connection.check()
                            await self._process(record, producer)
                    # nor are offsets of the old log committed to a new one
                    await self._commit(consumer, connection, tp, records[-1].offset + 1)
                    positions[tp] = records[-1].offset + 1
                connection.check()
        except (BrokerConnectionLost, KafkaConnectionError):
            record_contact("consumer", False)
            raise
        finally:
            if probe is not None:
                probe.cancel()
            await _leave_group(consumer)
            await stop_client(consumer)
            await stop_client(producer)

    def _measure_lag(
        self, consumer: AIOKafkaConsumer, positions: dict[TopicPartition, int]
    ) -> None:
        """``chorus.consumer.lag`` of each assigned partition: the high water of the last
        fetch minus the offset committed after handling (in memory: no broker call). A
        partition not handled since this consumer started is measured once it is."""
        assigned = consumer.assignment()
        _lag.forget(
            lambda labels: (
                labels["consumer_group"] == self.name
                and TopicPartition(labels["topic"], int(labels["partition"])) not in assigned
            )
        )
        for tp in assigned:
            high_water = consumer.highwater(tp)
            position = positions.get(tp)
            if high_water is None or position is None:
                continue
            _lag.set(
                max(high_water - position, 0),
                {"consumer_group": self.name, "topic": tp.topic, "partition": str(tp.partition)},
            )

    async def _probe_lag(
        self, consumer: AIOKafkaConsumer, positions: dict[TopicPartition, int]
    ) -> None:
        """Every few seconds, the broker's end offsets of the assigned partitions minus what
        this consumer committed (the group's committed offset for a partition it has not
        handled yet): the lag keeps growing while a handler is stuck, when no fetch brings a
        newer high water. A failure (broker away) only skips a round."""
        while True:
            await asyncio.sleep(_LAG_EVERY_SECONDS)
            try:
                async with asyncio.timeout(_LAG_PROBE_TIMEOUT_SECONDS):
                    assigned = list(consumer.assignment())
                    ends = await consumer.end_offsets(assigned) if assigned else {}
                    for tp in assigned:
                        if tp not in positions:
                            positions[tp] = await consumer.committed(tp) or 0
                        _lag.set(
                            max(ends.get(tp, 0) - positions[tp], 0),
                            {
                                "consumer_group": self.name,
                                "topic": tp.topic,
                                "partition": str(tp.partition),
                            },
                        )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("consumer lag probe failed: %r", exc)

    async def _commit(
        self,
        consumer: AIOKafkaConsumer,
        connection: ConnectionWatch,
        tp: TopicPartition,
        offset: int,
    ) -> None:
        timeout = self._settings.consumer_commit_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                await connection.guard(consumer.commit({tp: offset}))
        except TimeoutError:
            raise CommitStalled(
                f"commit of {tp.topic}/{tp.partition} at {offset} did not complete in {timeout} s"
            ) from None

    async def _handle_batch(self, records: list[ConsumerRecord]) -> bool:
        """Handles ``records`` (one partition's, in offset order) in one transaction; False,
        with nothing committed, if any of them failed: the caller then handles them one at
        a time."""
        items: list[tuple[ConsumerRecord, cloudevents.Envelope, Subscription]] = []
        for record in records:
            try:
                envelope = cloudevents.from_record(record)
            except ValueError:
                return False  # parked on its own, by the one-at-a-time path
            subscription = self._by_type.get(envelope.type)
            if subscription is not None:
                items.append((record, envelope, subscription))
        if not items:
            return True
        handled = 0
        started = time.monotonic()
        try:
            async with self._uow.transaction() as tx:
                fresh = {
                    row["event_id"]
                    for row in await tx.conn.fetch(
                        "INSERT INTO inbox (consumer, event_id)"
                        " SELECT $1, unnest($2::text[])"
                        " ON CONFLICT DO NOTHING RETURNING event_id",
                        self.name,
                        [envelope.id for _, envelope, _ in items],
                    )
                }
                for record, envelope, subscription in items:
                    if envelope.id not in fresh:
                        continue  # handled before, or a copy earlier in this batch
                    fresh.discard(envelope.id)
                    message = subscription.message_type.FromString(record.value)
                    with telemetry.consumer_span(
                        f"{envelope.type} process",
                        envelope.traceparent,
                        self._span_attributes(record, envelope),
                    ):
                        await subscription.handler(tx, message, envelope)
                    handled += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            self.batch_fallbacks += 1
            log.info(
                "batch failed; handling its records one at a time",
                extra={"consumer": self.name, "records": len(records)},
                exc_info=True,
            )
            return False
        self.batches += 1
        self.handled += handled
        share = (time.monotonic() - started) / len(items)
        for record, _, _ in items:
            _process_duration.record(share, self._metric_labels(record, outcome="ok"))
        return True

    def _metric_labels(self, record: ConsumerRecord, **more: str) -> dict[str, str]:
        return {"consumer_group": self.name, "topic": record.topic, **more}

    def _span_attributes(self, record: ConsumerRecord, envelope: cloudevents.Envelope) -> dict:
        return {
            "messaging.system": "kafka",
            "messaging.operation": "process",
            "messaging.destination.name": record.topic,
            "messaging.message.id": envelope.id,
            "messaging.consumer.group.name": self.name,
        }

    async def _process(self, record: ConsumerRecord, producer: AIOKafkaProducer) -> None:
        try:
            envelope = cloudevents.from_record(record)
        except ValueError as exc:
            await self._dead_letter(record, producer, exc, attempts=0)
            return
        subscription = self._by_type.get(envelope.type)
        if subscription is None:
            return
        attributes = self._span_attributes(record, envelope)
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
            started = time.monotonic()
            try:
                await self._handle_once(record, envelope, subscription)
                _process_duration.record(
                    time.monotonic() - started, self._metric_labels(record, outcome="ok")
                )
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                last = attempt == self._settings.consumer_max_attempts
                _process_duration.record(
                    time.monotonic() - started,
                    self._metric_labels(record, outcome="parked" if last else "retry"),
                )
                if not last:
                    _retries.add(1, self._metric_labels(record))
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
        """Parks ``record`` in the database (must succeed: else the record is not committed
        and comes back), then copies it to ``<topic>.dlq`` (best effort)."""
        error = f"{type(exc).__name__}: {exc}"[:1000]
        async with self._uow.transaction() as tx:
            await dlq.park(
                tx.conn, consumer=self.name, record=record, error=error, attempts=attempts
            )
        self.dead_lettered += 1
        _dead_letters.add(1, self._metric_labels(record))
        log.error(
            "event parked in dead_letters",
            extra={"consumer": self.name, "topic": record.topic, "attempts": attempts},
        )
        headers = [
            *(record.headers or ()),
            ("dlq_error", error.encode()),
            ("dlq_consumer", self.name.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_original", f"{record.topic}/{record.partition}/{record.offset}".encode()),
        ]
        try:
            async with asyncio.timeout(_DLQ_COPY_TIMEOUT_SECONDS):
                await producer.send_and_wait(
                    dlq_topic(record.topic), value=record.value, key=record.key, headers=headers
                )
        except Exception:
            log.warning(
                "could not copy a parked event to its dead-letter topic (kept in dead_letters)",
                extra={"consumer": self.name, "topic": dlq_topic(record.topic)},
            )


async def _leave_group(consumer: AIOKafkaConsumer) -> None:
    """Leaves the group now, so that the next member is admitted without waiting for this
    one's session to expire. aiokafka leaves by itself only from a generation above 0, and the
    embedded broker numbers a new group's first generation 0 (best effort, 1 s at most)."""
    coordinator = consumer._coordinator
    if coordinator is None or coordinator.generation != 0 or not coordinator.member_id:
        return
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            leave = LeaveGroupRequest(coordinator.group_id, coordinator.member_id)
            await coordinator._send_req(leave)
