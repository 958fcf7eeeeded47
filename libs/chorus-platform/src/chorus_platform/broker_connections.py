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
"""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.conn import CloseReason
from aiokafka.errors import KafkaConnectionError

_BREAKS = (CloseReason.CONNECTION_BROKEN, CloseReason.CONNECTION_TIMEOUT)


class BrokerConnectionLost(KafkaConnectionError):
    """A connection of this client to the broker broke: the client must be replaced."""


class ConnectionWatch:
    """Whether one of a client's broker connections broke since it was created."""

    def __init__(self) -> None:
        self.broken = False

    def check(self) -> None:
        """Raises :class:`BrokerConnectionLost` once a connection broke."""
        if self.broken:
            raise BrokerConnectionLost("a broker connection broke; the client must be replaced")


def _hook(client: AIOKafkaClient, *on_break: Callable[[], object]) -> ConnectionWatch:
    watch = ConnectionWatch()
    closed = client._on_connection_closed

    def on_connection_closed(conn, reason) -> None:
        closed(conn, reason)
        if reason in _BREAKS:
            watch.broken = True
            for callback in on_break:
                callback()

    client._on_connection_closed = on_connection_closed  # read when each connection opens
    return watch


def watch_consumer(
    consumer: AIOKafkaConsumer, on_break: Callable[[], object] = lambda: None
) -> ConnectionWatch:
    """Watches ``consumer``'s connections (call before ``start()``); ``on_break`` is called
    when one breaks."""
    return _hook(consumer._client, on_break)


def watch_producer(
    producer: AIOKafkaProducer, on_break: Callable[[], object] = lambda: None
) -> ConnectionWatch:
    """Watches ``producer``'s connections (call before ``start()``); on a break, every batch
    not yet acknowledged fails with :class:`BrokerConnectionLost` rather than being retried on
    a new connection, every later ``send`` raises it, and ``on_break`` is called."""
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

    return _hook(producer.client, abandon_batches, on_break)
