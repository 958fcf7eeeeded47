"""Membership repository: who belongs to which structure, with which role and services."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from chorus_structures.domain.access import Role
from chorus_structures.domain.membership import Member
from chorus_structures.domain.spaces import AccessMode, Space


@dataclass(frozen=True)
class MembershipRow:
    structure_id: UUID
    role: Role
    # Services a simple user is attached to; empty means the whole structure.
    service_ids: frozenset[UUID] = frozenset()
    # Validated space subscriptions of a simple user.
    subscriptions: dict[Space, AccessMode] = field(default_factory=dict)


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


_MEMBER_COLUMNS = """
    m.user_id, m.role, m.created_at,
    coalesce((SELECT array_agg(ms.service_id ORDER BY ms.service_id) FROM membership_services ms
               WHERE ms.structure_id = m.structure_id AND ms.user_id = m.user_id),
             '{}') AS service_ids
"""

# Principal first, then secondary managers, then users; oldest first within a role.
_ROLE_ORDER = """
    CASE m.role WHEN 'GESTIONNAIRE_PRINCIPAL' THEN 0 WHEN 'GESTIONNAIRE_SECONDAIRE' THEN 1
                ELSE 2 END
"""


def _member(row: asyncpg.Record) -> Member:
    return Member(
        user_id=row["user_id"],
        role=Role(row["role"]),
        service_ids=frozenset(row["service_ids"]),
        since=row["created_at"],
    )


async def get_member(conn: asyncpg.Connection, structure_id: UUID, user_id: UUID) -> Member | None:
    row = await conn.fetchrow(
        f"SELECT {_MEMBER_COLUMNS} FROM memberships m"  # noqa: S608 - constant columns
        " WHERE m.structure_id = $1 AND m.user_id = $2",
        structure_id,
        user_id,
    )
    return _member(row) if row else None


async def role_of(conn: asyncpg.Connection, structure_id: UUID, user_id: UUID) -> Role | None:
    """The user's role in the structure; None for a non-member."""
    role = await conn.fetchval(
        "SELECT role FROM memberships WHERE structure_id = $1 AND user_id = $2",
        structure_id,
        user_id,
    )
    return Role(role) if role else None


async def members_of(conn: asyncpg.Connection, structure_id: UUID) -> list[Member]:
    rows = await conn.fetch(
        f"SELECT {_MEMBER_COLUMNS} FROM memberships m WHERE m.structure_id = $1"  # noqa: S608
        f" ORDER BY {_ROLE_ORDER}, m.created_at, m.user_id",
        structure_id,
    )
    return [_member(row) for row in rows]


async def manager_ids(conn: asyncpg.Connection, structure_id: UUID) -> list[UUID]:
    """The structure's managers, principal first."""
    rows = await conn.fetch(
        "SELECT m.user_id FROM memberships m WHERE m.structure_id = $1"  # noqa: S608 - constant
        f" AND m.role <> 'UTILISATEUR' ORDER BY {_ROLE_ORDER}, m.created_at",
        structure_id,
    )
    return [row["user_id"] for row in rows]


async def set_role(conn: asyncpg.Connection, structure_id: UUID, user_id: UUID, role: Role) -> None:
    """Changes the member's role (the database refuses a second principal manager, and, at
    commit, a structure left without one)."""
    await conn.execute(
        "UPDATE memberships SET role = $3, updated_at = now()"
        " WHERE structure_id = $1 AND user_id = $2",
        structure_id,
        user_id,
        role.value,
    )


async def set_services(
    conn: asyncpg.Connection, structure_id: UUID, user_id: UUID, service_ids: Iterable[UUID]
) -> None:
    """Limits the member to ``service_ids`` (none: the whole structure)."""
    await conn.execute(
        "DELETE FROM membership_services WHERE structure_id = $1 AND user_id = $2",
        structure_id,
        user_id,
    )
    await conn.executemany(
        "INSERT INTO membership_services (structure_id, user_id, service_id) VALUES ($1, $2, $3)",
        [(structure_id, user_id, service_id) for service_id in service_ids],
    )


async def remove_member(conn: asyncpg.Connection, structure_id: UUID, user_id: UUID) -> None:
    """Ends the membership with its service attachments and subscriptions."""
    await conn.execute(
        "DELETE FROM memberships WHERE structure_id = $1 AND user_id = $2", structure_id, user_id
    )


async def structures_with_principal(
    conn: asyncpg.Connection, structure_ids: Iterable[UUID]
) -> frozenset[UUID]:
    """Which of these structures have a principal manager (served by the partial unique
    index on principal memberships)."""
    rows = await conn.fetch(
        "SELECT structure_id FROM memberships"
        " WHERE structure_id = ANY($1::uuid[]) AND role = 'GESTIONNAIRE_PRINCIPAL'",
        list(structure_ids),
    )
    return frozenset(row["structure_id"] for row in rows)
