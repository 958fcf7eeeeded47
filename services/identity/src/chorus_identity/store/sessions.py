"""Repository of login sessions and their refresh tokens (``sessions``, ``refresh_tokens``)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from chorus_identity.domain.accounts import UserStatus
from chorus_identity.domain.sessions import LiveSession, PresentedRefreshToken, RevokeReason

_PRESENTED = (
    "SELECT rt.session_id, s.user_id, rt.generation, rt.expires_at, rt.spent_at,"
    " s.revoked_at, u.status"
    " FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id"
    " JOIN users u ON u.id = s.user_id WHERE rt.token_hash = $1"
)
_IP_MAX = 64
_USER_AGENT_MAX = 512


async def insert_session(
    conn: asyncpg.Connection, *, user_id: str, ip_address: str, user_agent: str, now: datetime
) -> str:
    """Opens a session (generation 1); returns its id."""
    session_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO sessions (id, user_id, ip_address, user_agent, created_at, last_used_at)"
        " VALUES ($1, $2, $3, $4, $5, $5)",
        session_id,
        user_id,
        ip_address[:_IP_MAX],
        user_agent[:_USER_AGENT_MAX],
        now,
    )
    return str(session_id)


async def insert_refresh_token(
    conn: asyncpg.Connection,
    *,
    session_id: str,
    generation: int,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        token_hash,
        session_id,
        generation,
        now,
        expires_at,
    )


async def find_refresh_token(
    conn: asyncpg.Connection, token_hash: str, *, for_update: bool = False
) -> PresentedRefreshToken | None:
    """The stored token with this hash, its session and owner's status.

    ``for_update`` locks the session row, so concurrent refreshes of one session queue up
    and the second one sees the token already spent.
    """
    row = await conn.fetchrow(
        _PRESENTED + " FOR UPDATE OF s, rt" if for_update else _PRESENTED, token_hash
    )
    if row is None:
        return None
    return PresentedRefreshToken(
        session_id=str(row["session_id"]),
        user_id=str(row["user_id"]),
        generation=row["generation"],
        expires_at=row["expires_at"],
        spent_at=row["spent_at"],
        session_revoked_at=row["revoked_at"],
        user_status=UserStatus(row["status"]),
    )


async def rotate(
    conn: asyncpg.Connection,
    *,
    spent_hash: str,
    session_id: str,
    next_generation: int,
    next_hash: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Spends the presented token and stores its successor in the same session."""
    await conn.execute(
        "UPDATE refresh_tokens SET spent_at = $2 WHERE token_hash = $1", spent_hash, now
    )
    await insert_refresh_token(
        conn,
        session_id=session_id,
        generation=next_generation,
        token_hash=next_hash,
        now=now,
        expires_at=expires_at,
    )
    await conn.execute(
        "UPDATE sessions SET refresh_generation = $2, last_used_at = $3 WHERE id = $1",
        session_id,
        next_generation,
        now,
    )


async def revoke_session(
    conn: asyncpg.Connection, session_id: str, *, reason: RevokeReason, now: datetime
) -> bool:
    """Revokes the session unless it already is; True when this call revoked it."""
    status = await conn.execute(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3"
        " WHERE id = $1 AND revoked_at IS NULL",
        session_id,
        now,
        reason.value,
    )
    return status.endswith(" 1")


_LIVE = (
    "SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.ip_address, s.user_agent"
    " FROM sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.revoked_at IS NULL AND u.status = 'ACTIF'"
)


def _live(row: asyncpg.Record) -> LiveSession:
    return LiveSession(
        id=str(row["id"]),
        user_id=str(row["user_id"]),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        ip_address=row["ip_address"],
        user_agent=row["user_agent"],
    )


async def get_live_session(
    conn: asyncpg.Connection, session_id: str, user_id: str
) -> LiveSession | None:
    """The session if it is the user's, not revoked, and the user is active."""
    row = await conn.fetchrow(_LIVE + " AND s.id = $1 AND s.user_id = $2", session_id, user_id)
    return None if row is None else _live(row)


async def list_live_sessions(
    conn: asyncpg.Connection, user_id: str, *, refreshable_after: datetime
) -> list[LiveSession]:
    """The user's sessions not revoked whose refresh token has not expired, newest first."""
    rows = await conn.fetch(
        "SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.ip_address, s.user_agent"
        " FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.revoked_at IS NULL AND u.status = 'ACTIF' AND s.user_id = $1"
        " AND EXISTS (SELECT 1 FROM refresh_tokens rt WHERE rt.session_id = s.id"
        " AND rt.spent_at IS NULL AND rt.expires_at > $2) ORDER BY s.last_used_at DESC",
        user_id,
        refreshable_after,
    )
    return [_live(row) for row in rows]


async def revoke_user_sessions(
    conn: asyncpg.Connection,
    user_id: str,
    *,
    reason: RevokeReason,
    now: datetime,
    except_session: str | None = None,
) -> list[str]:
    """Revokes every live session of the user (but ``except_session``); returns their ids."""
    rows = await conn.fetch(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3"
        " WHERE user_id = $1 AND revoked_at IS NULL AND ($4::uuid IS NULL OR id <> $4::uuid)"
        " RETURNING id",
        user_id,
        now,
        reason.value,
        except_session,
    )
    return sorted(str(row["id"]) for row in rows)


async def list_revoked(
    conn: asyncpg.Connection,
    *,
    revoked_since: datetime,
    clients_revoked_since: datetime | None = None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[str, datetime, bool]]:
    """(id, revoked_at, is_api_client) of the sessions revoked at or after ``revoked_since``
    and of the API applications revoked at or after ``clients_revoked_since`` (their id is
    the "sid" of their tokens; default: ``revoked_since``), in (revoked_at, id) order,
    starting after the ``after`` key (keyset paging)."""
    after_at, after_id = after if after is not None else (None, None)
    rows = await conn.fetch(
        "SELECT id, revoked_at, is_client FROM ("
        " (SELECT id, revoked_at, false AS is_client FROM sessions"
        "  WHERE revoked_at IS NOT NULL AND revoked_at >= $1"
        "  AND ($2::timestamptz IS NULL OR (revoked_at, id) > ($2::timestamptz, $3::uuid))"
        "  ORDER BY revoked_at, id LIMIT $4)"
        " UNION ALL"
        " (SELECT id, revoked_at, true AS is_client FROM api_clients"
        "  WHERE revoked_at IS NOT NULL AND revoked_at >= $5"
        "  AND ($2::timestamptz IS NULL OR (revoked_at, id) > ($2::timestamptz, $3::uuid))"
        "  ORDER BY revoked_at, id LIMIT $4)"
        ") AS revoked ORDER BY revoked_at, id LIMIT $4",
        revoked_since,
        after_at,
        after_id,
        limit,
        revoked_since if clients_revoked_since is None else clients_revoked_since,
    )
    return [(str(row["id"]), row["revoked_at"], row["is_client"]) for row in rows]
