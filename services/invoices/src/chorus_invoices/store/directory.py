"""The directory read model (table ``directory``): structures as invoices last heard of them.

Every write carries the time of the state it holds (``version``) and never replaces a newer
state with an older one: events are applied in their time order whatever order they arrive
in, and an answer of structures only replaces what is older than the moment it was asked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from chorus_invoices.domain.directory import DirectoryEntry


def _entry(row: asyncpg.Record) -> DirectoryEntry:
    return DirectoryEntry(
        row["id"], row["identifier_type"], row["identifier"], row["public"], row["structure"]
    )


async def by_id(
    conn: asyncpg.Connection, structure_id: UUID, max_age: timedelta
) -> tuple[DirectoryEntry, bool] | None:
    """The entry of ``structure_id`` and whether it is fresh: neither stale nor older than
    ``max_age`` (usable without asking structures again)."""
    row = await conn.fetchrow(
        "SELECT structure_id::text AS id, identifier_type, identifier, public, structure,"
        "       (NOT stale AND checked_at > now() - $1::interval) AS fresh"
        "  FROM directory WHERE structure_id = $2",
        max_age,
        structure_id,
    )
    return None if row is None else (_entry(row), row["fresh"])


async def by_identifier(
    conn: asyncpg.Connection, identifier_type: str, identifier: str, max_age: timedelta
) -> list[tuple[DirectoryEntry, bool]]:
    """The entries registered under (``identifier_type``, ``identifier``), two at most (one
    is expected: a second means one of them is out of date), each with its freshness."""
    rows = await conn.fetch(
        "SELECT structure_id::text AS id, identifier_type, identifier, public, structure,"
        "       (NOT stale AND checked_at > now() - $1::interval) AS fresh"
        "  FROM directory WHERE identifier_type = $2 AND identifier = $3 LIMIT 2",
        max_age,
        identifier_type,
        identifier,
    )
    return [(_entry(row), row["fresh"]) for row in rows]


async def save_answer(
    conn: asyncpg.Connection, entry: DirectoryEntry, *, version: datetime, asked_at: datetime
) -> bool:
    """Stores structures' answer asked at ``asked_at``, as the state of ``version``, unless
    the entry holds a newer state or was marked stale after the question was asked (the
    answer may predate what made it stale). True when stored."""
    stored = await conn.fetchval(
        "INSERT INTO directory"
        " (structure_id, identifier_type, identifier, public, structure, version)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (structure_id) DO UPDATE SET identifier_type = EXCLUDED.identifier_type,"
        "   identifier = EXCLUDED.identifier, public = EXCLUDED.public,"
        "   structure = EXCLUDED.structure, version = EXCLUDED.version, checked_at = now(),"
        "   stale = false, stale_since = NULL"
        " WHERE directory.version <= EXCLUDED.version"
        "   AND (NOT directory.stale OR directory.stale_since <= $7)"
        " RETURNING true",
        UUID(entry.structure_id),
        entry.identifier_type,
        entry.identifier,
        entry.public,
        entry.payload,
        version,
        asked_at,
    )
    return bool(stored)


async def save_event_state(conn: asyncpg.Connection, entry: DirectoryEntry, at: datetime) -> bool:
    """Stores the state an event of time ``at`` describes unless the entry holds a newer one
    (a stale entry stays stale: the event may predate what made it so). True when stored."""
    stored = await conn.fetchval(
        "INSERT INTO directory"
        " (structure_id, identifier_type, identifier, public, structure, version)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (structure_id) DO UPDATE SET identifier_type = EXCLUDED.identifier_type,"
        "   identifier = EXCLUDED.identifier, public = EXCLUDED.public,"
        "   structure = EXCLUDED.structure, version = EXCLUDED.version, checked_at = now()"
        " WHERE directory.version <= EXCLUDED.version"
        " RETURNING true",
        UUID(entry.structure_id),
        entry.identifier_type,
        entry.identifier,
        entry.public,
        entry.payload,
        at,
    )
    return bool(stored)


async def lock(conn: asyncpg.Connection, structure_id: UUID) -> tuple[bytes, datetime] | None:
    """The payload and version of ``structure_id``'s entry, locked until the transaction ends."""
    row = await conn.fetchrow(
        "SELECT structure, version FROM directory WHERE structure_id = $1 FOR UPDATE",
        structure_id,
    )
    return None if row is None else (row["structure"], row["version"])


async def replace_payload(
    conn: asyncpg.Connection, structure_id: UUID, payload: bytes, at: datetime
) -> None:
    """Sets the entry's payload as the state of ``at`` (after :func:`lock`)."""
    await conn.execute(
        "UPDATE directory SET structure = $2, version = $3, checked_at = now()"
        " WHERE structure_id = $1",
        structure_id,
        payload,
        at,
    )


async def mark_stale(conn: asyncpg.Connection, structure_id: UUID | None = None) -> int:
    """Marks one entry (or every entry) to be asked again before use; how many."""
    if structure_id is None:
        status = await conn.execute("UPDATE directory SET stale = true, stale_since = now()")
    else:
        status = await conn.execute(
            "UPDATE directory SET stale = true, stale_since = now() WHERE structure_id = $1",
            structure_id,
        )
    return int(status.split()[-1])
