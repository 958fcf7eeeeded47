"""Repository of structures' spaces: the managers' decisions to open or close them.

A structure has no row for a space whose state is its kind's default (``domain/spaces.py``);
a row records a manager's choice (or pins the state a subscription refers to). So a directory
of hundreds of thousands of structures stores no space rows at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from chorus_structures.domain.spaces import Space


async def explicit_states(
    conn: asyncpg.Connection, structure_ids: Sequence[UUID]
) -> dict[UUID, dict[Space, bool]]:
    """Each structure's recorded open/closed states (defaults are not recorded)."""
    if not structure_ids:
        return {}
    rows = await conn.fetch(
        "SELECT structure_id, space, open FROM spaces WHERE structure_id = ANY($1)",
        list(structure_ids),
    )
    found: dict[UUID, dict[Space, bool]] = {}
    for row in rows:
        found.setdefault(row["structure_id"], {})[Space(row["space"])] = row["open"]
    return found


async def set_open(conn: asyncpg.Connection, structure_id: UUID, space: Space, open_: bool) -> None:
    """Records the space as open or closed for the structure."""
    await conn.execute(
        """
        INSERT INTO spaces (structure_id, space, open) VALUES ($1, $2, $3)
        ON CONFLICT (structure_id, space) DO UPDATE SET open = EXCLUDED.open, updated_at = now()
        """,
        structure_id,
        space.value,
        open_,
    )


async def pin(conn: asyncpg.Connection, structure_id: UUID, space: Space, open_: bool) -> None:
    """Records the space's current state if nothing is recorded yet (subscriptions refer to a
    recorded space)."""
    await conn.execute(
        "INSERT INTO spaces (structure_id, space, open) VALUES ($1, $2, $3)"
        " ON CONFLICT (structure_id, space) DO NOTHING",
        structure_id,
        space.value,
        open_,
    )
