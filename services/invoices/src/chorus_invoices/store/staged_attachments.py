"""Attachments uploaded ahead of the deposit or completion that uses them (table
``staged_attachments``).

A staged file belongs to the user who uploaded it and lives until ``expires_at``; the deposit
or completion that names it takes it (:func:`claim` locks it, :func:`content` reads it,
:func:`discard` deletes it) in its own transaction, so a refused call rolls that back.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

import asyncpg

from chorus_invoices.domain.attachments import StagedAttachment
from chorus_invoices.domain.errors import DocumentCorrupted

log = logging.getLogger("chorus.invoices.staging")


async def insert(conn: asyncpg.Connection, staged: StagedAttachment, content: bytes) -> int:
    """Keeps ``staged``; one of the same id (staged again with the same retry key, so the same
    uploader and content) only gets the new expiry. Answers its integer id (the one it had
    for a file staged again)."""
    return await conn.fetchval(
        "INSERT INTO staged_attachments (id, owner_user_id, filename, media_type, size, sha256,"
        " content, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at RETURNING cpp_id",
        staged.id,
        staged.owner_user_id,
        staged.filename,
        staged.media_type,
        staged.size,
        staged.sha256,
        content,
        staged.created_at,
        staged.expires_at,
    )


async def lock_owner(conn: asyncpg.Connection, owner_user_id: str) -> None:
    """Takes, until the end of the caller's transaction, the lock of ``owner_user_id``'s
    staging: one stager at a time per user."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"staging:{owner_user_id}")


async def purge_expired(conn: asyncpg.Connection, now: datetime) -> int:
    """Deletes the staged files expired at ``now``; how many."""
    result = await conn.execute("DELETE FROM staged_attachments WHERE expires_at <= $1", now)
    return int(result.split()[-1])


async def claim(
    conn: asyncpg.Connection, ids: list[str], owner_user_id: str, now: datetime
) -> dict[str, StagedAttachment]:
    """The staged files among ``ids`` that ``owner_user_id`` may use at ``now`` (theirs, not
    expired), by id, locked until the end of the caller's transaction (a concurrent use of the
    same file waits, then finds it gone)."""
    rows = await conn.fetch(
        "SELECT id, owner_user_id, filename, media_type, size, sha256, created_at, expires_at,"
        " cpp_id FROM staged_attachments WHERE id = ANY($1::uuid[]) AND owner_user_id = $2"
        " AND expires_at > $3 ORDER BY id FOR UPDATE",
        ids,
        owner_user_id,
        now,
    )
    return {str(row["id"]): _staged(row) for row in rows}


async def usable(
    conn: asyncpg.Connection, staged_id: str, owner_user_id: str, now: datetime
) -> tuple[StagedAttachment, bytes] | None:
    """The staged file ``staged_id`` with its content, if ``owner_user_id`` may use it at
    ``now`` (theirs, not expired); None otherwise. Not locked: :func:`claim` takes it."""
    row = await conn.fetchrow(
        "SELECT id, owner_user_id, filename, media_type, size, sha256, created_at, expires_at,"
        " cpp_id, content FROM staged_attachments WHERE id = $1::uuid AND owner_user_id = $2"
        " AND expires_at > $3",
        staged_id,
        owner_user_id,
        now,
    )
    if row is None:
        return None
    staged = _staged(row)
    return staged, _verified(staged.id, bytes(row["content"]), staged.size, staged.sha256)


async def ids_of(
    conn: asyncpg.Connection, cpp_ids: list[int], owner_user_id: str
) -> dict[int, str]:
    """The ids of ``owner_user_id``'s staged files among the integer ids ``cpp_ids``."""
    rows = await conn.fetch(
        "SELECT cpp_id, id FROM staged_attachments WHERE cpp_id = ANY($1::bigint[])"
        " AND owner_user_id = $2",
        cpp_ids,
        owner_user_id,
    )
    return {row["cpp_id"]: str(row["id"]) for row in rows}


async def content(conn: asyncpg.Connection, staged_id: str) -> bytes:
    """The staged file's content, checked against its size and SHA-256 (DocumentCorrupted)."""
    row = await conn.fetchrow(
        "SELECT content, size, sha256 FROM staged_attachments WHERE id = $1", staged_id
    )
    return _verified(staged_id, bytes(row["content"]), row["size"], row["sha256"])


def _verified(staged_id: str, content: bytes, size: int, sha256: str) -> bytes:
    if len(content) == size and hashlib.sha256(content).hexdigest() == sha256:
        return content
    log.error(
        "staged file does not match its checksum: not used",
        extra={"staged_id": staged_id, "expected_size": size, "actual_size": len(content)},
    )
    raise DocumentCorrupted()


async def discard(conn: asyncpg.Connection, staged_id: str) -> None:
    await conn.execute("DELETE FROM staged_attachments WHERE id = $1", staged_id)


async def usage(
    conn: asyncpg.Connection, owner_user_id: str, now: datetime, *, except_id: str
) -> tuple[int, int]:
    """(files, bytes) ``owner_user_id`` keeps staged at ``now``, ``except_id`` left out (a file
    staged again under the same id replaces itself)."""
    row = await conn.fetchrow(
        "SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes FROM staged_attachments"
        " WHERE owner_user_id = $1 AND expires_at > $2 AND id <> $3::uuid",
        owner_user_id,
        now,
        except_id,
    )
    return int(row["files"]), int(row["bytes"])


async def discard_owned(conn: asyncpg.Connection, owner_user_id: str, ids: list[str]) -> None:
    await conn.execute(
        "DELETE FROM staged_attachments WHERE owner_user_id = $1 AND id = ANY($2::uuid[])",
        owner_user_id,
        ids,
    )


def _staged(row: asyncpg.Record) -> StagedAttachment:
    return StagedAttachment(
        id=str(row["id"]),
        owner_user_id=row["owner_user_id"],
        filename=row["filename"],
        media_type=row["media_type"],
        size=row["size"],
        sha256=row["sha256"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        cpp_id=row["cpp_id"],
    )
