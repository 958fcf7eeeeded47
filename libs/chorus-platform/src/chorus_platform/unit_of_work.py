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

**Ambient transaction.** Platform code that must commit something together with whatever a
whole RPC does (the Idempotency-Key and its stored answer,
:mod:`chorus_platform.idempotency`) opens :func:`ambient_transaction` around it. Until that
block ends, in its task and in the tasks it starts, every unit of work on the same pool joins
it instead of acquiring a connection: ``transaction()`` becomes a savepoint (an exception
rolls the block back to it, as before; its events go to the outbox inside it) and
``reading()`` runs on its connection, inside a savepoint too, so a failed read cannot abort
the transaction. Nothing commits before the ambient block does. Use cases need not know,
with two limits: they must not use the unit of work from concurrent coroutines (one
connection runs one statement at a time: asyncpg refuses the second), and ``isolation``
other than read committed cannot be had inside it (RuntimeError); ``reading(snapshot=True)``
then sees the ambient transaction's state, statement by statement, not one snapshot.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
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


@asynccontextmanager
async def _watched(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Turns the InterfaceError asyncpg's pool raises for a connection the server closed
    meanwhile ("released back to the pool": it detaches it), or the InternalClientError its
    protocol raises when the close lands in the middle of an operation ("cannot switch to
    state"), into what it is, a ConnectionDoesNotExistError, so the caller is told the
    database is unavailable."""
    lost = False

    def on_close(_: object) -> None:
        nonlocal lost
        lost = True

    conn.add_termination_listener(on_close)
    try:
        yield
    except (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError) as error:
        if lost or conn.is_closed():
            raise asyncpg.ConnectionDoesNotExistError(
                "the database connection was lost during the transaction"
            ) from error
        raise
    finally:
        if not lost:
            conn.remove_termination_listener(on_close)


@dataclass
class _Ambient:
    pool: asyncpg.Pool
    conn: asyncpg.Connection
    open: bool = True


_ambient: ContextVar[_Ambient | None] = ContextVar("chorus_ambient_transaction", default=None)


@asynccontextmanager
async def ambient_transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A read-committed transaction on a connection of ``pool`` that every :class:`UnitOfWork`
    on ``pool`` joins until the block ends (see the module docstring); yields its connection.

    Commits when the block ends normally, rolls back when it raises (a cancellation
    included). Tasks started inside the block and still running after it no longer join it.
    """
    async with pool.acquire() as conn, _watched(conn):
        transaction = conn.transaction()
        await transaction.start()
        ambient = _Ambient(pool, conn)
        token = _ambient.set(ambient)
        try:
            yield conn
        except BaseException:
            ambient.open = False
            # A broken connection cannot roll back: the pool then resets or drops it, and the
            # server rolls back a transaction whose connection is gone.
            with contextlib.suppress(Exception):
                await transaction.rollback()
            raise
        else:
            ambient.open = False
            await transaction.commit()
        finally:
            ambient.open = False
            _ambient.reset(token)


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
        commits. ``isolation`` defaults to the database's (read committed). Inside an
        :func:`ambient_transaction` on this pool: a savepoint of it."""
        joined = self._joined()
        if joined is not None:
            if isolation not in (None, "read_committed"):
                raise RuntimeError(f"isolation {isolation} inside an ambient transaction")
            async with joined.transaction():
                tx = Transaction(joined, self._encode)
                yield tx
                await tx._flush(self.service)
            return
        async with (
            self.pool.acquire() as conn,
            _watched(conn),
            conn.transaction(isolation=isolation),
        ):
            tx = Transaction(conn, self._encode)
            yield tx
            await tx._flush(self.service)

    @asynccontextmanager
    async def reading(self, *, snapshot: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A connection for reads. ``snapshot=True`` opens a read-only repeatable-read
        transaction, so several queries see one consistent state (a page and its counts);
        otherwise each statement runs on its own. Inside an :func:`ambient_transaction` on
        this pool: its connection, within a savepoint."""
        joined = self._joined()
        if joined is not None:
            async with joined.transaction():
                yield joined
            return
        async with self.pool.acquire() as conn, _watched(conn):
            if not snapshot:
                yield conn
                return
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                yield conn

    def _joined(self) -> asyncpg.Connection | None:
        """The connection of the ambient transaction this unit of work joins, if any."""
        ambient = _ambient.get()
        if ambient is not None and ambient.open and ambient.pool is self.pool:
            return ambient.conn
        return None
