"""Repository of user accounts (table ``users``)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from chorus_identity.domain.accounts import (
    Account,
    ProfileUpdate,
    Registration,
    UserKind,
    UserStatus,
)
from chorus_identity.domain.errors import AccountAlreadyExists

_SELECT = (
    "SELECT id, login_email, contact_email, first_name, last_name, phone, locale, status,"
    " created_at, activated_at, is_admin, kind FROM users"
)
_INSERT = (
    "INSERT INTO users (id, login_email, contact_email, first_name, last_name, phone,"
    " locale, status, created_at, updated_at, terms_version, terms_accepted_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $9)"
    " RETURNING id, login_email, contact_email, first_name, last_name, phone, locale,"
    " status, created_at, activated_at, is_admin, kind"
)
_ACTIVATE = (
    "UPDATE users SET status = $2, activated_at = $3, updated_at = $3 WHERE id = $1"
    " RETURNING id, login_email, contact_email, first_name, last_name, phone, locale,"
    " status, created_at, activated_at, is_admin, kind"
)
_BY_ID = _SELECT + " WHERE id = $1"


def _account(row: asyncpg.Record) -> Account:
    return Account(
        id=str(row["id"]),
        login_email=row["login_email"],
        contact_email=row["contact_email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        phone=row["phone"],
        locale=row["locale"],
        status=UserStatus(row["status"]),
        created_at=row["created_at"],
        activated_at=row["activated_at"],
        is_admin=row["is_admin"],
        kind=UserKind(row["kind"]),
    )


async def insert_pending_user(
    conn: asyncpg.Connection, registration: Registration, now: datetime, *, terms_version: str
) -> Account:
    """Stores a new account waiting for activation; AccountAlreadyExists on a taken login."""
    try:
        row = await conn.fetchrow(
            _INSERT,
            uuid.uuid4(),
            registration.login_email,
            registration.contact_email,
            registration.first_name,
            registration.last_name,
            registration.phone,
            registration.locale,
            UserStatus.EN_ATTENTE_ACTIVATION.value,
            now,
            terms_version,
        )
    except asyncpg.UniqueViolationError:
        raise AccountAlreadyExists() from None
    return _account(row)


async def get_user(
    conn: asyncpg.Connection, user_id: str, *, for_update: bool = False
) -> Account | None:
    """The account with ``user_id``; ``for_update`` locks its row until the transaction ends."""
    row = await conn.fetchrow(_BY_ID + " FOR UPDATE" if for_update else _BY_ID, user_id)
    return None if row is None else _account(row)


async def find_by_login_forms(
    conn: asyncpg.Connection, forms: tuple[str, ...], *, for_update: bool = False
) -> list[Account]:
    """The accounts of persons whose login e-mail is one of ``forms`` (see
    ``login_lookup_forms``), oldest first. Two only when a legacy row could not take its
    canonical form because another account had it (see ``legacy_emails``). Technical accounts
    are never found so: no login, reset link or look-up by e-mail applies to them."""
    query = (
        _SELECT + " WHERE lower(login_email) = ANY($1::text[]) AND kind = 'PERSONNE'"
        " ORDER BY created_at, id"
    )
    rows = await conn.fetch(query + " FOR UPDATE" if for_update else query, list(forms))
    return [_account(row) for row in rows]


async def get_users(conn: asyncpg.Connection, user_ids: list[uuid.UUID]) -> list[Account]:
    """The accounts among ``user_ids`` that exist (in no particular order)."""
    rows = await conn.fetch(_SELECT + " WHERE id = ANY($1::uuid[])", user_ids)
    return [_account(row) for row in rows]


async def mark_active(conn: asyncpg.Connection, user_id: str, now: datetime) -> Account:
    """Sets the account ACTIF (the caller holds its row lock and checked the transition)."""
    row = await conn.fetchrow(
        _ACTIVATE,
        user_id,
        UserStatus.ACTIF.value,
        now,
    )
    return _account(row)


async def update_profile(
    conn: asyncpg.Connection, user_id: str, update: ProfileUpdate, now: datetime
) -> Account:
    """Applies the changed fields (None = unchanged)."""
    row = await conn.fetchrow(
        "UPDATE users SET first_name = coalesce($2, first_name),"
        " last_name = coalesce($3, last_name), phone = coalesce($4, phone), updated_at = $5"
        " WHERE id = $1"
        " RETURNING id, login_email, contact_email, first_name, last_name, phone, locale,"
        " status, created_at, activated_at, is_admin, kind",
        user_id,
        update.first_name,
        update.last_name,
        update.phone,
        now,
    )
    return _account(row)


async def set_contact_email(
    conn: asyncpg.Connection, user_id: str, email: str, now: datetime
) -> Account:
    row = await conn.fetchrow(
        "UPDATE users SET contact_email = $2, updated_at = $3 WHERE id = $1"
        " RETURNING id, login_email, contact_email, first_name, last_name, phone, locale,"
        " status, created_at, activated_at, is_admin, kind",
        user_id,
        email,
        now,
    )
    return _account(row)


async def set_login_email(
    conn: asyncpg.Connection, user_id: str, email: str, now: datetime
) -> Account:
    """Changes the login e-mail; AccountAlreadyExists when another account has it."""
    try:
        row = await conn.fetchrow(
            "UPDATE users SET login_email = $2, updated_at = $3 WHERE id = $1"
            " RETURNING id, login_email, contact_email, first_name, last_name, phone, locale,"
            " status, created_at, activated_at, is_admin, kind",
            user_id,
            email,
            now,
        )
    except asyncpg.UniqueViolationError:
        raise AccountAlreadyExists() from None
    return _account(row)


async def login_email_taken(conn: asyncpg.Connection, email: str, *, by_other_than: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM users WHERE lower(login_email) = lower($1) AND id <> $2",
            email,
            by_other_than,
        )
    )


async def deactivate(
    conn: asyncpg.Connection, user_id: str, *, kind: str, now: datetime
) -> Account:
    """DESACTIVE with its kind (BY_USER, BY_ADMIN); the caller holds the row lock."""
    row = await conn.fetchrow(
        "UPDATE users SET status = $2, deactivated_at = $3, deactivation_kind = $4,"
        " updated_at = $3 WHERE id = $1"
        " RETURNING id, login_email, contact_email, first_name, last_name, phone, locale,"
        " status, created_at, activated_at, is_admin, kind",
        user_id,
        UserStatus.DESACTIVE.value,
        now,
        kind,
    )
    return _account(row)


async def reactivate(
    conn: asyncpg.Connection, user_id: str, now: datetime, *, status: UserStatus
) -> Account:
    """Back to ``status`` (ACTIF, or EN_ATTENTE_ACTIVATION for a never activated account)."""
    row = await conn.fetchrow(
        "UPDATE users SET status = $2, deactivated_at = NULL, deactivation_kind = NULL,"
        " updated_at = $3 WHERE id = $1"
        " RETURNING id, login_email, contact_email, first_name, last_name, phone, locale,"
        " status, created_at, activated_at, is_admin, kind",
        user_id,
        status.value,
        now,
    )
    return _account(row)


async def set_admin(conn: asyncpg.Connection, user_id: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE users SET is_admin = true, updated_at = $2 WHERE id = $1", user_id, now
    )


async def insert_technical_user(
    conn: asyncpg.Connection, *, login: str, label: str, now: datetime
) -> Account:
    """The users row of a technical account: kind TECHNIQUE, ACTIF at once, no credentials
    (its password lives in ``technical_accounts``), its login as login and contact e-mail
    (an address nobody receives: ``.local``)."""
    row = await conn.fetchrow(
        "INSERT INTO users (id, login_email, contact_email, first_name, last_name, status,"
        " created_at, updated_at, activated_at, kind)"
        " VALUES ($1, $2, $2, $3, $4, 'ACTIF', $5, $5, $5, 'TECHNIQUE')"
        " RETURNING id, login_email, contact_email, first_name, last_name, phone, locale,"
        " status, created_at, activated_at, is_admin, kind",
        uuid.uuid4(),
        login.lower(),
        "Compte technique",
        label,
        now,
    )
    return _account(row)


async def set_status(conn: asyncpg.Connection, user_id: str, status: UserStatus, now: datetime):
    """Sets the status alone (a technical account revoked: DESACTIVE)."""
    await conn.execute(
        "UPDATE users SET status = $2, updated_at = $3,"
        " deactivated_at = CASE WHEN $2 = 'DESACTIVE' THEN $3 ELSE deactivated_at END"
        " WHERE id = $1",
        user_id,
        status.value,
        now,
    )
