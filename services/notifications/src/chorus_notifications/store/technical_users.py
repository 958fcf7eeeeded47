"""Technical accounts known to notifications (table ``technical_users``), fed by identity's
``TechnicalAccountActivated``; idempotent upsert."""

from __future__ import annotations

import asyncpg


async def upsert(conn: asyncpg.Connection, *, user_id: str, structure_id: str, login: str) -> None:
    await conn.execute(
        "INSERT INTO technical_users (user_id, structure_id, login) VALUES ($1, $2, $3)"
        " ON CONFLICT (user_id) DO UPDATE SET structure_id = EXCLUDED.structure_id,"
        " login = EXCLUDED.login",
        user_id,
        structure_id,
        login,
    )


async def login_of(conn: asyncpg.Connection, user_id: str) -> str | None:
    """The login of the technical account ``user_id``; None for anyone else."""
    return await conn.fetchval("SELECT login FROM technical_users WHERE user_id = $1", user_id)
