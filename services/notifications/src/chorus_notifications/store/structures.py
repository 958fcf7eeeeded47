"""Structure names (structure id → name), fed by StructureCreated."""

from __future__ import annotations

import asyncpg


async def upsert_name(conn: asyncpg.Connection, structure_id: str, name: str) -> None:
    await conn.execute(
        """INSERT INTO structures (structure_id, name) VALUES ($1, $2)
           ON CONFLICT (structure_id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()""",
        structure_id,
        name,
    )


async def name_of(conn: asyncpg.Connection, structure_id: str) -> str | None:
    return await conn.fetchval("SELECT name FROM structures WHERE structure_id = $1", structure_id)
