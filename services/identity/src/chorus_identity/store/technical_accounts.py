"""Repository of technical accounts (table ``technical_accounts``; their ``users`` rows are
in ``store/users.py``, their sessions in ``store/sessions.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from chorus_identity.domain.technical_accounts import ExpiryReminder, TechnicalAccount

_SELECT = (
    "SELECT t.user_id, t.structure_id, t.login, t.session_id, t.created_at, t.created_by,"
    " t.expires_at, t.revoked_at FROM technical_accounts t"
)


def _account(row: asyncpg.Record) -> TechnicalAccount:
    return TechnicalAccount(
        id=str(row["user_id"]),
        structure_id=str(row["structure_id"]),
        login=row["login"],
        session_id=str(row["session_id"]),
        created_at=row["created_at"],
        created_by=str(row["created_by"]),
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


async def next_number(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT nextval('technical_account_numbers')")


async def login_taken(conn: asyncpg.Connection, login: str) -> bool:
    """Whether a technical account or any users row has this login (any case)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM technical_accounts WHERE lower(login) = lower($1))"
            " OR EXISTS (SELECT 1 FROM users WHERE lower(login_email) = lower($1))",
            login,
        )
    )


async def lock_structure(conn: asyncpg.Connection, structure_id: str) -> None:
    """Serialises activations for one structure (the live-accounts limit holds under races):
    a transaction-scoped advisory lock on the structure id."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('technical_accounts:' || $1, 0))",
        structure_id,
    )


async def count_live(conn: asyncpg.Connection, structure_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM technical_accounts WHERE structure_id = $1 AND revoked_at IS NULL",
        structure_id,
    )


async def insert(
    conn: asyncpg.Connection,
    *,
    user_id: str,
    structure_id: str,
    login: str,
    password_sha256: str,
    session_id: str,
    created_by: str,
    now: datetime,
    expires_at: datetime,
) -> TechnicalAccount:
    row = await conn.fetchrow(
        "INSERT INTO technical_accounts AS t (user_id, structure_id, login, password_sha256,"
        " session_id, created_at, created_by, password_changed_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8)"
        " RETURNING t.user_id, t.structure_id, t.login, t.session_id, t.created_at, t.created_by,"
        " t.expires_at, t.revoked_at",
        user_id,
        structure_id,
        login,
        password_sha256,
        session_id,
        now,
        created_by,
        expires_at,
    )
    return _account(row)


async def list_of_structure(conn: asyncpg.Connection, structure_id: str) -> list[TechnicalAccount]:
    """The structure's accounts, newest first."""
    rows = await conn.fetch(
        _SELECT + " WHERE t.structure_id = $1 ORDER BY t.created_at DESC, t.user_id",
        structure_id,
    )
    return [_account(row) for row in rows]


async def get(
    conn: asyncpg.Connection, account_id: str, *, for_update: bool = False
) -> TechnicalAccount | None:
    query = _SELECT + " WHERE t.user_id = $1"
    row = await conn.fetchrow(query + " FOR UPDATE" if for_update else query, account_id)
    return None if row is None else _account(row)


async def find_for_login(
    conn: asyncpg.Connection, login: str
) -> tuple[TechnicalAccount, str, bool] | None:
    """The account with this login (any case), its stored password hash, and whether its
    users row is active."""
    row = await conn.fetchrow(
        "SELECT t.user_id, t.structure_id, t.login, t.session_id, t.created_at, t.created_by,"
        " t.expires_at, t.revoked_at, t.password_sha256, u.status FROM technical_accounts t"
        " JOIN users u ON u.id = t.user_id WHERE lower(t.login) = lower($1)",
        login,
    )
    if row is None:
        return None
    return _account(row), row["password_sha256"], row["status"] == "ACTIF"


async def set_password(
    conn: asyncpg.Connection,
    account_id: str,
    *,
    password_sha256: str,
    session_id: str,
    now: datetime,
    expires_at: datetime,
) -> TechnicalAccount:
    """A renewed password: new hash, session and expiry; the reminders start again."""
    row = await conn.fetchrow(
        "UPDATE technical_accounts AS t SET password_sha256 = $2, session_id = $3,"
        " password_changed_at = $4, expires_at = $5, reminded_30_at = NULL,"
        " reminded_7_at = NULL WHERE t.user_id = $1"
        " RETURNING t.user_id, t.structure_id, t.login, t.session_id, t.created_at, t.created_by,"
        " t.expires_at, t.revoked_at",
        account_id,
        password_sha256,
        session_id,
        now,
        expires_at,
    )
    return _account(row)


async def revoke(
    conn: asyncpg.Connection, account_id: str, *, by: str, now: datetime
) -> TechnicalAccount:
    row = await conn.fetchrow(
        "UPDATE technical_accounts AS t SET revoked_at = $2, revoked_by = $3"
        " WHERE t.user_id = $1"
        " RETURNING t.user_id, t.structure_id, t.login, t.session_id, t.created_at, t.created_by,"
        " t.expires_at, t.revoked_at",
        account_id,
        now,
        by,
    )
    return _account(row)


_CLAIM_REMINDERS = {
    30: (
        "UPDATE technical_accounts AS t SET reminded_30_at = $1"
        " WHERE t.user_id IN (SELECT user_id FROM technical_accounts"
        " WHERE revoked_at IS NULL AND reminded_7_at IS NULL AND reminded_30_at IS NULL"
        " AND expires_at > $1 AND expires_at <= $2"
        " AND ($3::timestamptz IS NULL OR expires_at > $3::timestamptz)"
        " ORDER BY expires_at LIMIT $4 FOR UPDATE SKIP LOCKED)"
        " RETURNING t.user_id, t.structure_id, t.login, t.expires_at"
    ),
    7: (
        "UPDATE technical_accounts AS t SET reminded_7_at = $1,"
        " reminded_30_at = coalesce(t.reminded_30_at, $1)"
        " WHERE t.user_id IN (SELECT user_id FROM technical_accounts"
        " WHERE revoked_at IS NULL AND reminded_7_at IS NULL"
        " AND expires_at > $1 AND expires_at <= $2"
        " AND ($3::timestamptz IS NULL OR expires_at > $3::timestamptz)"
        " ORDER BY expires_at LIMIT $4 FOR UPDATE SKIP LOCKED)"
        " RETURNING t.user_id, t.structure_id, t.login, t.expires_at"
    ),
}
"""The claim of each reminder threshold (7 also marks 30 done, so it never follows)."""


async def claim_reminders(
    conn: asyncpg.Connection, *, days: int, now: datetime, later_threshold: int | None, limit: int
) -> list[ExpiryReminder]:
    """Marks, and returns, the live accounts whose password expires within ``days`` days and
    that were not reminded at that threshold yet (nor at a closer one). The rows are claimed
    with ``FOR UPDATE SKIP LOCKED`` and the flag set in the caller's transaction, so replicas
    scanning together remind each account once per threshold.

    ``later_threshold`` (7 for the 30-day reminder): an account already within that many days
    gets that reminder only, not this one too. Reaching the 7-day reminder also marks the
    30-day one as done (so it is never sent after it).
    """
    query = _CLAIM_REMINDERS.get(days)
    if query is None:
        raise ValueError(f"no reminder at {days} days")
    rows = await conn.fetch(
        query,
        now,
        now + timedelta(days=days),
        None if later_threshold is None else now + timedelta(days=later_threshold),
        limit,
    )
    return [
        ExpiryReminder(
            account_id=str(row["user_id"]),
            structure_id=str(row["structure_id"]),
            login=row["login"],
            expires_at=row["expires_at"],
            days_left=days,
        )
        for row in rows
    ]
