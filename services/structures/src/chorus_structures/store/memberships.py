"""Membership repository: who belongs to which structure, with which role and services."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from chorus_structures.domain.access import Role
from chorus_structures.domain.spaces import AccessMode, Space


@dataclass(frozen=True)
class MembershipRow:
    structure_id: UUID
    role: Role
    # Services a simple user is attached to; empty means the whole structure.
    service_ids: frozenset[UUID]
    # Validated space subscriptions of a simple user.
    subscriptions: dict[Space, AccessMode]


async def add_member(
    conn: asyncpg.Connection, structure_id: UUID, user_id: UUID, role: Role
) -> None:
    """Adds the user to the structure (the database refuses a second principal manager)."""
    await conn.execute(
        "INSERT INTO memberships (structure_id, user_id, role) VALUES ($1, $2, $3)",
        structure_id,
        user_id,
        role.value,
    )


async def memberships_of_user(conn: asyncpg.Connection, user_id: UUID) -> list[MembershipRow]:
    """The user's memberships with their service attachments and validated subscriptions."""
    rows = await conn.fetch(
        """
        SELECT m.structure_id, m.role,
               coalesce((SELECT array_agg(ms.service_id) FROM membership_services ms
                          WHERE ms.structure_id = m.structure_id AND ms.user_id = m.user_id),
                        '{}') AS service_ids,
               coalesce((SELECT array_agg(su.space || ':' || su.mode) FROM subscriptions su
                          WHERE su.structure_id = m.structure_id AND su.user_id = m.user_id
                            AND su.status = 'VALIDEE'),
                        '{}') AS subscriptions
        FROM memberships m JOIN structures s ON s.id = m.structure_id
        WHERE m.user_id = $1
        ORDER BY s.sort_key, s.id
        """,
        user_id,
    )
    return [
        MembershipRow(
            structure_id=row["structure_id"],
            role=Role(row["role"]),
            service_ids=frozenset(row["service_ids"]),
            subscriptions={
                Space(space): AccessMode(mode)
                for space, _, mode in (s.partition(":") for s in row["subscriptions"])
            },
        )
        for row in rows
    ]
