"""asyncpg pool creation and database bootstrap."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

import asyncpg
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from chorus_platform.settings import with_database

log = logging.getLogger(__name__)

#: The pools this process opened, for the connection gauges (asyncpg pools take no weak
#: references: closed ones are dropped when a pool is added, on the loop; the gauges, read
#: from the scrape's thread, only skip them).
_pools: list[asyncpg.Pool] = []


def _open_pools() -> list[asyncpg.Pool]:
    return [pool for pool in list(_pools) if not pool.is_closing()]


def _connection_counts(options: CallbackOptions) -> Iterable[Observation]:
    """Connections of the process's pools, idle and in use (in-memory counters of asyncpg)."""
    pools = _open_pools()
    if not pools:
        return []
    size = sum(pool.get_size() for pool in pools)
    idle = sum(pool.get_idle_size() for pool in pools)
    return [Observation(idle, {"state": "idle"}), Observation(size - idle, {"state": "used"})]


def _connection_max(options: CallbackOptions) -> Iterable[Observation]:
    pools = _open_pools()
    return [Observation(sum(pool.get_max_size() for pool in pools))] if pools else []


_meter = metrics.get_meter("chorus_platform.db")
_meter.create_observable_gauge(
    "db.client.connection.count",
    callbacks=[_connection_counts],
    unit="{connection}",
    description="Connections of the asyncpg pools, by state (idle, used).",
)
_meter.create_observable_gauge(
    "db.client.connection.max",
    callbacks=[_connection_max],
    unit="{connection}",
    description="Most connections the asyncpg pools may open.",
)


async def create_pool(dsn: str, *, max_size: int = 10) -> asyncpg.Pool:
    """Opens a pool on ``dsn``; statements are prepared and cached per connection.

    A released connection is not reset on the server (:func:`_no_session_state`): pool
    connections hold no session state. What must outlive a transaction — a session advisory
    lock, ``LISTEN``, a session ``SET`` — goes on a connection of its own
    (``asyncpg.connect``), as the outbox relay and the e-mail listener do; inside a
    transaction use ``pg_advisory_xact_lock`` and ``set_config(..., true)``.
    """
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, reset=_no_session_state)
    _pools[:] = [*_open_pools(), pool]
    return pool


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """Nothing to undo on the server when a connection returns to the pool: asyncpg has
    already rolled back a transaction left open and dropped the Python listeners. This
    saves the round trip of its default reset (``SELECT pg_advisory_unlock_all(); CLOSE
    ALL; UNLISTEN *; RESET ALL``) on every release, i.e. on every transaction."""


async def ensure_database(dsn: str) -> None:
    """Creates the database named in ``dsn`` when missing (connecting to ``postgres`` first)."""
    name = urlsplit(dsn).path.lstrip("/")
    admin = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Identifiers cannot be parameters; quote it the way PostgreSQL does.
            quoted = '"' + name.replace('"', '""') + '"'
            try:
                await admin.execute(f"CREATE DATABASE {quoted}")
                log.info("database created", extra={"database": name})
            except asyncpg.DuplicateDatabaseError:
                pass
    finally:
        await admin.close()
