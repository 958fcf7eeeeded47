"""E-mail outbox repository: queue, claim the next due message, record each attempt."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg

from chorus_notifications.domain.delivery import OutgoingEmail
from chorus_notifications.domain.messages import EmailContent
from chorus_notifications.domain.sealed_secrets import SealedSecret

NOTIFY_CHANNEL = "chorus_emails"


@contextlib.asynccontextmanager
async def listening(dsn: str, on_queued: Callable[[], None]) -> AsyncIterator[None]:
    """Calls ``on_queued`` at each e-mail queued (NOTIFY from :func:`enqueue`, at commit)
    while the block runs, on a connection of its own (outside the pool: it stays open)."""
    listener = await asyncpg.connect(dsn)
    try:
        await listener.add_listener(NOTIFY_CHANNEL, lambda *_: on_queued())
        yield
    finally:
        with contextlib.suppress(Exception):
            await listener.close()


async def enqueue(
    conn: asyncpg.Connection,
    *,
    event_id: str,
    recipient_address: str,
    user_id: str | None,
    content: EmailContent,
) -> str | None:
    """Queues one e-mail; returns its id, or None if this event already mailed this address.

    Wakes the sender through NOTIFY when the caller's transaction commits.
    """
    email_id = await conn.fetchval(
        """INSERT INTO emails (id, event_id, recipient_address, user_id, kind,
                               subject, text_body, html_body, sealed_secret, sealed_context)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (event_id, recipient_address) DO NOTHING
           RETURNING id""",
        uuid.uuid4(),
        event_id,
        recipient_address,
        user_id,
        str(content.kind),
        content.subject,
        content.text_body,
        content.html_body,
        content.sealed.sealed if content.sealed else None,
        content.sealed.context if content.sealed else None,
    )
    if email_id is None:
        return None
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    return str(email_id)


async def claim_next_due(conn: asyncpg.Connection) -> OutgoingEmail | None:
    """Locks the oldest due PENDING e-mail for the caller's transaction (others skip it)."""
    row = await conn.fetchrow(
        """SELECT id, kind, recipient_address, subject, text_body, html_body, attempts,
                  sealed_secret, sealed_context
             FROM emails
            WHERE status = 'PENDING' AND next_attempt_at <= now()
            ORDER BY next_attempt_at, created_at
            LIMIT 1
              FOR UPDATE SKIP LOCKED"""
    )
    if row is None:
        return None
    return OutgoingEmail(
        id=str(row["id"]),
        kind=row["kind"],
        recipient_address=row["recipient_address"],
        subject=row["subject"],
        text_body=row["text_body"],
        html_body=row["html_body"],
        attempts=row["attempts"],
        sealed=(
            SealedSecret(bytes(row["sealed_secret"]), bytes(row["sealed_context"]))
            if row["sealed_secret"] is not None
            else None
        ),
    )


async def record_sent(conn: asyncpg.Connection, email_id: str) -> None:
    await conn.execute(
        "INSERT INTO email_attempts (email_id, at, ok) VALUES ($1, clock_timestamp(), true)",
        email_id,
    )
    await conn.execute(
        """UPDATE emails
              SET status = 'SENT',
                  attempts = attempts + 1,
                  sent_at = clock_timestamp(),
                  last_error = NULL,
                  sealed_secret = NULL,
                  sealed_context = NULL
            WHERE id = $1""",
        email_id,
    )


async def record_failure(
    conn: asyncpg.Connection, email_id: str, *, error: str, retry_in_seconds: float | None
) -> None:
    """Records a failed attempt; retries after ``retry_in_seconds``, or FAILED when None.

    Times are clock times, not the transaction's start: the SMTP attempt took a while.
    """
    await conn.execute(
        "INSERT INTO email_attempts (email_id, at, ok, error)"
        " VALUES ($1, clock_timestamp(), false, $2)",
        email_id,
        error,
    )
    await conn.execute(
        """UPDATE emails
              SET attempts = attempts + 1,
                  last_error = $2,
                  status = CASE WHEN $3::float8 IS NULL THEN 'FAILED' ELSE 'PENDING' END,
                  next_attempt_at = clock_timestamp()
                                    + make_interval(secs => coalesce($3::float8, 0)),
                  sealed_secret = CASE WHEN $3::float8 IS NULL THEN NULL ELSE sealed_secret END,
                  sealed_context = CASE WHEN $3::float8 IS NULL THEN NULL ELSE sealed_context END
            WHERE id = $1""",
        email_id,
        error,
        retry_in_seconds,
    )


async def seconds_until_next_due(conn: asyncpg.Connection) -> float | None:
    """Seconds until the next PENDING e-mail falls due (0 if one is due), None if none waits."""
    due_at = await conn.fetchval(
        """SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
             FROM emails WHERE status = 'PENDING'"""
    )
    return None if due_at is None else max(due_at, 0.0)
