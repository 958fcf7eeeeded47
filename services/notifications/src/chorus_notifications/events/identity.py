"""Handlers of identity's events: the recipients projection and the account e-mails
(activation, password reset, address verification, password changed, login-address notice,
lockout, two-factor changes) and feed items.

Link tokens arrive sealed to notifications' key: e-mails are stored with the sealed token
and a placeholder in the bodies, and opened only when sent (see ``events/email_sender.py``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

import asyncpg
from chorus.identity.events.v1 import identity_events_pb2 as events
from chorus_platform.cloudevents import Envelope
from chorus_platform.consumer import Subscription
from google.protobuf.message import Message

from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain import account_messages, links, messages
from chorus_notifications.domain.errors import RecipientNotKnownYet
from chorus_notifications.domain.recipients import DEFAULT_LOCALE, Recipient, normalise_locale
from chorus_notifications.domain.sealed_secrets import PLACEHOLDER, SealedSecret, event_context
from chorus_notifications.events.notify import add_feed_item, queue_email
from chorus_notifications.store import recipients

PASSWORD_RESET_PAGE = "/mot-de-passe-oublie"


def _issued_at(envelope: Envelope) -> datetime | None:
    """The event's ce_time, when present and unambiguous."""
    try:
        issued_at = datetime.fromisoformat(envelope.time)
    except ValueError:
        return None
    return issued_at if issued_at.tzinfo is not None else None


def _validity(envelope: Envelope, event: Message) -> int:
    expires_at = event.expires_at.ToDatetime(tzinfo=UTC) if event.HasField("expires_at") else None
    return messages.validity_minutes(_issued_at(envelope), expires_at)


def _sealed(event: Message) -> SealedSecret:
    """The event's sealed token and its context; a link event without one is a producer bug
    (raised, so it ends on the DLQ rather than mailing a dead link)."""
    name = type(event).DESCRIPTOR.full_name
    if not event.sealed_token:
        raise ValueError(f"{name} without sealed_token")
    return SealedSecret(event.sealed_token, event_context(name, event.user_id))


