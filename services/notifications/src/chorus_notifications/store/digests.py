"""Invoice digests repository: each user's invoice e-mail frequency, and the invoice events
waiting for their digest (see ``usecases/digests.py``)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from chorus_notifications.domain.digests import DigestEntry, DigestFrequency

# Transaction advisory locks (classid, objid): one digest run per user at a time.
DIGESTS = 0x43484447  # "CHDG"


async def frequency_of(conn: asyncpg.Connection, user_id: str) -> DigestFrequency:
    found = await conn.fetchval(
        "SELECT frequency FROM invoice_email_frequencies WHERE user_id = $1", user_id
    )
    return DigestFrequency(found) if found else DigestFrequency.IMMEDIATE


async def set_frequency(conn: asyncpg.Connection, user_id: str, frequency: DigestFrequency) -> None:
    """IMMEDIATE (the default) is stored as no row."""
    if frequency is DigestFrequency.IMMEDIATE:
        await conn.execute("DELETE FROM invoice_email_frequencies WHERE user_id = $1", user_id)
        return
    await conn.execute(
        """INSERT INTO invoice_email_frequencies (user_id, frequency) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE
              SET frequency = EXCLUDED.frequency, updated_at = now()""",
        user_id,
        str(frequency),
    )


async def add_entry(
    conn: asyncpg.Connection,
    *,
    user_id: str,
    event_id: str,
    kind: str,
    invoice_id: str,
    number: str,
    status: str,
    comment: str,
    queued_at: datetime,
) -> bool:
    """Keeps an invoice event for the user's digest (once per event, user and kind)."""
    added = await conn.fetchval(
        """INSERT INTO digest_entries
               (user_id, event_id, kind, invoice_id, number, status, comment, queued_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (event_id, user_id, kind) DO NOTHING
           RETURNING id""",
        user_id,
        event_id,
        kind,
        invoice_id,
        number,
        status,
        comment,
        queued_at,
    )
    return added is not None


async def users_due(
    conn: asyncpg.Connection, *, hour_start: datetime, day_start: datetime, limit: int
) -> list[str]:
    """Users with entries from a period that is over: before ``hour_start`` for hourly
    digests, ``day_start`` for daily ones, any for users back to immediate e-mails."""
    rows = await conn.fetch(
        """SELECT DISTINCT e.user_id
             FROM digest_entries e
             LEFT JOIN invoice_email_frequencies f USING (user_id)
            WHERE e.digest_event_id IS NULL
              AND e.queued_at < CASE f.frequency WHEN 'HOURLY' THEN $1
                                                 WHEN 'DAILY' THEN $2
                                                 ELSE 'infinity'::timestamptz END
            LIMIT $3""",
        hour_start,
        day_start,
        limit,
    )
    return [str(row["user_id"]) for row in rows]


async def lock_user(conn: asyncpg.Connection, user_id: str) -> bool:
    """Takes the user's digest lock until the caller's transaction ends; False when another
    run (a replica) holds it."""
    return await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock($1, hashtext($2))", DIGESTS, user_id
    )


async def waiting(conn: asyncpg.Connection, user_id: str, *, before: datetime) -> list[DigestEntry]:
    """The user's entries queued before ``before`` and in no digest yet, oldest first."""
    rows = await conn.fetch(
        """SELECT id, kind, invoice_id, number, status, comment, queued_at
             FROM digest_entries
            WHERE user_id = $1 AND digest_event_id IS NULL AND queued_at < $2
            ORDER BY queued_at, id""",
        user_id,
        before,
    )
    return [DigestEntry(**dict(row)) for row in rows]


async def mark_sent(conn: asyncpg.Connection, entry_ids: list[int], digest_event_id: str) -> None:
    await conn.execute(
        "UPDATE digest_entries SET digest_event_id = $2 WHERE id = ANY($1::bigint[])",
        entry_ids,
        digest_event_id,
    )
