"""Repository of API applications (table ``api_clients``)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from chorus_identity.domain.accounts import UserStatus
from chorus_identity.domain.api_clients import ApiClient

_SELECT = (
    "SELECT id, client_id, owner_id, name, created_at, revoked_at, last_used_at FROM api_clients"
)
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per application (cheap on the token path)."""


def _client(row: asyncpg.Record) -> ApiClient:
    return ApiClient(
        id=str(row["id"]),
        client_id=str(row["client_id"]),
        owner_id=str(row["owner_id"]),
        name=row["name"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


async def lock_owner(conn: asyncpg.Connection, owner_id: str) -> None:
    """Serialises creations by one owner (the live-applications limit holds under races)."""
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", owner_id)


async def count_live(conn: asyncpg.Connection, owner_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM api_clients WHERE owner_id = $1 AND revoked_at IS NULL", owner_id
    )


async def insert(
    conn: asyncpg.Connection, *, owner_id: str, name: str, secret_sha256: str, now: datetime
) -> ApiClient:
    row = await conn.fetchrow(
        "INSERT INTO api_clients (id, client_id, owner_id, name, secret_sha256, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " RETURNING id, client_id, owner_id, name, created_at, revoked_at, last_used_at",
        uuid.uuid4(),
        uuid.uuid4(),
        owner_id,
        name,
        secret_sha256,
        now,
    )
    return _client(row)


async def list_of_owner(conn: asyncpg.Connection, owner_id: str) -> list[ApiClient]:
    """The owner's applications, newest first."""
    rows = await conn.fetch(
        _SELECT + " WHERE owner_id = $1 ORDER BY created_at DESC, id",
        owner_id,
    )
    return [_client(row) for row in rows]


async def get_of_owner(
    conn: asyncpg.Connection, application_id: str, owner_id: str, *, for_update: bool = False
) -> ApiClient | None:
    query = _SELECT + " WHERE id = $1 AND owner_id = $2"
    row = await conn.fetchrow(
        query + " FOR UPDATE" if for_update else query, application_id, owner_id
    )
    return None if row is None else _client(row)


async def revoke(conn: asyncpg.Connection, application_id: str, now: datetime) -> ApiClient:
    row = await conn.fetchrow(
        "UPDATE api_clients SET revoked_at = $2 WHERE id = $1"
        " RETURNING id, client_id, owner_id, name, created_at, revoked_at, last_used_at",
        application_id,
        now,
    )
    return _client(row)


async def find_for_token(
    conn: asyncpg.Connection, client_id: str
) -> tuple[ApiClient, str, UserStatus] | None:
    """The application with this ``client_id``, its stored secret hash and its owner's
    status."""
    row = await conn.fetchrow(
        "SELECT a.id, a.client_id, a.owner_id, a.name, a.created_at, a.revoked_at,"
        " a.last_used_at, a.secret_sha256, u.status FROM api_clients a"
        " JOIN users u ON u.id = a.owner_id WHERE a.client_id = $1",
        client_id,
    )
    if row is None:
        return None
    return _client(row), row["secret_sha256"], UserStatus(row["status"])


async def touch(conn: asyncpg.Connection, application_id: str, now: datetime) -> None:
    """Records a use, unless one was recorded less than a minute ago (no write then)."""
    await conn.execute(
        "UPDATE api_clients SET last_used_at = $2 WHERE id = $1"
        " AND (last_used_at IS NULL OR last_used_at <= $3)",
        application_id,
        now,
        now - LAST_USED_RESOLUTION,
    )


async def revoke_all_of_owner(
    conn: asyncpg.Connection, owner_id: str, now: datetime
) -> list[ApiClient]:
    """Revokes every unrevoked application of the owner; those this call revoked."""
    rows = await conn.fetch(
        "UPDATE api_clients SET revoked_at = $2 WHERE owner_id = $1 AND revoked_at IS NULL"
        " RETURNING id, client_id, owner_id, name, created_at, revoked_at, last_used_at",
        owner_id,
        now,
    )
    return [_client(row) for row in rows]
