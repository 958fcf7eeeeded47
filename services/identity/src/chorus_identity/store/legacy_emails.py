"""The SQL of the legacy e-mail conversion (``usecases/legacy_emails.py``): finding addresses
with non-ASCII text and rewriting them as they are, without touching ``updated_at`` (a data
migration, not a change by the user).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

_LOCK_KEY = 0x49444D4C  # "IDML": one run at a time per database.
# In UTF-8, a text longer in bytes than in characters holds a non-ASCII character.
_LEGACY_USERS = (
    "SELECT id, login_email, contact_email FROM users"
    " WHERE octet_length(login_email) <> char_length(login_email)"
    " OR octet_length(contact_email) <> char_length(contact_email)"
    " ORDER BY created_at, id FOR UPDATE"
)
_LEGACY_PENDING = (
    "SELECT id, new_email FROM account_tokens"
    " WHERE octet_length(new_email) <> char_length(new_email) FOR UPDATE"
)


@dataclass(frozen=True)
class LegacyUser:
    """An account whose login or contact address holds non-ASCII text."""

    id: str
    login_email: str
    contact_email: str


@dataclass(frozen=True)
class LegacyPendingEmail:
    """An e-mail change link whose pending address holds non-ASCII text."""

    id: str
    new_email: str


async def lock(conn: asyncpg.Connection) -> None:
    """The conversion's advisory lock, until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)


async def users_with_non_ascii(conn: asyncpg.Connection) -> list[LegacyUser]:
    """Those accounts, oldest first, locked."""
    return [
        LegacyUser(str(row["id"]), row["login_email"], row["contact_email"])
        for row in await conn.fetch(_LEGACY_USERS)
    ]


async def login_owner(
    conn: asyncpg.Connection, login_email: str, *, other_than: str | None = None
) -> str | None:
    """The id of the account whose login is ``login_email`` (an ASCII form, compared
    lower-cased), ``other_than`` left out."""
    if other_than is None:
        found = await conn.fetchval(
            "SELECT id FROM users WHERE lower(login_email) = $1", login_email
        )
    else:
        found = await conn.fetchval(
            "SELECT id FROM users WHERE lower(login_email) = $1 AND id <> $2",
            login_email,
            other_than,
        )
    return None if found is None else str(found)


async def try_set_login_email(conn: asyncpg.Connection, user_id: str, login_email: str) -> bool:
    """Rewrites the login; False (nothing changed) when another account registered it
    meanwhile. In a savepoint, so the transaction goes on either way."""
    try:
        async with conn.transaction():
            await conn.execute(
                "UPDATE users SET login_email = $2 WHERE id = $1", user_id, login_email
            )
    except asyncpg.UniqueViolationError:
        return False
    return True


async def set_contact_email(conn: asyncpg.Connection, user_id: str, contact_email: str) -> None:
    await conn.execute("UPDATE users SET contact_email = $2 WHERE id = $1", user_id, contact_email)


async def pending_with_non_ascii(conn: asyncpg.Connection) -> list[LegacyPendingEmail]:
    """Those e-mail change links, locked."""
    return [
        LegacyPendingEmail(str(row["id"]), row["new_email"])
        for row in await conn.fetch(_LEGACY_PENDING)
    ]


async def set_pending_email(conn: asyncpg.Connection, token_id: str, new_email: str) -> None:
    await conn.execute(
        "UPDATE account_tokens SET new_email = $2 WHERE id = $1", token_id, new_email
    )
