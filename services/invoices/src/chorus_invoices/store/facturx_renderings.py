"""Rendering queue repository (``facturx_renderings``, migration 0015): the portal invoices
whose Factur-X PDF is still to be rendered, claimed by the rendering job with a lease.

A row is queued in the deposit's transaction (:func:`enqueue`, which NOTIFYs
:data:`NOTIFY_CHANNEL` at commit) and deleted in the transaction that stores the FACTURX
document (:func:`finish`), only by the job that still holds its lease; a failed render is
given back with a later ``not_before`` (:func:`retry_later`) or kept failed (:func:`fail`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

NOTIFY_CHANNEL = "chorus_facturx_renderings"


@dataclass(frozen=True)
class Claim:
    invoice_id: str
    owner: str
    attempts: int
    """Attempts so far, this one included."""


async def enqueue(conn: asyncpg.Connection, invoice_id: str, at: datetime) -> None:
    """Queues the invoice's rendering (again, when it was queued or failed before: a recycled
    invoice's new XML), due now; wakes the job when the caller's transaction commits."""
    await conn.execute(
        "INSERT INTO facturx_renderings (invoice_id, queued_at, not_before) VALUES ($1, $2, $2)"
        " ON CONFLICT (invoice_id) DO UPDATE SET queued_at = EXCLUDED.queued_at,"
        " not_before = EXCLUDED.not_before, attempts = 0, lease_owner = NULL,"
        " lease_until = NULL, failed_at = NULL, last_error = ''",
        invoice_id,
        at,
    )
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)


async def drop(conn: asyncpg.Connection, invoice_id: str) -> None:
    """Forgets the invoice's queued rendering, if any (``on_demand`` mode: its first download
    renders it; a job still holding its lease then stores nothing)."""
    await conn.execute("DELETE FROM facturx_renderings WHERE invoice_id = $1", invoice_id)


async def claim(conn: asyncpg.Connection, lease_seconds: float) -> Claim | None:
    """Claims the rendering due first whose lease is free or ran out (another job skips it
    while the caller's transaction runs, then sees the lease); None when none is due."""
    owner = uuid.uuid4()
    row = await conn.fetchrow(
        "UPDATE facturx_renderings r SET lease_owner = $1,"
        " lease_until = now() + make_interval(secs => $2), attempts = r.attempts + 1"
        " WHERE r.invoice_id = ("
        "   SELECT invoice_id FROM facturx_renderings"
        "    WHERE failed_at IS NULL AND not_before <= now()"
        "      AND (lease_until IS NULL OR lease_until < now())"
        "    ORDER BY not_before LIMIT 1 FOR UPDATE SKIP LOCKED)"
        " RETURNING r.invoice_id, r.attempts",
        owner,
        lease_seconds,
    )
    if row is None:
        return None
    return Claim(str(row["invoice_id"]), str(owner), row["attempts"])


async def finish(conn: asyncpg.Connection, claim: Claim) -> bool:
    """Deletes the row if ``claim`` still holds its lease; False when it lost it (another job
    took it after the lease ran out, or the invoice was queued again): store nothing then."""
    deleted = await conn.fetchval(
        "DELETE FROM facturx_renderings WHERE invoice_id = $1 AND lease_owner = $2"
        " RETURNING invoice_id",
        claim.invoice_id,
        uuid.UUID(claim.owner),
    )
    return deleted is not None


async def retry_later(
    conn: asyncpg.Connection, claim: Claim, after_seconds: float, error: str, *, counted: bool
) -> None:
    """Gives the rendering back, due in ``after_seconds``; ``counted=False`` (the workers were
    not there to try) does not spend an attempt."""
    await conn.execute(
        "UPDATE facturx_renderings SET lease_owner = NULL, lease_until = NULL,"
        " not_before = now() + make_interval(secs => $3), last_error = $4,"
        " attempts = attempts - CASE WHEN $5 THEN 0 ELSE 1 END"
        " WHERE invoice_id = $1 AND lease_owner = $2",
        claim.invoice_id,
        uuid.UUID(claim.owner),
        after_seconds,
        error,
        counted,
    )


async def fail(conn: asyncpg.Connection, claim: Claim, error: str) -> None:
    """Keeps the rendering as failed for good (no more attempts), with its error."""
    await conn.execute(
        "UPDATE facturx_renderings SET lease_owner = NULL, lease_until = NULL,"
        " failed_at = now(), last_error = $3 WHERE invoice_id = $1 AND lease_owner = $2",
        claim.invoice_id,
        uuid.UUID(claim.owner),
        error,
    )


async def pending(conn: asyncpg.Connection, invoice_id: str) -> bool:
    """Whether the invoice's Factur-X is still to be rendered (queued, not failed for good)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM facturx_renderings"
            " WHERE invoice_id = $1 AND failed_at IS NULL)",
            invoice_id,
        )
    )


async def backlog(conn: asyncpg.Connection) -> int:
    """Renderings still to do (failed ones left out): the queue depth."""
    return await conn.fetchval("SELECT count(*) FROM facturx_renderings WHERE failed_at IS NULL")


@contextlib.asynccontextmanager
async def listening(dsn: str, on_queued: Callable[[], None]) -> AsyncIterator[None]:
    """Calls ``on_queued`` at each rendering queued (NOTIFY from :func:`enqueue`, at commit)
    while the block runs, on a connection of its own (outside the pool: it stays open)."""
    listener = await asyncpg.connect(dsn)
    try:
        await listener.add_listener(NOTIFY_CHANNEL, lambda *_: on_queued())
        yield
    finally:
        with contextlib.suppress(Exception):
            await listener.close()
