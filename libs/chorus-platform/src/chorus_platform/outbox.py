"""Transactional outbox: the writer used inside a service's transaction, and the relay.

The relay publishes rows in ``seq`` order with ``acks="all"``; aiokafka keeps one in-flight
batch per partition, so one aggregate's events (same key, same partition) keep their order.
Writers lock the aggregate's row when they change it, so a later event of one aggregate always
gets a higher ``seq``. Only one relay per database runs at a time (advisory lock), so several
replicas of a service never interleave. If the broker is down the rows wait; a batch that
fails is sent again whole, and consumers drop the duplicates through their inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from google.protobuf.message import Message

from chorus_platform import cloudevents, telemetry
from chorus_platform.settings import ChorusSettings
from chorus_platform.topics import ensure_topics

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "chorus_outbox"
_RELAY_LOCK_KEY = 0x4F555442  # "OUTB"


def topic_of(service: str) -> str:
    """The one topic a service produces to: ``chorus.<svc>.events.v1``."""
    return f"chorus.{service}.events.v1"


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
    await conn.execute(
        "INSERT INTO outbox (id, topic, key, ce_type, ce_source, payload, traceparent)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        event_id,
        topic_of(service),
        key,
        message.DESCRIPTOR.full_name,
        f"/chorus/{service}",
        message.SerializeToString(),
        traceparent,
    )
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    return event_id


def make_producer(settings: ChorusSettings) -> AIOKafkaProducer:
    """A producer with acks=all (and idempotence where the broker supports it)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        client_id=f"chorus-{settings.service_name}",
        request_timeout_ms=10000,
    )


class OutboxRelay:
    """Publishes outbox rows to Kafka and marks them published. Run with :meth:`run`."""

    def __init__(
        self,
        dsn: str,
        settings: ChorusSettings,
        *,
        batch_size: int = 500,
        retry_seconds: float = 1.0,
    ) -> None:
        self._topics = [topic_of(settings.service_name)]
        self._dsn = dsn
        self._settings = settings
        self._batch_size = batch_size
        self._retry_seconds = retry_seconds
        self._wakeup = asyncio.Event()
        self.published = 0

    async def run(self) -> None:
        """Relays until cancelled; survives broker and database outages by retrying."""
        while True:
            try:
                await self._run_as_leader()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox relay interrupted; retrying", exc_info=True)
                await asyncio.sleep(self._retry_seconds)

    async def _run_as_leader(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        producer: AIOKafkaProducer | None = None
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", _RELAY_LOCK_KEY)
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wakeup.set())
            while True:
                if producer is None:
                    producer = await self._start_producer()
                sent = await self._publish_batch(conn, producer)
                if sent == self._batch_size:
                    continue
                self._wakeup.clear()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._settings.outbox_poll_seconds):
                        await self._wakeup.wait()
        finally:
            if producer is not None:
                with contextlib.suppress(Exception):
                    await producer.stop()
            with contextlib.suppress(Exception):
                await conn.close()

    async def _start_producer(self) -> AIOKafkaProducer:
        # Topics are (re)created on every connection: an embedded broker forgets them on restart.
        await ensure_topics(self._settings, self._topics)
        producer = make_producer(self._settings)
        try:
            await producer.start()
        except BaseException:  # cancelled while connecting included
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        return producer

    async def _publish_batch(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> int:
        rows = await conn.fetch(
            "SELECT seq, id, topic, key, ce_type, ce_source, ce_time, payload, traceparent"
            " FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1",
            self._batch_size,
        )
        if not rows:
            return 0
        futures = []
        for row in rows:
            headers = cloudevents.to_headers(
                event_id=str(row["id"]),
                ce_type=row["ce_type"],
                source=row["ce_source"],
                time=row["ce_time"].astimezone(UTC),
                traceparent=row["traceparent"],
            )
            futures.append(
                await producer.send(
                    row["topic"], value=row["payload"], key=row["key"].encode(), headers=headers
                )
            )
        await asyncio.gather(*futures)
        await conn.execute(
            "UPDATE outbox SET published_at = $1 WHERE seq = ANY($2::bigint[])",
            datetime.now(UTC),
            [row["seq"] for row in rows],
        )
        self.published += len(rows)
        return len(rows)
