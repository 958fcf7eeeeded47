"""Status history repository: one row per status an invoice entered."""

from __future__ import annotations

import asyncpg

from chorus_invoices.domain.invoice import HistoryEntry
from chorus_invoices.domain.lifecycle import Status


async def append(conn: asyncpg.Connection, invoice_id: str, entry: HistoryEntry) -> None:
    await conn.execute(
        "INSERT INTO invoice_history (invoice_id, status, at, actor, comment)"
        " VALUES ($1, $2, $3, $4, $5)",
        invoice_id,
        entry.status.value,
        entry.at,
        entry.actor,
        entry.comment,
    )


async def entries(conn: asyncpg.Connection, invoice_id: str) -> list[HistoryEntry]:
    """The invoice's history, oldest first."""
    rows = await conn.fetch(
        "SELECT status, at, actor, comment FROM invoice_history WHERE invoice_id = $1"
        " ORDER BY at, seq",
        invoice_id,
    )
    return [HistoryEntry(Status(r["status"]), r["at"], r["actor"], r["comment"]) for r in rows]
