"""Repository of the manager action history."""

from __future__ import annotations

import json
from uuid import UUID, uuid4

import asyncpg

from chorus_structures.domain.history import Action, ActionKind, RecordedAction
from chorus_structures.domain.paging import Page


async def record(conn: asyncpg.Connection, structure_id: UUID, action: Action) -> None:
    """Appends ``action`` to the structure's history, in the caller's transaction."""
    await conn.execute(
        "INSERT INTO manager_actions (id, structure_id, kind, actor_user_id, target_user_id,"
        " details) VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
        uuid4(),
        structure_id,
        action.kind.value,
        action.actor,
        action.target,
        json.dumps(action.details, ensure_ascii=False),
    )


async def list_actions(
    conn: asyncpg.Connection, structure_id: UUID, page: Page
) -> list[RecordedAction]:
    """Newest first, one more than the page size."""
    after = page.after
    rows = await conn.fetch(
        """
        SELECT id, kind, actor_user_id, target_user_id, details::text AS details, at
          FROM manager_actions
         WHERE structure_id = $1
           AND ($2::timestamptz IS NULL OR (at, id) < ($2, $3::uuid))
         ORDER BY at DESC, id DESC
         LIMIT $4
        """,
        structure_id,
        after.at if after else None,
        after.id if after else None,
        page.size + 1,
    )
    return [
        RecordedAction(
            id=row["id"],
            kind=ActionKind(row["kind"]),
            actor=row["actor_user_id"],
            target=row["target_user_id"],
            details={k: str(v) for k, v in json.loads(row["details"]).items()},
            at=row["at"],
        )
        for row in rows
    ]
