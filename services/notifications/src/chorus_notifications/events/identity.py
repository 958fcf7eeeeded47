"""Handlers of identity's events: the recipients projection, activation e-mail, welcome item."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import asyncpg
from chorus.identity.events.v1 import identity_events_pb2 as events
from chorus_platform.cloudevents import Envelope
from chorus_platform.consumer import Subscription

from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain import links, messages
from chorus_notifications.domain.recipients import DEFAULT_LOCALE, Recipient, normalise_locale
from chorus_notifications.events.notify import add_feed_item, queue_email
from chorus_notifications.store import recipients


def _issued_at(envelope: Envelope) -> datetime | None:
    """The event's ce_time, when present and unambiguous."""
    try:
        issued_at = datetime.fromisoformat(envelope.time)
    except ValueError:
        return None
    return issued_at if issued_at.tzinfo is not None else None


async def on_user_registered(
    conn: asyncpg.Connection, event: events.UserRegistered, envelope: Envelope
) -> None:
    """Keeps the recipients projection: where and in which language to reach the user."""
    await recipients.upsert(
        conn,
        Recipient(
            user_id=event.user_id,
            contact_email=event.contact_email or event.login_email,
            first_name=event.first_name,
            last_name=event.last_name,
            locale=normalise_locale(event.locale),
        ),
    )


async def on_activation_link_issued(
    conn: asyncpg.Connection,
    event: events.ActivationLinkIssued,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """E-mails the activation link to the contact address carried by the event.

    An event without an address is a producer bug: it is raised, so it ends on the DLQ.
    """
    if not event.contact_email:
        raise ValueError("ActivationLinkIssued without contact_email")
    expires_at = event.expires_at.ToDatetime(tzinfo=UTC) if event.HasField("expires_at") else None
    content = messages.activation_email(
        first_name=event.first_name,
        activation_url=links.activation_url(portal_url, event.activation_token),
        validity_minutes=messages.validity_minutes(_issued_at(envelope), expires_at),
        locale=normalise_locale(event.locale),
    )
    await queue_email(
        conn, envelope, address=event.contact_email, user_id=event.user_id, content=content
    )


async def on_user_activated(
    conn: asyncpg.Connection, event: events.UserActivated, envelope: Envelope
) -> None:
    """Welcomes the user in their feed."""
    recipient = await recipients.get(conn, event.user_id)
    locale = recipient.locale if recipient else DEFAULT_LOCALE
    await add_feed_item(
        conn, envelope, user_id=event.user_id, entry=messages.account_activated_feed(locale=locale)
    )


def subscriptions(settings: NotificationsSettings) -> list[Subscription]:
    return [
        Subscription(events.UserRegistered, on_user_registered),
        Subscription(
            events.ActivationLinkIssued,
            partial(on_activation_link_issued, portal_url=settings.portal_url),
        ),
        Subscription(events.UserActivated, on_user_activated),
    ]
