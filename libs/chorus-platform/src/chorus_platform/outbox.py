"""Transactional outbox: the writer used inside a service's transaction, and the relay.

Guarantees of :class:`OutboxRelay`:

* **Order.** Rows are published in ``seq`` order with ``acks="all"``; aiokafka keeps one
  in-flight batch per partition, so one aggregate's events (same key, same partition) keep
  their order. Writers lock the aggregate's row when they change it, so a later event of one
  aggregate always gets a higher ``seq``. Only one relay per database runs at a time
  (advisory lock), so several replicas of a service never interleave.
* **Published means acknowledged.** A row is marked published, with the partition and offset
  the broker gave it, only once the broker acknowledged it (acks=all). If the broker is down
  the rows wait; a batch that fails is sent again whole, and consumers drop the duplicates
  through their inbox.
* **A broker that lost what it acknowledged is refilled.** The relay keeps, per partition,
  a high-water mark of what was acknowledged (``outbox_high_water``): 1 + the first offset
  of its last batch acknowledged there — not 1 + the last offset, because tansu 0.6 reports
  a partition's end offset as 1 + the base offset of its last record batch, so only that is
  a bound every broker that kept the batch reports. Each time its producer starts, after
  every batch and every ``check_seconds`` while idle, it compares that with the broker: a
  topic gone, an end offset below the mark, or a batch acknowledged below it means the
  broker lost records — the embedded broker keeps everything in memory and forgets it when
  it restarts. The relay then logs a
  warning with the figures, counts it (``chorus.outbox.broker_data_losses``,
  ``chorus.outbox.republished``) and publishes again, in ``seq`` order and before anything
  newer, every row published in the last ``CHORUS_OUTBOX_REPLAY_SECONDS`` (24 h). Consumers'
  inboxes make the copies of events they already handled harmless.
* **Nothing lands in a new broker unchecked.** When a producer connection breaks, the batches
  not yet acknowledged fail instead of being retried on the next connection
  (:mod:`chorus_platform.broker_connections`), and the relay starts a new producer, which
  begins with the check above: a broker that restarted empty gets the replay first, so an
  aggregate's old events come before its new ones there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from google.protobuf.message import Message
from opentelemetry import metrics

from chorus_platform import cloudevents, telemetry
from chorus_platform.broker_connections import (
    record_contact,
    stop_client,
    watch_consumer,
    watch_producer,
)
from chorus_platform.kafka_clients import client_options
from chorus_platform.metrics import LastValues, poll_every
from chorus_platform.settings import ChorusSettings
from chorus_platform.topics import ensure_topics, events_topic

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "chorus_outbox"
_RELAY_LOCK_KEY = 0x4F555442  # "OUTB"
_BROKER_TIMEOUT_SECONDS = 10.0
T = TypeVar("T")

_meter = metrics.get_meter("chorus_platform.outbox")
_broker_losses = _meter.create_counter(
    "chorus.outbox.broker_data_losses",
    unit="{loss}",
    description="Times the relay found that the broker lost events it had acknowledged.",
)
_republished = _meter.create_counter(
    "chorus.outbox.republished",
    unit="{event}",
    description="Outbox rows published again after the broker lost them.",
)

_published = _meter.create_counter(
    "chorus.outbox.published",
    unit="{event}",
    description="Outbox rows the broker acknowledged and the relay marked published.",
)
_publish_failures = _meter.create_counter(
    "chorus.outbox.publish_failures",
    unit="{batch}",
    description="Batches the relay could not publish (broker away, connection broken...).",
)
_backlog = LastValues(_meter, "chorus.outbox.backlog", description="Unpublished outbox rows.")
_oldest_age = LastValues(
    _meter,
    "chorus.outbox.oldest_age",
    unit="s",
    description="Age of the oldest unpublished outbox row (0 when none).",
)
_BACKLOG_EVERY_SECONDS = 5.0


def topic_of(service: str) -> str:
    """The one topic a service produces to: ``chorus.<svc>.events.v1``."""
    return events_topic(service)


async def add_event(
    conn: asyncpg.Connection,
    *,
    service: str,
    key: str,
    message: Message,
    traceparent: str | None = None,
) -> str:
    """Writes ``message`` to the outbox in the caller's transaction; returns the event id.

    ``key`` is the aggregate id (user, structure, invoice) so its events stay ordered.
    ``traceparent`` defaults to the current span's, so consumers continue the trace.
    """
    if not conn.is_in_transaction():
        raise RuntimeError("add_event must run inside the state change's transaction")
    event_id = str(uuid.uuid4())
    traceparent = traceparent or telemetry.current_traceparent()
    # One round trip: the row and the relay's wake-up (delivered at commit; PostgreSQL
    # folds a transaction's identical notifications into one).
    await conn.execute(
        "WITH written AS (INSERT INTO outbox"
        " (id, topic, key, ce_type, ce_source, payload, traceparent)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING 1)"
        " SELECT pg_notify($8, '') FROM written",
        event_id,
        topic_of(service),
        key,
        message.DESCRIPTOR.full_name,
        f"/chorus/{service}",
        message.SerializeToString(),
        traceparent,
        NOTIFY_CHANNEL,
    )
    return event_id


def make_producer(settings: ChorusSettings) -> AIOKafkaProducer:
    """A producer with acks=all (and idempotence where the broker supports it)."""
    return AIOKafkaProducer(
        **client_options(settings),
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        client_id=f"chorus-{settings.service_name}",
        request_timeout_ms=10000,
    )


class _BrokerSession:
    """The relay's producer and an offsets probe, replaced together as soon as a connection of
    either breaks (:attr:`broken`)."""

    def __init__(
        self, producer: AIOKafkaProducer, probe: AIOKafkaConsumer, on_break: Callable[[], object]
    ) -> None:
        self.producer = producer
        self.probe = probe
        self._watches = [
            watch_producer(producer, on_break),
            watch_consumer(probe, on_break, client="relay"),
        ]
        self.next_check = 0.0

    @classmethod
    async def open(
        cls, settings: ChorusSettings, topics: list[str], on_break: Callable[[], object]
    ) -> _BrokerSession:
        # Topics are (re)created on every connection: an embedded broker forgets them on restart.
        await ensure_topics(settings, topics, client="relay")
        probe = AIOKafkaConsumer(
            **client_options(settings),
            client_id=f"chorus-{settings.service_name}-relay-probe",
            enable_auto_commit=False,
            request_timeout_ms=int(_BROKER_TIMEOUT_SECONDS * 1000),
        )
        session = cls(make_producer(settings), probe, on_break)
        try:
            await session.producer.start()
            await session.probe.start()
        except BaseException:  # cancelled while connecting included
            await session.close()
            raise
        return session

    @property
    def broken(self) -> bool:
        return any(watch.broken for watch in self._watches)

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``'s result, unless a connection breaks first (BrokerConnectionLost)."""
        return await self._watches[1].guard(self._watches[0].guard(awaitable))

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The broker's end offset of each partition; 0 for one that does not exist (a topic
        is never asked for by name unless it exists: asking may create it)."""
        existing = await self.probe.topics()
        known: list[TopicPartition] = []
        for topic in {tp.topic for tp in partitions} & existing:
            if self.probe.partitions_for_topic(topic) is None:
                await self.probe.end_offsets([TopicPartition(topic, 0)])  # loads its metadata
            present = self.probe.partitions_for_topic(topic) or set()
            known += [tp for tp in partitions if tp.topic == topic and tp.partition in present]
        ends = await self.probe.end_offsets(known) if known else {}
        return {tp: ends.get(tp, 0) for tp in partitions}

    async def close(self) -> None:
        await stop_client(self.producer, _BROKER_TIMEOUT_SECONDS)
        await stop_client(self.probe, _BROKER_TIMEOUT_SECONDS)


class OutboxRelay:
    """Publishes outbox rows to Kafka and marks them published. Run with :meth:`run`.

    ``check_seconds``: how often the broker is checked for lost records while idle.
    Attributes for tests and operators: :attr:`published` (rows published, copies
    included), :attr:`broker_losses` (losses found) and :attr:`republished`.
    """

    def __init__(
        self,
        dsn: str,
        settings: ChorusSettings,
        *,
        batch_size: int = 500,
        retry_seconds: float = 0.5,
        check_seconds: float = 2.0,
    ) -> None:
        self._topics = [topic_of(settings.service_name)]
        self._dsn = dsn
        self._settings = settings
        self._batch_size = batch_size
        self._retry_seconds = retry_seconds
        self._check_seconds = check_seconds
        self._replay_window = timedelta(seconds=settings.outbox_replay_seconds)
        self._wakeup = asyncio.Event()
        self._high_water: dict[TopicPartition, int] = {}
        self.published = 0
        self.broker_losses = 0
        self.republished = 0

    async def run(self) -> None:
        """Relays until cancelled; survives broker and database outages by retrying. Every
        replica (leader or waiting for the lock) measures the backlog for the gauges."""
        monitor = asyncio.create_task(self._measure_backlog(), name="outbox-backlog")
        try:
            while True:
                try:
                    await self._run_as_leader()
                except asyncio.CancelledError:
                    raise
                except KafkaError as exc:  # the broker is away: no stack trace every half second
                    _publish_failures.add(1)
                    record_contact("relay", False)
                    log.warning("outbox relay waiting for the broker: %r", exc)
                    await asyncio.sleep(self._retry_seconds)
                except Exception:
                    log.warning("outbox relay interrupted; retrying", exc_info=True)
                    await asyncio.sleep(self._retry_seconds)
        finally:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await monitor

    async def _measure_backlog(self) -> None:
        """Every few seconds, on a connection of its own: the unpublished rows and the age of
        the oldest (both read through the ``outbox_unpublished`` partial index), for
        ``chorus.outbox.backlog`` and ``chorus.outbox.oldest_age``, and the pending dead
        letters (same database) for ``chorus.dead_letters.pending``."""
        conn: asyncpg.Connection | None = None

        async def measure() -> None:
            nonlocal conn
            if conn is None or conn.is_closed():
                conn = await asyncpg.connect(self._dsn, timeout=5)
            try:
                row = await conn.fetchrow(
                    "SELECT count(*) AS backlog, COALESCE(EXTRACT(EPOCH FROM now() - ("
                    "SELECT ce_time FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT 1"
                    ")), 0)::float8 AS age FROM outbox WHERE published_at IS NULL",
                    timeout=4,
                )
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.terminate()
                conn = None
                raise
            _backlog.set(row["backlog"])
            _oldest_age.set(max(row["age"], 0.0))
            from chorus_platform import dlq  # dlq imports this module

            await dlq.measure_pending(conn)

        try:
            await poll_every(_BACKLOG_EVERY_SECONDS, measure)
        finally:
            if conn is not None:
                conn.terminate()

    async def _run_as_leader(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        session: _BrokerSession | None = None
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", _RELAY_LOCK_KEY)
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wakeup.set())
            await self._load_high_water(conn)
            while True:
                if session is not None and session.broken:
                    log.info("broker connection broke; starting a new producer")
                    await session.close()
                    session = None
                try:
                    if session is None:
                        session = await _BrokerSession.open(
                            self._settings, self._topics, on_break=self._wakeup.set
                        )
                        await self._check(conn, session)
                        record_contact("relay", True)
                    # Cleared before the rows are read, not after: a NOTIFY of a commit that
                    # lands while this batch is being sent and marked wakes the next round
                    # at once instead of being lost until the poll fallback.
                    self._wakeup.clear()
                    sent = await self._publish_batch(conn, session)
                    if sent == self._batch_size:
                        continue
                    if time.monotonic() >= session.next_check and await self._check(conn, session):
                        continue
                except KafkaError:
                    if session is None or not session.broken:
                        raise
                    _publish_failures.add(1)
                    record_contact("relay", False)
                    continue  # nothing unacknowledged was marked: the next producer sends it
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
                until_check = session.next_check - time.monotonic()
                wait = min(self._settings.outbox_poll_seconds, until_check)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(wait, 0.0)):
                        await self._wakeup.wait()
        finally:
            if session is not None:
                await session.close()
            with contextlib.suppress(Exception):
                await conn.close()

    async def _publish_batch(self, conn: asyncpg.Connection, session: _BrokerSession) -> int:
        rows = await conn.fetch(
            "SELECT seq, id, topic, key, ce_type, ce_source, ce_time, payload, traceparent"
            " FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1",
            self._batch_size,
        )
        if not rows:
            return 0
        futures: list[asyncio.Future] = []
        try:
            for row in rows:
                headers = cloudevents.to_headers(
                    event_id=str(row["id"]),
                    ce_type=row["ce_type"],
                    source=row["ce_source"],
                    time=row["ce_time"].astimezone(UTC),
                    traceparent=row["traceparent"],
                )
                futures.append(
                    await session.producer.send(
                        row["topic"], value=row["payload"], key=row["key"].encode(), headers=headers
                    )
                )
            acks = await asyncio.gather(*futures)
        except BaseException:
            for future in futures:  # the batch failed as a whole: its other failures are known
                future.add_done_callback(lambda done: done.cancelled() or done.exception())
            raise
        lowest: dict[TopicPartition, int] = {}
        for ack in acks:
            if ack.offset >= 0:  # -1: acknowledged without an offset
                tp = TopicPartition(ack.topic, ack.partition)
                lowest[tp] = min(ack.offset, lowest.get(tp, ack.offset))
        went_back = {
            tp: (offset, self._high_water[tp])
            for tp, offset in lowest.items()
            if offset < self._high_water.get(tp, 0)
        }
        await self._mark_published(conn, rows, acks, lowest)
        self.published += len(rows)
        _published.add(len(rows))
        if went_back:
            await self._replay(conn, went_back, "a batch was acknowledged below the high water")
        return len(rows)

    async def _mark_published(
        self, conn: asyncpg.Connection, rows: list, acks: list, lowest: dict[TopicPartition, int]
    ) -> None:
        marks = {tp: offset + 1 for tp, offset in lowest.items()}
        async with conn.transaction():
            await conn.execute(
                "UPDATE outbox SET published_at = $1, kafka_partition = acked.partition,"
                " kafka_offset = NULLIF(acked.kafka_offset, -1)"
                " FROM unnest($2::bigint[], $3::integer[], $4::bigint[])"
                "   AS acked (seq, partition, kafka_offset)"
                " WHERE outbox.seq = acked.seq",
                datetime.now(UTC),
                [row["seq"] for row in rows],
                [ack.partition for ack in acks],
                [max(ack.offset, -1) for ack in acks],
            )
            await conn.execute(
                "INSERT INTO outbox_high_water (topic, partition, min_end_offset)"
                " SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[])"
                " ON CONFLICT (topic, partition) DO UPDATE SET min_end_offset ="
                " GREATEST(outbox_high_water.min_end_offset, EXCLUDED.min_end_offset)",
                [tp.topic for tp in marks],
                [tp.partition for tp in marks],
                list(marks.values()),
            )
        for tp, mark in marks.items():
            self._high_water[tp] = max(mark, self._high_water.get(tp, 0))

    async def _load_high_water(self, conn: asyncpg.Connection) -> None:
        rows = await conn.fetch(
            "SELECT topic, partition, min_end_offset FROM outbox_high_water"
            " WHERE topic = ANY($1::text[])",
            self._topics,
        )
        self._high_water = {
            TopicPartition(row["topic"], row["partition"]): row["min_end_offset"] for row in rows
        }

    async def _check(self, conn: asyncpg.Connection, session: _BrokerSession) -> bool:
        """Compares the broker with the high-water marks; replays if it lost records.
        True if it did."""
        session.next_check = time.monotonic() + self._check_seconds
        if not self._high_water:
            return False
        async with asyncio.timeout(_BROKER_TIMEOUT_SECONDS):
            ends = await session.guard(session.end_offsets(list(self._high_water)))
        lost = {tp: (ends[tp], mark) for tp, mark in self._high_water.items() if ends[tp] < mark}
        if not lost:
            return False
        await self._replay(conn, lost, "the broker's end offset is below the high water")
        return True

    async def _replay(
        self, conn: asyncpg.Connection, lost: dict[TopicPartition, tuple[int, int]], why: str
    ) -> None:
        """Marks every row published within the replay window unpublished again (so the
        relay sends them first, in ``seq`` order) and forgets the lost high-water marks."""
        topics = sorted({tp.topic for tp in lost})
        since = datetime.now(UTC) - self._replay_window
        async with conn.transaction():
            again = await conn.fetchval(
                "WITH again AS (UPDATE outbox"
                " SET published_at = NULL, kafka_partition = NULL, kafka_offset = NULL"
                " WHERE topic = ANY($1::text[]) AND published_at >= $2 RETURNING 1)"
                " SELECT count(*) FROM again",
                topics,
                since,
            )
            await conn.execute(
                "DELETE FROM outbox_high_water WHERE topic = ANY($1::text[])", topics
            )
        self._high_water = {tp: m for tp, m in self._high_water.items() if tp.topic not in topics}
        self.broker_losses += 1
        self.republished += again
        for topic in topics:
            _broker_losses.add(1, {"topic": topic})
        _republished.add(again, {"service": self._settings.service_name})
        log.warning(
            "the broker lost events it had acknowledged (%s): re-publishing %d events"
            " published in the last %d s",
            why,
            again,
            int(self._replay_window.total_seconds()),
            extra={
                "partitions": {
                    f"{tp.topic}/{tp.partition}": {"broker_end_offset": end, "expected": mark}
                    for tp, (end, mark) in sorted(lost.items())
                },
                "republished": again,
            },
        )
