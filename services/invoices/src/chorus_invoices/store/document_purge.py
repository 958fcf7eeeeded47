"""The rows ``chorus-invoices purge-documents`` deletes (its use case:
:mod:`chorus_invoices.usecases.document_purge`): expired documents, expired staged files, and
the look-up that tells an orphan object (no row names it) from a kept one.

Every delete takes a bounded batch, so a first run over years of documents holds no long
transaction; the caller repeats until a batch comes back empty.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def expired_invoices(conn: asyncpg.Connection, cutoff: datetime, limit: int) -> list[str]:
    """Up to ``limit`` invoices unchanged since before ``cutoff`` that still have documents,
    locked until the end of the caller's transaction (one being changed now is skipped: its
    change makes it recent)."""
    rows = await conn.fetch(
        "SELECT i.id FROM invoices i WHERE i.updated_at < $1"
        " AND EXISTS (SELECT 1 FROM documents d WHERE d.invoice_id = i.id)"
        " ORDER BY i.updated_at LIMIT $2 FOR UPDATE OF i SKIP LOCKED",
        cutoff,
        limit,
    )
    return [str(row["id"]) for row in rows]


async def count_expired(conn: asyncpg.Connection, cutoff: datetime) -> tuple[int, int]:
    """(invoices, documents) :func:`drop_documents` would delete at ``cutoff``."""
    row = await conn.fetchrow(
        "SELECT count(DISTINCT d.invoice_id) AS invoices, count(*) AS documents"
        " FROM documents d JOIN invoices i ON i.id = d.invoice_id WHERE i.updated_at < $1",
        cutoff,
    )
    return int(row["invoices"]), int(row["documents"])


async def drop_documents(
    conn: asyncpg.Connection, invoice_ids: list[str], at: datetime
) -> tuple[int, list[str]]:
    """Deletes the documents of ``invoice_ids`` (their rendering still queued, if any: there
    is no XML left to render from) and marks the invoices ``documents_purged_at`` (their
    ``updated_at``, the last business change, untouched). Answers how many documents and the
    object keys to delete once the caller's transaction commits."""
    rows = await conn.fetch(
        "DELETE FROM documents WHERE invoice_id = ANY($1::uuid[]) RETURNING object_key",
        invoice_ids,
    )
    await conn.execute(
        "DELETE FROM facturx_renderings WHERE invoice_id = ANY($1::uuid[])", invoice_ids
    )
    await conn.execute(
        "UPDATE invoices SET documents_purged_at = $2 WHERE id = ANY($1::uuid[])",
        invoice_ids,
        at,
    )
    return len(rows), [row["object_key"] for row in rows if row["object_key"] is not None]


async def documents_purged_at(conn: asyncpg.Connection, invoice_id: str) -> datetime | None:
    """When the invoice's documents were purged (retention), or None."""
    return await conn.fetchval("SELECT documents_purged_at FROM invoices WHERE id = $1", invoice_id)


async def drop_staged(conn: asyncpg.Connection, now: datetime, limit: int) -> int:
    """Deletes up to ``limit`` staged files expired at ``now`` (never attached); how many."""
    result = await conn.execute(
        "DELETE FROM staged_attachments WHERE id IN (SELECT id FROM staged_attachments"
        " WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
        now,
        limit,
    )
    return int(result.split()[-1])


async def count_staged(conn: asyncpg.Connection, now: datetime) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM staged_attachments WHERE expires_at <= $1", now
    )


async def kept_keys(conn: asyncpg.Connection, keys: list[str]) -> set[str]:
    """The object keys among ``keys`` that a document row names."""
    rows = await conn.fetch(
        "SELECT object_key FROM documents WHERE object_key = ANY($1::text[])", keys
    )
    return {row["object_key"] for row in rows}