async def _recipient(conn: asyncpg.Connection, user_id: str) -> Recipient:
    """The projected user; RecipientNotKnownYet (retried, then DLQ) when not there yet."""
    recipient = await recipients.get(conn, user_id)
    if recipient is None:
        raise RecipientNotKnownYet(user_id)
    return recipient


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

    An event without an address or sealed token is a producer bug: raised, it ends on the DLQ.
    """
    if not event.contact_email:
        raise ValueError("ActivationLinkIssued without contact_email")
    content = messages.activation_email(
        first_name=event.first_name,
        activation_url=links.activation_url(portal_url, PLACEHOLDER),
        validity_minutes=_validity(envelope, event),
        locale=normalise_locale(event.locale),
    )
    content = replace(content, sealed=_sealed(event))
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


async def on_password_reset_requested(
    conn: asyncpg.Connection,
    event: events.PasswordResetRequested,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """E-mails the single-use reset link to the contact address carried by the event."""
    if not event.contact_email:
        raise ValueError("PasswordResetRequested without contact_email")
    content = account_messages.password_reset_email(
        first_name=event.first_name,
        reset_url=links.password_reset_url(portal_url, PLACEHOLDER),
        validity_minutes=_validity(envelope, event),
        locale=normalise_locale(event.locale),
        sealed=_sealed(event),
    )
    await queue_email(
        conn, envelope, address=event.contact_email, user_id=event.user_id, content=content
    )


async def on_email_change_requested(
    conn: asyncpg.Connection,
    event: events.EmailChangeRequested,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """E-mails the verification link to the new address (contact or login)."""
    if not event.new_email:
        raise ValueError("EmailChangeRequested without new_email")
    content = account_messages.email_verification_email(
        first_name=event.first_name,
        verification_url=links.email_verification_url(portal_url, PLACEHOLDER),
        login=event.kind == events.EMAIL_KIND_LOGIN,
        validity_minutes=_validity(envelope, event),
        locale=normalise_locale(event.locale),
        sealed=_sealed(event),
    )
    await queue_email(
        conn, envelope, address=event.new_email, user_id=event.user_id, content=content
    )


async def on_contact_email_changed(
    conn: asyncpg.Connection, event: events.ContactEmailChanged, envelope: Envelope
) -> None:
    """Notifications go to the new contact address from now on."""
    if not await recipients.set_contact_email(conn, event.user_id, event.contact_email):
        raise RecipientNotKnownYet(event.user_id)


async def on_user_profile_updated(
    conn: asyncpg.Connection, event: events.UserProfileUpdated, envelope: Envelope
) -> None:
    """Messages greet the user by the new names."""
    if not await recipients.set_names(conn, event.user_id, event.first_name, event.last_name):
        raise RecipientNotKnownYet(event.user_id)


async def on_login_email_changed(
    conn: asyncpg.Connection, event: events.LoginEmailChanged, envelope: Envelope
) -> None:
    """Tells the previous login address that it no longer signs in."""
    if not event.previous_login_email:
        raise ValueError("LoginEmailChanged without previous_login_email")
    content = account_messages.login_email_changed_email(
        first_name=event.first_name,
        new_login_email=event.new_login_email,
        locale=normalise_locale(event.locale),
    )
    await queue_email(
        conn, envelope, address=event.previous_login_email, user_id=event.user_id, content=content
    )


async def on_password_changed(
    conn: asyncpg.Connection,
    event: events.PasswordChanged,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """ "Votre mot de passe a été modifié": e-mail to the contact address and a feed item."""
    recipient = await _recipient(conn, event.user_id)
    at = (
        event.changed_at.ToDatetime(tzinfo=UTC)
        if event.HasField("changed_at")
        else datetime.now(UTC)
    )
    content = account_messages.password_changed_email(
        first_name=recipient.first_name,
        reset_by_link=event.kind == events.PASSWORD_CHANGE_KIND_RESET,
        at=at,
        reset_page_url=links.absolute(portal_url, PASSWORD_RESET_PAGE),
        locale=recipient.locale,
    )
    await queue_email(
        conn, envelope, address=recipient.contact_email, user_id=event.user_id, content=content
    )
    entry = account_messages.password_changed_feed(locale=recipient.locale)
    await add_feed_item(conn, envelope, user_id=event.user_id, entry=entry)


async def on_account_locked(
    conn: asyncpg.Connection,
    event: events.AccountLocked,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """Tells the user their account is locked, until when, and how to reset the password."""
    recipient = await _recipient(conn, event.user_id)
    content = account_messages.account_locked_email(
        first_name=recipient.first_name,
        locked_until=event.locked_until.ToDatetime(tzinfo=UTC),
        failed_attempts=event.failed_attempts,
        reset_page_url=links.absolute(portal_url, PASSWORD_RESET_PAGE),
        locale=recipient.locale,
    )
    await queue_email(
        conn, envelope, address=recipient.contact_email, user_id=event.user_id, content=content
    )


async def on_two_factor_changed(
    conn: asyncpg.Connection, event: events.TwoFactorChanged, envelope: Envelope
) -> None:
    """Security notice by e-mail, and a feed item."""
    recipient = await _recipient(conn, event.user_id)
    content = account_messages.two_factor_changed_email(
        first_name=recipient.first_name, enabled=event.enabled, locale=recipient.locale
    )
    await queue_email(
        conn, envelope, address=recipient.contact_email, user_id=event.user_id, content=content
    )
    entry = account_messages.two_factor_changed_feed(enabled=event.enabled, locale=recipient.locale)
    await add_feed_item(conn, envelope, user_id=event.user_id, entry=entry)


def subscriptions(settings: NotificationsSettings) -> list[Subscription]:
    portal = {"portal_url": settings.portal_url}
    return [
        Subscription(events.UserRegistered, on_user_registered),
        Subscription(events.ActivationLinkIssued, partial(on_activation_link_issued, **portal)),
        Subscription(events.UserActivated, on_user_activated),
        Subscription(events.PasswordResetRequested, partial(on_password_reset_requested, **portal)),
        Subscription(events.EmailChangeRequested, partial(on_email_change_requested, **portal)),
        Subscription(events.ContactEmailChanged, on_contact_email_changed),
        Subscription(events.UserProfileUpdated, on_user_profile_updated),
        Subscription(events.LoginEmailChanged, on_login_email_changed),
        Subscription(events.PasswordChanged, partial(on_password_changed, **portal)),
        Subscription(events.AccountLocked, partial(on_account_locked, **portal)),
        Subscription(events.TwoFactorChanged, on_two_factor_changed),
    ]
