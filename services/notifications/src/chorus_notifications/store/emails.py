"""E-mail outbox repository: queue, claim the next due message, record each attempt, and
find the e-mails of a sender that went away (see ``usecases/email_delivery.py``)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg

from chorus_notifications.domain.delivery import OutgoingEmail, message_id_for
from chorus_notifications.domain.messages import EmailContent
from chorus_notifications.domain.sealed_secrets import SealedSecret

NOTIFY_CHANNEL = "chorus_emails"


# Session advisory locks (classid, objid): a sender holds (SENDERS, its id) while it lives.
SENDERS = 0x43484D4C  # "CHML"


def _sender_key(sender_id: str) -> int:
    return int.from_bytes(uuid.UUID(sender_id).bytes[:4], "big", signed=True)


class Presence:
    """A sender's own connection: it carries the wake-ups and the sender's advisory lock, so
    the lock goes when the process (or its connection) does."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @property
    def alive(self) -> bool:
        return not self._conn.is_closed()


@contextlib.asynccontextmanager
async def listening(
    dsn: str, on_queued: Callable[[], None], sender_id: str
) -> AsyncIterator[Presence]:
    """Calls ``on_queued`` at each e-mail queued (NOTIFY from :func:`enqueue`, at commit)
    while the block runs, on a connection of its own (outside the pool: it stays open), which
    also holds the sender's presence lock (:func:`requeue_if_gone`)."""
    listener = await asyncpg.connect(dsn)
    try:
        await listener.execute("SELECT pg_advisory_lock($1, $2)", SENDERS, _sender_key(sender_id))
        await listener.add_listener(NOTIFY_CHANNEL, lambda *_: on_queued())
        yield Presence(listener)
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
        """WITH queued AS (
               INSERT INTO emails (id, event_id, recipient_address, user_id, kind,
                                   subject, text_body, html_body, sealed_secret, sealed_context)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (event_id, recipient_address) DO NOTHING
               RETURNING id)
           SELECT id FROM queued, pg_notify($11, '')""",
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
        NOTIFY_CHANNEL,
    )
    return None if email_id is None else str(email_id)


async def claim_next_due(
    conn: asyncpg.Connection, sender_id: str, message_id_domain: str
) -> OutgoingEmail | None:
    """Claims the oldest due PENDING e-mail for ``sender_id`` (:func:`claim_due` of one)."""
    claimed = await claim_due(conn, sender_id, message_id_domain, limit=1)
    return claimed[0] if claimed else None


async def claim_due(
    conn: asyncpg.Connection, sender_id: str, message_id_domain: str, *, limit: int
) -> list[OutgoingEmail]:
    """Claims up to ``limit`` due PENDING e-mails for ``sender_id``, oldest first (others skip
    them while the caller's transaction runs, then see them SENDING); fixes each one's
    Message-ID on its first claim. The caller commits the claim before any SMTP."""
    rows = await conn.fetch(
        """SELECT id, kind, recipient_address, subject, text_body, html_body, attempts,
                  sealed_secret, sealed_context, message_id
             FROM emails
            WHERE status = 'PENDING' AND next_attempt_at <= now()
            ORDER BY next_attempt_at, created_at
            LIMIT $1
              FOR UPDATE SKIP LOCKED""",
        limit,
    )
    if not rows:
        return []
    message_ids = [
        row["message_id"] or message_id_for(str(row["id"]), message_id_domain) for row in rows
    ]
    await conn.execute(
        """UPDATE emails
              SET status = 'SENDING', claimed_by = $2, claimed_at = clock_timestamp(),
                  message_id = claimed.message_id
             FROM unnest($1::uuid[], $3::text[]) AS claimed (id, message_id)
            WHERE emails.id = claimed.id""",
        [row["id"] for row in rows],
        sender_id,
        message_ids,
    )
    return [
        OutgoingEmail(
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
            message_id=message_id,
        )
        for row, message_id in zip(rows, message_ids, strict=True)
    ]


async def release(conn: asyncpg.Connection, sender_id: str, email_ids: list[str]) -> None:
    """Puts back to PENDING those of ``email_ids`` that ``sender_id`` claimed and never
    handed to SMTP (the rest of a batch when the sender stops); no attempt counted."""
    await conn.execute(
        """UPDATE emails SET status = 'PENDING', claimed_by = NULL
            WHERE id = ANY($2::uuid[]) AND status = 'SENDING' AND claimed_by = $1""",
        sender_id,
        email_ids,
    )


