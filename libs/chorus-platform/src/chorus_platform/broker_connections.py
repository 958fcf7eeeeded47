"""Knowing when a Kafka client lost its broker connection, so that nothing it does afterwards
silently lands in a broker that may have restarted empty.

aiokafka reconnects by itself and carries on: a producer retries its unacknowledged batches
on the new connection, a consumer keeps fetching from its old position. After a restart of a
broker that lost its data (the embedded, in-memory one), the relay's retried batch would open
the *new* log, ahead of the older events the relay is about to re-publish (their order lost),
and a consumer's old position would skip the first records of the new log.

:func:`watch_producer` / :func:`watch_consumer` hook the client's connection-closed callback
(aiokafka 0.14: ``AIOKafkaClient._on_connection_closed``, passed to every connection it opens
and called synchronously when one breaks or times out, before any request waiting on it
resumes) and record the break. For a producer it also fails, instead of retrying, every
batch not yet acknowledged and every later send. The owner then throws the client away and
starts a new one, which first checks what the broker still has (the relay's high-water
check, the consumer's committed offsets). A closed idle connection is not a break.

``tests/test_broker_connections.py`` holds aiokafka to this against the real broker.

The same hooks feed the gauge ``chorus.broker.up`` (1/0, attribute ``client``: ``relay`` or
``consumer``): whether the last broker contact of that kind of client in this process
succeeded (:func:`track`: a bootstrap, a request answered or not, a connection broken). It is
how a broker outage shows (with the outbox age and the publish failures) now that it no
longer makes any service unready: the services keep answering, the outbox keeps the events.
A kind appears once one of its clients has tried to reach the broker. Consumers fetch all the
time, so theirs follows the broker within a fetch; an idle relay does not contact the broker
(nothing to publish, nothing to check), so its value is that of its last publication or check
until the next event is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.conn import CloseReason
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
)
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

log = logging.getLogger(__name__)

T = TypeVar("T")

_BREAKS = (CloseReason.CONNECTION_BROKEN, CloseReason.CONNECTION_TIMEOUT)
#: What a request or bootstrap raises when the broker cannot be reached or does not answer.
_UNREACHABLE = (
    KafkaConnectionError,
    NodeNotReadyError,
    RequestTimedOutError,
    KafkaTimeoutError,
    OSError,
    TimeoutError,
)

_broker_up: dict[str, int] = {}


def record_contact(client: str, succeeded: bool) -> None:
    """Sets ``chorus.broker.up{client}``: the last broker contact of that kind succeeded."""
    _broker_up[client] = int(succeeded)


def broker_up() -> dict[str, int]:
    """The gauge's current values, by client kind (for tests and operators)."""
    return dict(_broker_up)


def _observe(_options: CallbackOptions) -> list[Observation]:
    return [Observation(up, {"client": client}) for client, up in sorted(_broker_up.items())]


metrics.get_meter("chorus_platform.broker_connections").create_observable_gauge(
    "chorus.broker.up",
    callbacks=[_observe],
    description="1 when the last broker contact of this kind of client (relay, consumer)"
    " succeeded, 0 when it failed.",
)


def track(client: AIOKafkaClient, kind: str) -> None:
    """Feeds ``chorus.broker.up{client=kind}`` from ``client``'s contacts with the broker
    (call before the owner's ``start()``): a bootstrap or a request that gets an answer is
    up; one that cannot connect or times out, and a connection that breaks, down."""
    if getattr(client, "_chorus_tracked", None) == kind:
        return
    client._chorus_tracked = kind
    bootstrap = client.bootstrap
    send = client.send
    closed = client._on_connection_closed

    async def tracked_bootstrap() -> None:
        try:
            await bootstrap()
        except _UNREACHABLE:
            record_contact(kind, False)
            raise
        record_contact(kind, True)

    async def tracked_send(*args, **kwargs):
        try:
            response = await send(*args, **kwargs)
        except _UNREACHABLE:
            record_contact(kind, False)
            raise
        record_contact(kind, True)
        return response

    def on_connection_closed(conn, reason) -> None:
        closed(conn, reason)
        if reason in _BREAKS:
            record_contact(kind, False)

    client.bootstrap = tracked_bootstrap
    client.send = tracked_send
    client._on_connection_closed = on_connection_closed  # read when each connection opens


