"""The two effects an event can have for a user: an e-mail queued, a feed item added, both
rendered here from the domain's drafts and written in the consumer's transaction.

Both are idempotent per (event, recipient), on top of the consumer's inbox. An e-mail of a
kind the user switched off (per-kind preferences) is not queued; the feed item still is.
The people to tell come from the recipients projection (:func:`known_recipient`).
"""

from __future__ import annotations

import logging

from chorus_platform.unit_of_work import Transaction

from chorus_notifications.domain import preferences as preference_rules
from chorus_notifications.domain.errors import RecipientNotKnownYet
from chorus_notifications.domain.membership_messages import person_name
from chorus_notifications.domain.messages import EmailDraft, FeedDraft
from chorus_notifications.domain.recipients import Recipient
from chorus_notifications.rendering import render_email, render_feed
from chorus_notifications.store import emails, feed, preferences, recipients, technical_users

log = logging.getLogger(__name__)


async def queue_email(
    tx: Transaction,
    *,
    event_id: str,
    address: str,
    user_id: str | None,
    draft: EmailDraft,
    enabled: bool | None = None,
) -> None:
    """Queues ``draft`` for ``address`` (once per event), unless the user switched this kind
    of e-mail off (``enabled``, when the caller read it already; else looked up)."""
    kind = str(draft.kind)
    if (
        user_id
        and preference_rules.is_optional(kind)
        and not (
            enabled
            if enabled is not None
            else await preferences.email_enabled(tx.conn, user_id, kind)
        )
    ):
        log.info("email not queued: kind switched off", extra={"kind": kind, "event_id": event_id})
        return
    content = render_email(draft)
    email_id = await emails.enqueue(
        tx.conn, event_id=event_id, recipient_address=address, user_id=user_id, content=content
    )
    # Ids and kinds only: bodies may hold secrets (the activation link) and addresses are
    # personal data.
    log.info(
        "email queued" if email_id else "email already queued for this event",
        extra={"email_id": email_id, "kind": kind, "event_id": event_id},
    )


async def email_recipient(
    tx: Transaction,
    *,
    event_id: str,
    recipient: Recipient,
    draft: EmailDraft,
    enabled: bool | None = None,
) -> None:
    """Queues ``draft`` for a projected user, at their contact address (see
    :func:`queue_email` for ``enabled``)."""
    await queue_email(
        tx,
        event_id=event_id,
        address=recipient.contact_email,
        user_id=recipient.user_id,
        draft=draft,
        enabled=enabled,
    )


async def add_feed_item(tx: Transaction, *, event_id: str, user_id: str, draft: FeedDraft) -> None:
    """Adds ``draft`` to the user's feed (once per event)."""
    entry = render_feed(draft)
    item_id = await feed.add(tx.conn, user_id=user_id, event_id=event_id, entry=entry)
    log.info(
        "feed item added" if item_id else "feed item already added for this event",
        extra={"feed_item_id": item_id, "kind": str(entry.kind), "event_id": event_id},
    )


async def recipient(tx: Transaction, user_id: str) -> Recipient | None:
    """The projected user, or None when not (yet) known."""
    return await recipients.get(tx.conn, user_id)


async def known_recipient(tx: Transaction, user_id: str) -> Recipient:
    """The projected user; RecipientNotKnownYet (the consumer retries, then dead-letters the
    event) while the projection, fed from identity's topic, has not caught up."""
    found = await recipients.get(tx.conn, user_id)
    if found is None:
        raise RecipientNotKnownYet(user_id)
    return found


async def name_of(tx: Transaction, user_id: str, fallback: str) -> str:
    """``"Pierre Martin"``, ``"Compte technique TECH_12"``; ``fallback`` for a user not
    projected (or without a name)."""
    person = await recipients.get(tx.conn, user_id)
    if person is None:
        login = await technical_users.login_of(tx.conn, user_id)
        return f"Compte technique {login.partition('@')[0]}" if login else fallback
    return person_name(person.first_name, person.last_name, fallback)
