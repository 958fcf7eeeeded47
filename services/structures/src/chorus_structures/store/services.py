"""Repository of structures' services (departments)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg

from chorus_structures.domain.structure import NewService, StructureService


async def add_services(
    conn: asyncpg.Connection, structure_id: UUID, services: Sequence[NewService]
) -> None:
    """Adds the services whose code the structure does not have yet."""
    await conn.executemany(
        """
        INSERT INTO structure_services (id, structure_id, code, name, engagement_required)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (structure_id, code) DO NOTHING
        """,
        [(uuid4(), structure_id, s.code, s.name, s.engagement_required) for s in services],
    )


async def services_of(
    conn: asyncpg.Connection, structure_ids: Sequence[UUID]
) -> dict[UUID, list[StructureService]]:
    """Each structure's services, by code."""
    if not structure_ids:
        return {}
    rows = await conn.fetch(
        "SELECT id, structure_id, code, name, active, engagement_required"
        " FROM structure_services WHERE structure_id = ANY($1) ORDER BY structure_id, code",
        structure_ids,
    )
    found: dict[UUID, list[StructureService]] = {}
    for row in rows:
        found.setdefault(row["structure_id"], []).append(
            StructureService(
                id=row["id"],
                code=row["code"],
                name=row["name"],
                active=row["active"],
                engagement_required=row["engagement_required"],
            )
        )
    return found
