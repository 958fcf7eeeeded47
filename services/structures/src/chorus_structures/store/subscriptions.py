"""Repository of space subscriptions (one pending and one validated per member and space)."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg

from chorus_structures.domain.paging import Page
from chorus_structures.domain.spaces import AccessMode, Space
from chorus_structures.domain.subscriptions import Subscription, SubscriptionStatus

_COLUMNS = """
    id, structure_id, user_id, space, mode, status, decision_comment, decided_by,
    requested_at, decided_at
"""


def _subscription(row: asyncpg.Record) -> Subscription:
    return Subscription(
        id=row["id"],
        structure_id=row["structure_id"],
        user_id=row["user_id"],
        space=Space(row["space"]),
        mode=AccessMode(row["mode"]),
        status=SubscriptionStatus(row["status"]),
        decision_comment=row["decision_comment"],
        decided_by=row["decided_by"],
        requested_at=row["requested_at"],
        decided_at=row["decided_at"],
    )


async def insert_pending(
    conn: asyncpg.Connection, structure_id: UUID, user_id: UUID, space: Space, mode: AccessMode
) -> Subscription | None:
    """A new pending subscription; None when one is already pending for this space."""
    subscription_id = await conn.fetchval(
        """
        INSERT INTO subscriptions (id, structure_id, user_id, space, mode, status)
        VALUES ($1, $2, $3, $4, $5, 'EN_COURS_DE_VALIDATION')
        ON CONFLICT (structure_id, user_id, space) WHERE status = 'EN_COURS_DE_VALIDATION'
        DO NOTHING
        RETURNING id
        """,
        uuid4(),
        structure_id,
        user_id,
        space.value,
        mode.value,
    )
    return await get_subscription(conn, subscription_id) if subscription_id else None


async def get_subscription(conn: asyncpg.Connection, subscription_id: UUID) -> Subscription | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE id = $1",  # noqa: S608 - constant columns
        subscription_id,
    )
    return _subscription(row) if row else None


async def structure_of(conn: asyncpg.Connection, subscription_id: UUID) -> UUID | None:
    return await conn.fetchval(
        "SELECT structure_id FROM subscriptions WHERE id = $1", subscription_id
    )


async def validated_mode(
    conn: asyncpg.Connection, structure_id: UUID, user_id: UUID, space: Space
) -> AccessMode | None:
    mode = await conn.fetchval(
        "SELECT mode FROM subscriptions WHERE structure_id = $1 AND user_id = $2"
        " AND space = $3 AND status = 'VALIDEE'",
        structure_id,
        user_id,
        space.value,
    )
    return AccessMode(mode) if mode else None


async def record_decision(
    conn: asyncpg.Connection,
    subscription: Subscription,
    *,
    status: SubscriptionStatus,
    comment: str,
    decided_by: UUID | None,
) -> Subscription:
    """Closes a pending subscription; a validated one replaces (RESILIEE) the previous one."""
    if status is SubscriptionStatus.VALIDEE:
        await conn.execute(
            "UPDATE subscriptions SET status = 'RESILIEE'"
            " WHERE structure_id = $1 AND user_id = $2 AND space = $3 AND status = 'VALIDEE'",
            subscription.structure_id,
            subscription.user_id,
            subscription.space.value,
        )
    await conn.execute(
        """
        UPDATE subscriptions
           SET status = $2, decision_comment = $3, decided_by = $4, decided_at = clock_timestamp()
         WHERE id = $1
        """,
        subscription.id,
        status.value,
        comment,
        decided_by,
    )
    found = await get_subscription(conn, subscription.id)
    assert found is not None
    return found


async def pending_modes(
    conn: asyncpg.Connection, structure_id: UUID, user_id: UUID
) -> dict[Space, AccessMode]:
    rows = await conn.fetch(
        "SELECT space, mode FROM subscriptions WHERE structure_id = $1 AND user_id = $2"
        " AND status = 'EN_COURS_DE_VALIDATION'",
        structure_id,
        user_id,
    )
    return {Space(row["space"]): AccessMode(row["mode"]) for row in rows}


async def validated_modes(
    conn: asyncpg.Connection, structure_id: UUID, user_id: UUID
) -> dict[Space, AccessMode]:
    rows = await conn.fetch(
        "SELECT space, mode FROM subscriptions WHERE structure_id = $1 AND user_id = $2"
        " AND status = 'VALIDEE'",
        structure_id,
        user_id,
    )
    return {Space(row["space"]): AccessMode(row["mode"]) for row in rows}


async def list_for_structure(
    conn: asyncpg.Connection, structure_id: UUID, status: SubscriptionStatus | None, page: Page
) -> list[Subscription]:
    """Newest first, one more than the page size."""
    after = page.after
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM subscriptions
         WHERE structure_id = $1 AND ($2::text IS NULL OR status = $2)
           AND ($3::timestamptz IS NULL OR (requested_at, id) < ($3, $4::uuid))
         ORDER BY requested_at DESC, id DESC
         LIMIT $5
        """,  # noqa: S608 - constant columns, values are parameters
        structure_id,
        status.value if status else None,
        after.at if after else None,
        after.id if after else None,
        page.size + 1,
    )
    return [_subscription(row) for row in rows]