async def record_sent(conn: asyncpg.Connection, email_id: str) -> bool:
    """Records the SMTP acceptance: SENT, whoever claimed it. Idempotent (a retry after a
    commit whose answer was lost changes nothing); False when it was SENT already."""
    recorded = await conn.fetchval(
        """WITH sent AS (
               UPDATE emails
                  SET status = 'SENT',
                      attempts = attempts + 1,
                      sent_at = clock_timestamp(),
                      last_error = NULL,
                      sealed_secret = NULL,
                      sealed_context = NULL,
                      claimed_by = NULL
                WHERE id = $1 AND status <> 'SENT'
            RETURNING id)
           INSERT INTO email_attempts (email_id, at, ok)
           SELECT id, clock_timestamp(), true FROM sent
           RETURNING email_id""",
        email_id,
    )
    return recorded is not None


async def record_failure(
    conn: asyncpg.Connection,
    email_id: str,
    sender_id: str,
    *,
    error: str,
    retry_in_seconds: float | None,
) -> None:
    """Records a failed attempt of ``sender_id``'s claim: PENDING again after
    ``retry_in_seconds``, or FAILED when None. Idempotent (nothing once the claim is over).

    Times are clock times, not the transaction's start: the SMTP attempt took a while.
    """
    await conn.execute(
        """WITH failed AS (
               UPDATE emails
                  SET attempts = attempts + 1,
                      last_error = $3,
                      status = CASE WHEN $4::float8 IS NULL THEN 'FAILED' ELSE 'PENDING' END,
                      next_attempt_at = clock_timestamp()
                                        + make_interval(secs => coalesce($4::float8, 0)),
                      claimed_by = NULL,
                      sealed_secret = CASE WHEN $4::float8 IS NULL THEN NULL
                                           ELSE sealed_secret END,
                      sealed_context = CASE WHEN $4::float8 IS NULL THEN NULL
                                            ELSE sealed_context END
                WHERE id = $1 AND status = 'SENDING' AND claimed_by = $2
            RETURNING id)
           INSERT INTO email_attempts (email_id, at, ok, error)
           SELECT id, clock_timestamp(), false, $3 FROM failed""",
        email_id,
        sender_id,
        error,
        retry_in_seconds,
    )


async def release_own(conn: asyncpg.Connection, sender_id: str) -> list[str]:
    """Puts back to PENDING the e-mails ``sender_id`` claimed but is not sending (a claim
    whose commit answer was lost: never handed to SMTP); no attempt counted."""
    rows = await conn.fetch(
        """UPDATE emails SET status = 'PENDING', claimed_by = NULL
            WHERE status = 'SENDING' AND claimed_by = $1
        RETURNING id""",
        sender_id,
    )
    return [str(row["id"]) for row in rows]


async def senders_with_claims(conn: asyncpg.Connection, other_than: str) -> list[str]:
    """The other senders that have e-mails SENDING."""
    rows = await conn.fetch(
        "SELECT DISTINCT claimed_by FROM emails WHERE status = 'SENDING' AND claimed_by <> $1",
        other_than,
    )
    return [str(row["claimed_by"]) for row in rows]


async def requeue_if_gone(conn: asyncpg.Connection, sender_id: str, error: str) -> list[str]:
    """When ``sender_id`` is gone (its presence lock is free: the caller's transaction takes
    it until commit), puts its SENDING e-mails back to PENDING, due now, each with an attempt
    of unknown outcome (``ok`` NULL, ``error``); returns their ids ([] when it lives)."""
    free = await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock($1, $2)", SENDERS, _sender_key(sender_id)
    )
    if not free:
        return []
    rows = await conn.fetch(
        """WITH requeued AS (
               UPDATE emails
                  SET status = 'PENDING', claimed_by = NULL, attempts = attempts + 1,
                      last_error = $2, next_attempt_at = clock_timestamp()
                WHERE status = 'SENDING' AND claimed_by = $1
            RETURNING id)
           INSERT INTO email_attempts (email_id, at, ok, error)
           SELECT id, clock_timestamp(), NULL, $2 FROM requeued
           RETURNING email_id""",
        sender_id,
        error,
    )
    return [str(row["email_id"]) for row in rows]


async def seconds_until_next_due(conn: asyncpg.Connection) -> float | None:
    """Seconds until the next PENDING e-mail falls due (0 if one is due), None if none waits."""
    due_at = await conn.fetchval(
        """SELECT extract(epoch FROM min(next_attempt_at) - now())::float8
             FROM emails WHERE status = 'PENDING'"""
    )
    return None if due_at is None else max(due_at, 0.0)


async def count_unsent(conn: asyncpg.Connection) -> int:
    """E-mails queued and not sent yet (PENDING or SENDING), through their partial indexes:
    the ``chorus.emails.pending`` gauge."""
    return await conn.fetchval(
        "SELECT (SELECT count(*) FROM emails WHERE status = 'PENDING')"
        " + (SELECT count(*) FROM emails WHERE status = 'SENDING')",
        timeout=4,
    )