class BrokerConnectionLost(KafkaConnectionError):
    """A connection of this client to the broker broke: the client must be replaced."""


class ConnectionWatch:
    """Whether one of a client's broker connections broke since it was created."""

    def __init__(self) -> None:
        self._broken = asyncio.Event()

    @property
    def broken(self) -> bool:
        return self._broken.is_set()

    def _break(self) -> None:
        self._broken.set()

    def check(self) -> None:
        """Raises :class:`BrokerConnectionLost` once a connection broke."""
        if self.broken:
            raise BrokerConnectionLost("a broker connection broke; the client must be replaced")

    async def guard(self, awaitable: Awaitable[T]) -> T:
        """The result of ``awaitable``, unless a connection breaks first: then it is cancelled
        and :class:`BrokerConnectionLost` raised (aiokafka would otherwise retry it on the new
        connection, e.g. a commit, for as long as it takes)."""
        if self.broken and asyncio.iscoroutine(awaitable):
            awaitable.close()  # never started
        self.check()
        task = asyncio.ensure_future(awaitable)
        breaking = asyncio.ensure_future(self._broken.wait())
        try:
            await asyncio.wait({task, breaking}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            breaking.cancel()
            if not task.done():
                task.cancel()
                task.add_done_callback(_consume_outcome)
        if not task.done():
            self.check()
        return task.result()


def _consume_outcome(task: asyncio.Future) -> None:
    """Retrieves a cancelled task's outcome so that asyncio does not report it as lost."""
    if not task.cancelled():
        task.exception()


def _hook(client: AIOKafkaClient, *on_break: Callable[[], object]) -> ConnectionWatch:
    watch = ConnectionWatch()
    closed = client._on_connection_closed

    def on_connection_closed(conn, reason) -> None:
        closed(conn, reason)
        if reason in _BREAKS:
            watch._break()
            for callback in on_break:
                callback()

    client._on_connection_closed = on_connection_closed  # read when each connection opens
    return watch


def watch_consumer(
    consumer: AIOKafkaConsumer,
    on_break: Callable[[], object] = lambda: None,
    *,
    client: str = "consumer",
) -> ConnectionWatch:
    """Watches ``consumer``'s connections (call before ``start()``); ``on_break`` is called
    when one breaks. Its contacts feed ``chorus.broker.up{client}`` (:func:`track`)."""
    track(consumer._client, client)
    return _hook(consumer._client, on_break)


def watch_producer(
    producer: AIOKafkaProducer,
    on_break: Callable[[], object] = lambda: None,
    *,
    client: str = "relay",
) -> ConnectionWatch:
    """Watches ``producer``'s connections (call before ``start()``); on a break, every batch
    not yet acknowledged fails with :class:`BrokerConnectionLost` rather than being retried on
    a new connection, every later ``send`` raises it, and ``on_break`` is called. Its contacts
    feed ``chorus.broker.up{client}`` (:func:`track`)."""
    accumulator = producer._message_accumulator

    def abandon_batches() -> None:
        lost = BrokerConnectionLost("broker connection broke before the acknowledgement")
        for batch in accumulator._pending_batches:  # in flight: expired, so never retried
            batch._ttl = -1.0
        for batches in accumulator._batches.values():
            for batch in batches:
                batch.failure(lost)
        accumulator._batches.clear()
        accumulator._exception = lost

    track(producer.client, client)
    return _hook(producer.client, abandon_batches, on_break)


async def stop_client(client: AIOKafkaConsumer | AIOKafkaProducer, seconds: float = 5.0) -> None:
    """Stops ``client`` within ``seconds``, whatever state its broker left it in.

    Never raises, except to pass on a cancellation of the calling task: aiokafka 0.14 lets the
    ``CancelledError`` of its own fetch task escape ``AIOKafkaConsumer.stop()`` when that task
    was waiting out a retry, which must not pass for the caller being cancelled.
    """
    try:
        async with asyncio.timeout(seconds):
            await client.stop()
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
        log.info("a Kafka client let an internal cancellation escape while stopping")
    except Exception:
        log.warning("a Kafka client did not stop cleanly", exc_info=True)
