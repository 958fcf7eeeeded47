"""Structure members (structure id, user id → role, services), fed by structures' events.

Every write is an idempotent upsert or delete, so a redelivered event changes nothing.
"""

from __future__ import annotations

import asyncpg

from chorus_notifications.domain.members import Member


async def upsert(
    conn: asyncpg.Connection,
    *,
    structure_id: str,
    user_id: str,
    role: str,
    service_ids: list[str] | None = None,
    service_codes: list[str] | None = None,
) -> None:
    """Adds the member or sets their role (and services, with their codes, when given)."""
    await conn.execute(
        """INSERT INTO structure_members (structure_id, user_id, role, service_ids, service_codes)
           VALUES ($1, $2, $3, coalesce($4::text[], '{}'), coalesce($5::text[], '{}'))
           ON CONFLICT (structure_id, user_id) DO UPDATE
              SET role = EXCLUDED.role,
                  service_ids = coalesce($4::text[], structure_members.service_ids),
                  service_codes = CASE WHEN $4::text[] IS NULL
                                       THEN structure_members.service_codes
                                       ELSE coalesce($5::text[], '{}') END,
                  updated_at = now()""",
        structure_id,
        user_id,
        role,
        service_ids,
        service_codes,
    )


async def set_services(
    conn: asyncpg.Connection,
    *,
    structure_id: str,
    user_id: str,
    service_ids: list[str],
    service_codes: list[str],
) -> None:
    await conn.execute(
        """UPDATE structure_members SET service_ids = $3, service_codes = $4, updated_at = now()
            WHERE structure_id = $1 AND user_id = $2""",
        structure_id,
        user_id,
        service_ids,
        service_codes,
    )


async def remove(conn: asyncpg.Connection, *, structure_id: str, user_id: str) -> None:
    await conn.execute(
        "DELETE FROM structure_members WHERE structure_id = $1 AND user_id = $2",
        structure_id,
        user_id,
    )


async def of_structure(conn: asyncpg.Connection, structure_id: str) -> list[Member]:
    """The structure's members, in a stable order (by user id)."""
    rows = await conn.fetch(
        """SELECT user_id, role, service_ids, service_codes FROM structure_members
            WHERE structure_id = $1 ORDER BY user_id""",
        structure_id,
    )
    return [
        Member(
            user_id=str(r["user_id"]),
            role=r["role"],
            service_ids=tuple(r["service_ids"]),
            service_codes=tuple(r["service_codes"]),
        )
        for r in rows
    ]


async def is_member(conn: asyncpg.Connection, *, structure_id: str, user_id: str) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM structure_members WHERE structure_id = $1 AND user_id = $2",
        structure_id,
        user_id,
    )
    return found is not None
