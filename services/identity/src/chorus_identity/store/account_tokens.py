"""Repository of single-use account links (table ``account_tokens``), stored as SHA-256."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg


class TokenPurpose(StrEnum):
    ACTIVATION = "ACTIVATION"
    PASSWORD_RESET = "PASSWORD_RESET"
    CONTACT_EMAIL = "CONTACT_EMAIL"
    LOGIN_EMAIL = "LOGIN_EMAIL"


_USABLE = (
    "SELECT id, user_id, expires_at, purpose, new_email FROM account_tokens"
    " WHERE token_hash = $1 AND purpose = ANY($2::text[]) AND used_at IS NULL"
    " AND invalidated_at IS NULL AND expires_at > $3"
)


@dataclass(frozen=True)
class UsableToken:
    id: str
    user_id: str
    expires_at: datetime
    purpose: TokenPurpose = TokenPurpose.ACTIVATION
    new_email: str | None = None


async def insert_token(
    conn: asyncpg.Connection,
    *,
    user_id: str,
    purpose: TokenPurpose,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
    new_email: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO account_tokens (id, user_id, purpose, token_hash, created_at, expires_at,"
        " new_email) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        uuid.uuid4(),
        user_id,
        purpose.value,
        token_hash,
        now,
        expires_at,
        new_email,
    )


async def find_usable(
    conn: asyncpg.Connection,
    *,
    purpose: TokenPurpose | tuple[TokenPurpose, ...],
    token_hash: str,
    now: datetime,
    for_update: bool = False,
) -> UsableToken | None:
    """The token with this hash (and one of the purposes) if it is unused, not superseded and
    not expired."""
    purposes = (purpose,) if isinstance(purpose, TokenPurpose) else purpose
    row = await conn.fetchrow(
        _USABLE + " FOR UPDATE" if for_update else _USABLE,
        token_hash,
        [p.value for p in purposes],
        now,
    )
    if row is None:
        return None
    return UsableToken(
        id=str(row["id"]),
        user_id=str(row["user_id"]),
        expires_at=row["expires_at"],
        purpose=TokenPurpose(row["purpose"]),
        new_email=row["new_email"],
    )


async def mark_used(conn: asyncpg.Connection, token_id: str, now: datetime) -> None:
    await conn.execute("UPDATE account_tokens SET used_at = $2 WHERE id = $1", token_id, now)


async def invalidate_outstanding(
    conn: asyncpg.Connection,
    *,
    user_id: str,
    purpose: TokenPurpose | tuple[TokenPurpose, ...],
    now: datetime,
) -> int:
    """Supersedes every still-open token of ``purpose`` for the user; returns how many."""
    purposes = (purpose,) if isinstance(purpose, TokenPurpose) else purpose
    status = await conn.execute(
        "UPDATE account_tokens SET invalidated_at = $3 WHERE user_id = $1"
        " AND purpose = ANY($2::text[]) AND used_at IS NULL AND invalidated_at IS NULL",
        user_id,
        [p.value for p in purposes],
        now,
    )
    return int(status.split()[-1])
