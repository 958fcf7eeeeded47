"""Repository of structures' spaces (open or closed)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from chorus_structures.domain.spaces import Space


async def open_spaces(
    conn: asyncpg.Connection, structure_id: UUID, spaces: Sequence[Space]
) -> None:
    """Records ``spaces`` as open for the structure (spaces it already has are left alone)."""
    await conn.executemany(
        "INSERT INTO spaces (structure_id, space) VALUES ($1, $2)"
        " ON CONFLICT (structure_id, space) DO NOTHING",
        [(structure_id, space.value) for space in spaces],
    )


async def open_spaces_of(
    conn: asyncpg.Connection, structure_ids: Sequence[UUID]
) -> dict[UUID, list[Space]]:
    """Each structure's open spaces."""
    if not structure_ids:
        return {}
    rows = await conn.fetch(
        "SELECT structure_id, space FROM spaces WHERE structure_id = ANY($1) AND open"
        " ORDER BY structure_id, space",
        structure_ids,
    )
    found: dict[UUID, list[Space]] = {}
    for row in rows:
        found.setdefault(row["structure_id"], []).append(Space(row["space"]))
    return found
