"""asyncpg pool creation and database bootstrap."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import asyncpg

from chorus_platform.settings import with_database

log = logging.getLogger(__name__)


async def create_pool(dsn: str, *, max_size: int = 10) -> asyncpg.Pool:
    """Opens a pool on ``dsn``; statements are prepared and cached per connection.

    A released connection is not reset on the server (:func:`_no_session_state`): pool
    connections hold no session state. What must outlive a transaction — a session advisory
    lock, ``LISTEN``, a session ``SET`` — goes on a connection of its own
    (``asyncpg.connect``), as the outbox relay and the e-mail listener do; inside a
    transaction use ``pg_advisory_xact_lock`` and ``set_config(..., true)``.
    """
    return await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, reset=_no_session_state)


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
