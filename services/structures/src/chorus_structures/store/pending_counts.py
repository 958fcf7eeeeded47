"""Counts of the requests awaiting a decision, per structure (the managers' home)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def attachment_requests(
    conn: asyncpg.Connection, structure_ids: list[UUID]
) -> dict[UUID, int]:
    rows = await conn.fetch(
        "SELECT structure_id, count(*) AS n FROM attachment_requests"
        " WHERE structure_id = ANY($1::uuid[]) AND status = 'EN_COURS_DE_VALIDATION'"
        " GROUP BY structure_id",
        structure_ids,
    )
    return {row["structure_id"]: row["n"] for row in rows}


async def subscriptions(conn: asyncpg.Connection, structure_ids: list[UUID]) -> dict[UUID, int]:
    rows = await conn.fetch(
        "SELECT structure_id, count(*) AS n FROM subscriptions"
        " WHERE structure_id = ANY($1::uuid[]) AND status = 'EN_COURS_DE_VALIDATION'"
        " GROUP BY structure_id",
        structure_ids,
    )
    return {row["structure_id"]: row["n"] for row in rows}
