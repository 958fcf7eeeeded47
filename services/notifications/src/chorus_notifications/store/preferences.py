"""E-mail preferences repository (user id, kind → enabled)."""

from __future__ import annotations

import asyncpg


async def of_user(conn: asyncpg.Connection, user_id: str) -> dict[str, bool]:
    rows = await conn.fetch(
        "SELECT kind, enabled FROM email_preferences WHERE user_id = $1", user_id
    )
    return {row["kind"]: row["enabled"] for row in rows}


async def set_many(conn: asyncpg.Connection, user_id: str, settings: dict[str, bool]) -> None:
    await conn.executemany(
        """INSERT INTO email_preferences (user_id, kind, enabled) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, kind) DO UPDATE
              SET enabled = EXCLUDED.enabled, updated_at = now()""",
        [(user_id, kind, enabled) for kind, enabled in settings.items()],
    )


async def email_enabled(conn: asyncpg.Connection, user_id: str, kind: str) -> bool:
    enabled = await conn.fetchval(
        "SELECT enabled FROM email_preferences WHERE user_id = $1 AND kind = $2", user_id, kind
    )
    return enabled is not False
