"""Repository of the audit trail (table ``security_events``), written in the action's
transaction."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

from chorus_identity.domain.audit import ClientContext, SecurityEvent, SecurityEventKind


async def record(
    conn: asyncpg.Connection,
    kind: SecurityEventKind,
    *,
    user_id: str | None,
    client: ClientContext,
    now: datetime,
    actor_id: str | None = None,
    **details: str,
) -> None:
    """One audited event; ``details`` are short non-secret facts."""
    clipped = client.clipped()
    await conn.execute(
        "INSERT INTO security_events (id, kind, user_id, actor_id, occurred_at, ip_address,"
        " user_agent, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
        uuid.uuid4(),
        kind.value,
        user_id,
        actor_id,
        now,
        clipped.ip_address,
        clipped.user_agent,
        json.dumps(details),
    )


async def last_occurred_at(
    conn: asyncpg.Connection,
    kind: SecurityEventKind,
    *,
    user_id: str,
    detail: tuple[str, str],
) -> datetime | None:
    """When ``kind`` was last recorded for ``user_id`` with the detail ``(name, value)``."""
    return await conn.fetchval(
        "SELECT max(occurred_at) FROM security_events"
        " WHERE user_id = $1 AND kind = $2 AND details ->> $3 = $4",
        user_id,
        kind.value,
        detail[0],
        detail[1],
    )


async def list_page(
    conn: asyncpg.Connection,
    *,
    user_id: str | None,
    kinds: list[str],
    before_seq: int | None,
    limit: int,
) -> list[tuple[int, SecurityEvent]]:
    """Events newest first, with their sequence number (the paging cursor)."""
    rows = await conn.fetch(
        "SELECT seq, id, kind, user_id, actor_id, occurred_at, ip_address, user_agent, details"
        " FROM security_events"
        " WHERE ($1::uuid IS NULL OR user_id = $1::uuid)"
        " AND (cardinality($2::text[]) = 0 OR kind = ANY($2::text[]))"
        " AND ($3::bigint IS NULL OR seq < $3::bigint)"
        " ORDER BY seq DESC LIMIT $4",
        user_id,
        kinds,
        before_seq,
        limit,
    )
    return [
        (
            row["seq"],
            SecurityEvent(
                id=str(row["id"]),
                kind=row["kind"],
                user_id=str(row["user_id"]) if row["user_id"] else None,
                actor_id=str(row["actor_id"]) if row["actor_id"] else None,
                occurred_at=row["occurred_at"],
                ip_address=row["ip_address"],
                user_agent=row["user_agent"],
                details={k: str(v) for k, v in json.loads(row["details"]).items()},
            ),
        )
        for row in rows
    ]
