"""Invoice digests repository: each user's invoice e-mail frequency, and the invoice events
waiting for their digest (see ``usecases/digests.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from chorus_notifications.domain.digests import DigestFrequency

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


async def oldest_waiting(
    conn: asyncpg.Connection, user_id: str, *, before: datetime
) -> tuple[datetime, int] | None:
    """When the user's oldest entry in no digest yet (queued before ``before``) was queued,
    and its id; None when there is none."""
    row = await conn.fetchrow(
        """SELECT queued_at, id FROM digest_entries
            WHERE user_id = $1 AND digest_event_id IS NULL AND queued_at < $2
            ORDER BY queued_at, id
            LIMIT 1""",
        user_id,
        before,
    )
    return None if row is None else (row["queued_at"], row["id"])


@dataclass(frozen=True)
class InvoiceInPeriod:
    """One invoice of a user's entries in a period: its latest entry, and whether one of
    them told of its arrival at the user's structure."""

    invoice_id: str
    number: str
    status: str
    comment: str
    received: bool


async def invoices_in_period(
    conn: asyncpg.Connection, user_id: str, *, start: datetime, end: datetime, limit: int
) -> tuple[list[InvoiceInPeriod], int]:
    """The first ``limit`` invoices (in the order they first appear) of the user's waiting
    entries queued in [start, end), each with its latest entry; and how many there are."""
    rows = await conn.fetch(
        """WITH period AS (
               SELECT id, kind, invoice_id, number, status, comment, queued_at
                 FROM digest_entries
                WHERE user_id = $1 AND digest_event_id IS NULL
                  AND queued_at >= $2 AND queued_at < $3),
           invoices AS (
               SELECT invoice_id, min(queued_at) AS first_at,
                      bool_or(kind = 'INVOICE_RECEIVED') AS received
                 FROM period GROUP BY invoice_id)
           SELECT i.invoice_id, latest.number, latest.status, latest.comment, i.received,
                  count(*) OVER () AS invoices
             FROM invoices i
             CROSS JOIN LATERAL (
                   SELECT number, status, comment FROM period p
                    WHERE p.invoice_id = i.invoice_id
                    ORDER BY p.queued_at DESC, p.id DESC
                    LIMIT 1) latest
            ORDER BY i.first_at, i.invoice_id
            LIMIT $4""",
        user_id,
        start,
        end,
        limit,
    )
    found = [
        InvoiceInPeriod(
            invoice_id=row["invoice_id"],
            number=row["number"],
            status=row["status"],
            comment=row["comment"],
            received=row["received"],
        )
        for row in rows
    ]
    return found, rows[0]["invoices"] if rows else 0


async def mark_period(
    conn: asyncpg.Connection, user_id: str, *, start: datetime, end: datetime, digest_event_id: str
) -> int:
    """Marks the user's waiting entries queued in [start, end) as in the digest
    ``digest_event_id``; returns how many."""
    status = await conn.execute(
        """UPDATE digest_entries SET digest_event_id = $4
            WHERE user_id = $1 AND digest_event_id IS NULL
              AND queued_at >= $2 AND queued_at < $3""",
        user_id,
        start,
        end,
        digest_event_id,
    )
    return int(status.split()[-1])  # "UPDATE <n>"
