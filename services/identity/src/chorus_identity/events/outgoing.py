"""Events identity publishes on ``chorus.identity.events.v1``, keyed by user id.

Each function writes to the outbox inside the caller's transaction (the one that changes the
account), so the event exists if and only if the change committed. Link tokens are sealed to
notifications' public key; no event carries a secret in plain text.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_platform.outbox import add_event
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_identity.clients.sealing import seal_token
from chorus_identity.domain.accounts import Account

SERVICE = "identity"


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def user_registered(conn: asyncpg.Connection, account: Account) -> None:
    await add_event(
        conn,
        service=SERVICE,
        key=account.id,
        message=ev.UserRegistered(
            user_id=account.id,
            login_email=account.login_email,
            contact_email=account.contact_email,
            first_name=account.first_name,
            last_name=account.last_name,
            locale=account.locale,
        ),
    )


def sealing_context(message_class, user_id: str) -> bytes:
    """What a link token is sealed with: ``<full event name>/<user id>``, so a sealed token
    opens only in the event (and for the user) it was made for."""
    return f"{message_class.DESCRIPTOR.full_name}/{user_id}".encode()


def _seal(message_class, user_id: str, token: str, sealing_key: bytes) -> bytes:
    return seal_token(sealing_key, token, sealing_context(message_class, user_id))


async def activation_link_issued(
    conn: asyncpg.Connection,
    account: Account,
    *,
    token: str,
    expires_at: datetime,
    sealing_key: bytes,
) -> None:
    """The token travels sealed to notifications' key (never in plain text)."""
    await add_event(
        conn,
        service=SERVICE,
        key=account.id,
        message=ev.ActivationLinkIssued(
            user_id=account.id,
            contact_email=account.contact_email,
            first_name=account.first_name,
            expires_at=_timestamp(expires_at),
            locale=account.locale,
            sealed_token=_seal(ev.ActivationLinkIssued, account.id, token, sealing_key),
        ),
    )


async def user_activated(conn: asyncpg.Connection, account: Account) -> None:
    await add_event(
        conn,
        service=SERVICE,
        key=account.id,
        message=ev.UserActivated(
            user_id=account.id,
            activated_at=_timestamp(account.activated_at or account.created_at),
        ),
    )


async def password_reset_requested(
    conn: asyncpg.Connection,
    account: Account,
    *,
    token: str,
    expires_at: datetime,
    sealing_key: bytes,
) -> None:
    await add_event(
        conn,
        service=SERVICE,
        key=account.id,
        message=ev.PasswordResetRequested(
            user_id=account.id,
            contact_email=account.contact_email,
            first_name=account.first_name,
            expires_at=_timestamp(expires_at),
            locale=account.locale,
            sealed_token=_seal(ev.PasswordResetRequested, account.id, token, sealing_key),
        ),
    )


async def email_change_requested(
    conn: asyncpg.Connection,
    account: Account,
    *,
    login: bool,
    new_email: str,
    token: str,
    expires_at: datetime,
    sealing_key: bytes,
) -> None:
    await add_event(
        conn,
        service=SERVICE,
        key=account.id,
        message=ev.EmailChangeRequested(
            user_id=account.id,
            kind=ev.EMAIL_KIND_LOGIN if login else ev.EMAIL_KIND_CONTACT,
            new_email=new_email,
            first_name=account.first_name,
            expires_at=_timestamp(expires_at),
            locale=account.locale,
            sealed_token=_seal(ev.EmailChangeRequested, account.id, token, sealing_key),
        ),
    )


async def password_changed(
    conn: asyncpg.Connection, user_id: str, *, by_reset: bool, at: datetime
) -> None:
    kind = ev.PASSWORD_CHANGE_KIND_RESET if by_reset else ev.PASSWORD_CHANGE_KIND_CHANGE
    await add_event(
        conn,
        service=SERVICE,
        key=user_id,
        message=ev.PasswordChanged(user_id=user_id, changed_at=_timestamp(at), kind=kind),
    )


async def contact_email_changed(conn: asyncpg.Connection, account: Account) -> None:
    await add_event(
        conn,
        service=SERVICE,
        key=account.id,
        message=ev.ContactEmailChanged(user_id=account.id, contact_email=account.contact_email),
    )


async def login_email_changed(
    conn: asyncpg.Connection, account: Account, *, previous_login_email: str
) -> None:
    await add_event(
        conn,
        service=SERVICE,
        key=account.id,
        message=ev.LoginEmailChanged(
            user_id=account.id,
            previous_login_email=previous_login_email,
            new_login_email=account.login_email,
            first_name=account.first_name,
            locale=account.locale,
        ),
    )


async def user_profile_updated(conn: asyncpg.Connection, account: Account) -> None:
    await add_event(
        conn,
        service=SERVICE,
        key=account.id,
        message=ev.UserProfileUpdated(
            user_id=account.id, first_name=account.first_name, last_name=account.last_name
        ),
    )


async def user_deactivated(
    conn: asyncpg.Connection, user_id: str, *, by_admin: bool, at: datetime
) -> None:
    kind = ev.DEACTIVATION_KIND_BY_ADMIN if by_admin else ev.DEACTIVATION_KIND_BY_USER
    await add_event(
        conn,
        service=SERVICE,
        key=user_id,
        message=ev.UserDeactivated(user_id=user_id, deactivated_at=_timestamp(at), kind=kind),
    )


async def user_reactivated(conn: asyncpg.Connection, user_id: str, *, at: datetime) -> None:
    await add_event(
        conn,
        service=SERVICE,
        key=user_id,
        message=ev.UserReactivated(user_id=user_id, reactivated_at=_timestamp(at)),
    )


async def account_locked(
    conn: asyncpg.Connection, user_id: str, *, locked_until: datetime, failed_attempts: int
) -> None:
    await add_event(
        conn,
        service=SERVICE,
        key=user_id,
        message=ev.AccountLocked(
            user_id=user_id,
            locked_until=_timestamp(locked_until),
            failed_attempts=failed_attempts,
        ),
    )


async def two_factor_changed(
    conn: asyncpg.Connection, user_id: str, *, enabled: bool, at: datetime
) -> None:
    await add_event(
        conn,
        service=SERVICE,
        key=user_id,
        message=ev.TwoFactorChanged(user_id=user_id, enabled=enabled, changed_at=_timestamp(at)),
    )
