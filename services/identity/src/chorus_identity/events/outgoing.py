"""Events identity publishes on ``chorus.identity.events.v1``, keyed by user id.

Each function writes to the outbox inside the caller's transaction (the one that changes the
account), so the event exists if and only if the change committed.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_platform.outbox import add_event
from google.protobuf.timestamp_pb2 import Timestamp

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


async def activation_link_issued(
    conn: asyncpg.Connection, account: Account, *, token: str, expires_at: datetime
) -> None:
    """The only event carrying a secret: notifications needs the plain token for the link."""
    await add_event(
        conn,
        service=SERVICE,
        key=account.id,
        message=ev.ActivationLinkIssued(
            user_id=account.id,
            contact_email=account.contact_email,
            first_name=account.first_name,
            activation_token=token,
            expires_at=_timestamp(expires_at),
            locale=account.locale,
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
