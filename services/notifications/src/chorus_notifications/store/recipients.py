"""Recipients projection (user id → contact address, name, language), fed by UserRegistered."""

from __future__ import annotations

import asyncpg

from chorus_notifications.domain.recipients import Recipient


async def upsert(conn: asyncpg.Connection, recipient: Recipient) -> None:
    await conn.execute(
        """INSERT INTO recipients (user_id, contact_email, first_name, last_name, locale)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (user_id) DO UPDATE
              SET contact_email = EXCLUDED.contact_email,
                  first_name = EXCLUDED.first_name,
                  last_name = EXCLUDED.last_name,
                  locale = EXCLUDED.locale,
                  updated_at = now()""",
        recipient.user_id,
        recipient.contact_email,
        recipient.first_name,
        recipient.last_name,
        recipient.locale,
    )


async def get(conn: asyncpg.Connection, user_id: str) -> Recipient | None:
    row = await conn.fetchrow(
        "SELECT user_id, contact_email, first_name, last_name, locale"
        " FROM recipients WHERE user_id = $1",
        user_id,
    )
    if row is None:
        return None
    return Recipient(
        user_id=str(row["user_id"]),
        contact_email=row["contact_email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        locale=row["locale"],
    )


async def set_contact_email(conn: asyncpg.Connection, user_id: str, contact_email: str) -> bool:
    """Points the user's notifications at a new address; False when the user is unknown."""
    status = await conn.execute(
        "UPDATE recipients SET contact_email = $2, updated_at = now() WHERE user_id = $1",
        user_id,
        contact_email,
    )
    return status.endswith(" 1")


async def set_names(
    conn: asyncpg.Connection, user_id: str, first_name: str, last_name: str
) -> bool:
    """Updates the user's names; False when the user is unknown."""
    status = await conn.execute(
        "UPDATE recipients SET first_name = $2, last_name = $3, updated_at = now()"
        " WHERE user_id = $1",
        user_id,
        first_name,
        last_name,
    )
    return status.endswith(" 1")
