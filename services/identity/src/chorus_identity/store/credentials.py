"""Repository of account secrets (table ``credentials``): argon2id hashes only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


async def insert_credentials(
    conn: asyncpg.Connection,
    *,
    user_id: str,
    password_hash: str,
    secret_question: str,
    secret_answer_hash: str,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO credentials (user_id, password_hash, password_changed_at, secret_question,"
        " secret_answer_hash, updated_at) VALUES ($1, $2, $3, $4, $5, $3)",
        user_id,
        password_hash,
        now,
        secret_question,
        secret_answer_hash,
    )


async def get_password_hash(conn: asyncpg.Connection, user_id: str) -> str | None:
    return await conn.fetchval("SELECT password_hash FROM credentials WHERE user_id = $1", user_id)


async def replace_password_hash(
    conn: asyncpg.Connection, user_id: str, *, old_hash: str, new_hash: str, now: datetime
) -> None:
    """Swaps in a rehash of the same password, unless the password changed in the meantime."""
    await conn.execute(
        "UPDATE credentials SET password_hash = $3, updated_at = $4"
        " WHERE user_id = $1 AND password_hash = $2",
        user_id,
        old_hash,
        new_hash,
        now,
    )


@dataclass(frozen=True)
class StoredSecrets:
    password_hash: str
    secret_question: str
    secret_answer_hash: str

    def __repr__(self) -> str:  # hashes stay out of logs and tracebacks
        return "StoredSecrets(...)"


async def get_secrets(conn: asyncpg.Connection, user_id: str) -> StoredSecrets | None:
    row = await conn.fetchrow(
        "SELECT password_hash, secret_question, secret_answer_hash FROM credentials"
        " WHERE user_id = $1",
        user_id,
    )
    return None if row is None else StoredSecrets(**dict(row))


async def set_password_hash(
    conn: asyncpg.Connection, user_id: str, password_hash: str, now: datetime
) -> None:
    """A new password (change or reset)."""
    await conn.execute(
        "UPDATE credentials SET password_hash = $2, password_changed_at = $3, updated_at = $3"
        " WHERE user_id = $1",
        user_id,
        password_hash,
        now,
    )
