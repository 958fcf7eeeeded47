"""Repository of structures' services (departments)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg
from chorus_platform.errors import FieldViolation, InvalidArgument

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
        f"SELECT {_COLUMNS} FROM structure_services"  # noqa: S608 - constant columns
        " WHERE structure_id = ANY($1) ORDER BY structure_id, code",
        structure_ids,
    )
    found: dict[UUID, list[StructureService]] = {}
    for row in rows:
        found.setdefault(row["structure_id"], []).append(_service(row))
    return found


_COLUMNS = "id, structure_id, code, name, active, engagement_required, cpp_id, created_at"


def _service(row: asyncpg.Record) -> StructureService:
    return StructureService(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        active=row["active"],
        engagement_required=row["engagement_required"],
        cpp_id=row["cpp_id"],
        created_at=row["created_at"],
    )


async def find_service(
    conn: asyncpg.Connection, *, service_id: UUID | None = None, cpp_id: int | None = None
) -> tuple[UUID, StructureService] | None:
    """The service with this id or integer id, and the id of its structure; None if unknown."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM structure_services"  # noqa: S608 - constant columns
        " WHERE ($1::uuid IS NOT NULL AND id = $1) OR ($2::bigint IS NOT NULL AND cpp_id = $2)",
        service_id,
        cpp_id,
    )
    return (row["structure_id"], _service(row)) if row else None


async def page_of_services(
    conn: asyncpg.Connection, structure_id: UUID, *, only_active: bool, offset: int, limit: int
) -> tuple[list[StructureService], int]:
    """One page of the structure's services by code (active ones only if asked), and how many
    there are in all."""
    total = await conn.fetchval(
        "SELECT count(*) FROM structure_services WHERE structure_id = $1 AND (active OR NOT $2)",
        structure_id,
        only_active,
    )
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM structure_services"  # noqa: S608 - constant columns
        " WHERE structure_id = $1 AND (active OR NOT $2) ORDER BY code OFFSET $3 LIMIT $4",
        structure_id,
        only_active,
        offset,
        limit,
    )
    return [_service(row) for row in rows], total


async def insert_service(
    conn: asyncpg.Connection, structure_id: UUID, new: NewService
) -> StructureService | None:
    """Adds one service; None when the structure already has a service with this code."""
    row = await conn.fetchrow(
        """
        INSERT INTO structure_services (id, structure_id, code, name, engagement_required)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (structure_id, code) DO NOTHING
        RETURNING id, cpp_id, created_at
        """,
        uuid4(),
        structure_id,
        new.code,
        new.name,
        new.engagement_required,
    )
    if row is None:
        return None
    return StructureService(
        id=row["id"],
        code=new.code,
        name=new.name,
        engagement_required=new.engagement_required,
        cpp_id=row["cpp_id"],
        created_at=row["created_at"],
    )


async def get_service(
    conn: asyncpg.Connection, structure_id: UUID, service_id: UUID
) -> StructureService | None:
    found = await services_of(conn, [structure_id])
    return next((s for s in found.get(structure_id, []) if s.id == service_id), None)


async def update_service(
    conn: asyncpg.Connection, structure_id: UUID, service: StructureService
) -> None:
    await conn.execute(
        "UPDATE structure_services SET name = $3, active = $4, engagement_required = $5"
        " WHERE structure_id = $1 AND id = $2",
        structure_id,
        service.id,
        service.name,
        service.active,
        service.engagement_required,
    )


async def known_service_ids(
    conn: asyncpg.Connection, structure_id: UUID, service_ids: Sequence[UUID]
) -> set[UUID]:
    """Which of ``service_ids`` are services of the structure."""
    rows = await conn.fetch(
        "SELECT id FROM structure_services WHERE structure_id = $1 AND id = ANY($2)",
        structure_id,
        list(service_ids),
    )
    return {row["id"] for row in rows}


async def require_services(
    conn: asyncpg.Connection, structure_id: UUID, service_ids: Sequence[UUID], field: str
) -> list[UUID]:
    """``service_ids`` when all are services of the structure; InvalidArgument
    SERVICE_NOT_FOUND naming the unknown ones otherwise."""
    unknown = set(service_ids) - await known_service_ids(conn, structure_id, service_ids)
    if unknown:
        message = "Ce service n'existe pas dans la structure."
        raise InvalidArgument(
            "SERVICE_NOT_FOUND",
            "Un des services indiqués n'appartient pas à la structure : choisissez parmi ses "
            "services.",
            [
                FieldViolation(f"{field}[{i}]", message)
                for i, s in enumerate(service_ids)
                if s in unknown
            ],
        )
    return list(service_ids)


async def codes_of(conn: asyncpg.Connection, service_ids: Sequence[UUID]) -> list[str]:
    """The codes of ``service_ids``, in the same order (unknown ids are left out)."""
    if not service_ids:
        return []
    wanted = [str(s) for s in service_ids]
    rows = await conn.fetch(
        "SELECT id::text AS id, code FROM structure_services WHERE id = ANY($1::uuid[])", wanted
    )
    codes = {row["id"]: row["code"] for row in rows}
    return [codes[s] for s in wanted if s in codes]
