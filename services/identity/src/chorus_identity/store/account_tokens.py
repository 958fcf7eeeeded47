"""Repository of single-use account links (table ``account_tokens``), stored as SHA-256."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg


class TokenPurpose(StrEnum):
    ACTIVATION = "ACTIVATION"


_USABLE = (
    "SELECT id, user_id, expires_at FROM account_tokens"
    " WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL"
    " AND invalidated_at IS NULL AND expires_at > $3"
)


@dataclass(frozen=True)
class UsableToken:
    id: str
    user_id: str
    expires_at: datetime


async def insert_token(
    conn: asyncpg.Connection,
    *,
    user_id: str,
    purpose: TokenPurpose,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO account_tokens (id, user_id, purpose, token_hash, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        uuid.uuid4(),
        user_id,
        purpose.value,
        token_hash,
        now,
        expires_at,
    )


async def find_usable(
    conn: asyncpg.Connection,
    *,
    purpose: TokenPurpose,
    token_hash: str,
    now: datetime,
    for_update: bool = False,
) -> UsableToken | None:
    """The token with this hash if it is unused, not superseded and not expired."""
    row = await conn.fetchrow(
        _USABLE + " FOR UPDATE" if for_update else _USABLE,
        token_hash,
        purpose.value,
        now,
    )
    if row is None:
        return None
    return UsableToken(id=str(row["id"]), user_id=str(row["user_id"]), expires_at=row["expires_at"])


async def mark_used(conn: asyncpg.Connection, token_id: str, now: datetime) -> None:
    await conn.execute("UPDATE account_tokens SET used_at = $2 WHERE id = $1", token_id, now)


async def invalidate_outstanding(
    conn: asyncpg.Connection, *, user_id: str, purpose: TokenPurpose, now: datetime
) -> int:
    """Supersedes every still-open token of ``purpose`` for the user; returns how many."""
    status = await conn.execute(
        "UPDATE account_tokens SET invalidated_at = $3"
        " WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND invalidated_at IS NULL",
        user_id,
        purpose.value,
        now,
    )
    return int(status.split()[-1])
