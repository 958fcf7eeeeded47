"""Feed repository: one item per (event, user); pages newest first by (created_at, id)."""

from __future__ import annotations

import uuid

import asyncpg

from chorus_notifications.domain.feed import Cursor, FeedItem
from chorus_notifications.domain.messages import FeedEntry


async def add(
    conn: asyncpg.Connection, *, user_id: str, event_id: str, entry: FeedEntry
) -> str | None:
    """Adds an item; returns its id, or None when this event already fed this user."""
    item_id = await conn.fetchval(
        """INSERT INTO feed_items (id, user_id, event_id, kind, title, body, link)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (event_id, user_id) DO NOTHING
           RETURNING id""",
        uuid.uuid4(),
        user_id,
        event_id,
        str(entry.kind),
        entry.title,
        entry.body,
        entry.link,
    )
    return None if item_id is None else str(item_id)


def _item(row: asyncpg.Record) -> FeedItem:
    return FeedItem(
        id=str(row["id"]),
        user_id=str(row["user_id"]),
        kind=row["kind"],
        title=row["title"],
        body=row["body"],
        link=row["link"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    )


async def list_page(
    conn: asyncpg.Connection, *, user_id: str, limit: int, after: Cursor | None
) -> list[FeedItem]:
    """Up to ``limit`` of the user's items older than ``after`` (all when None), newest first."""
    rows = await conn.fetch(
        """SELECT id, user_id, kind, title, body, link, created_at, read_at
             FROM feed_items
            WHERE user_id = $1
              AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT $4""",
        user_id,
        after.created_at if after else None,
        after.item_id if after else None,
        limit,
    )
    return [_item(row) for row in rows]


async def mark_read(conn: asyncpg.Connection, *, user_id: str, item_id: str) -> bool:
    """Marks the user's item read (the first reading time is kept); False if not theirs."""
    updated = await conn.fetchval(
        """UPDATE feed_items SET read_at = coalesce(read_at, now())
            WHERE id = $1 AND user_id = $2
        RETURNING 1""",
        item_id,
        user_id,
    )
    return updated is not None


async def mark_all_read(conn: asyncpg.Connection, *, user_id: str) -> int:
    """Marks every unread item of the user read; how many were unread."""
    result = await conn.execute(
        "UPDATE feed_items SET read_at = now() WHERE user_id = $1 AND read_at IS NULL", user_id
    )
    return int(result.split()[-1])


async def count_unread(conn: asyncpg.Connection, *, user_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM feed_items WHERE user_id = $1 AND read_at IS NULL", user_id
    )
