"""Unit of work: the one way a service's use case begins a transaction and emits events.

A use case writes::

    async with self._uow.transaction() as tx:
        invoice = await invoices.get(tx.conn, invoice_id, lock=True)
        ...
        tx.emit(InvoiceSubmitted(invoice))

and reads::

    async with self._uow.reading() as conn:
        return await invoices.get(conn, invoice_id)

Guarantees:

- ``tx.emit`` takes a *domain event* (a plain dataclass of the service's ``domain/``). The
  service's encoder (its ``events/outgoing.py``, given when ``main.py`` builds the unit of
  work) turns it at once into the protobuf message and the aggregate key it is published
  under, so a domain event without a mapping fails where it is emitted, not at commit.
- When the block ends without an exception, the collected events are written to the outbox
  in the order they were emitted, inside the same transaction, and then it commits: the state
  change and its events exist together or not at all. An exception rolls both back.
- Events are written at the end of the block, while the block's row locks are still held, so
  one aggregate's events keep their order in the outbox (see :mod:`chorus_platform.outbox`).

Event consumers run their handler in a transaction of the same kind that also records the
event in the inbox (:mod:`chorus_platform.consumer`); the handler hands that ``tx`` to the
use case it calls, which then works inside it instead of beginning its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import asyncpg
from google.protobuf.message import Message

from chorus_platform import outbox

Isolation = Literal["read_committed", "repeatable_read", "serializable"]


@dataclass(frozen=True)
class OutgoingEvent:
    """An event ready for the outbox: its aggregate key (user, structure, invoice id: one
    aggregate's events stay ordered) and its protobuf message."""

    key: str
    message: Message


EventEncoder = Callable[[object], OutgoingEvent]
"""A service's mapping of its domain events to outgoing events (its ``events/outgoing.py``);
raises TypeError for an object that is not one of its domain events."""


def _no_events(event: object) -> OutgoingEvent:
    raise TypeError(f"this service publishes no events (got {type(event).__name__})")


class Transaction:
    """One open database transaction: its connection, and the events to write at commit."""

    def __init__(self, conn: asyncpg.Connection, encode: EventEncoder = _no_events) -> None:
        self.conn = conn
        self._encode = encode
        self._events: list[OutgoingEvent] = []

    def emit(self, event: object) -> None:
        """Collects a domain event, encoded now, written to the outbox at commit."""
        self._events.append(self._encode(event))

    @property
    def events(self) -> tuple[OutgoingEvent, ...]:
        """The events emitted so far, in order."""
        return tuple(self._events)

    async def _flush(self, service: str) -> None:
        for event in self._events:
            await outbox.add_event(self.conn, service=service, key=event.key, message=event.message)
        self._events.clear()


class UnitOfWork:
    """Begins the transactions of one service's use cases on its pool.

    ``service`` names the outbox topic (``chorus.<service>.events.v1``); ``encode`` is the
    service's domain-event encoder (none for a service that publishes nothing).
    """

    def __init__(
        self, pool: asyncpg.Pool, *, service: str, encode: EventEncoder | None = None
    ) -> None:
        self.pool = pool
        self.service = service
        self._encode = encode or _no_events

    @asynccontextmanager
    async def transaction(
        self, *, isolation: Isolation | None = None
    ) -> AsyncIterator[Transaction]:
        """A read-write transaction; emitted events are written to the outbox before it
        commits. ``isolation`` defaults to the database's (read committed)."""
        async with self.pool.acquire() as conn, conn.transaction(isolation=isolation):
            tx = Transaction(conn, self._encode)
            yield tx
            await tx._flush(self.service)

    @asynccontextmanager
    async def reading(self, *, snapshot: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A connection for reads. ``snapshot=True`` opens a read-only repeatable-read
        transaction, so several queries see one consistent state (a page and its counts);
        otherwise each statement runs on its own."""
        async with self.pool.acquire() as conn:
            if not snapshot:
                yield conn
                return
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                yield conn
