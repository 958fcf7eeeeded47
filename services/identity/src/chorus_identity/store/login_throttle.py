"""Repository of failed-login counts per login e-mail (table ``login_throttle``)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from chorus_identity.domain.lockout import ThrottleState


async def get(
    conn: asyncpg.Connection, login_email: str, *, for_update: bool = False
) -> ThrottleState:
    """The address's state (zero failures when it has none); ``for_update`` locks the row."""
    query = "SELECT failures, locked_until FROM login_throttle WHERE login_email = $1"
    row = await conn.fetchrow(query + " FOR UPDATE" if for_update else query, login_email)
    if row is None:
        return ThrottleState()
    return ThrottleState(failures=row["failures"], locked_until=row["locked_until"])


async def lock_address(conn: asyncpg.Connection, login_email: str) -> None:
    """Serialises failure counting for one address (a row may not exist yet)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", "login:" + login_email)


async def save(
    conn: asyncpg.Connection, login_email: str, state: ThrottleState, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO login_throttle (login_email, failures, last_failure_at, locked_until)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (login_email) DO UPDATE"
        " SET failures = EXCLUDED.failures, last_failure_at = EXCLUDED.last_failure_at,"
        " locked_until = EXCLUDED.locked_until",
        login_email,
        state.failures,
        now,
        state.locked_until,
    )


async def clear(conn: asyncpg.Connection, login_email: str) -> None:
    """Forgets the failures (after a success, a reset, or an admin re-enabling the account)."""
    await conn.execute("DELETE FROM login_throttle WHERE login_email = $1", login_email)
