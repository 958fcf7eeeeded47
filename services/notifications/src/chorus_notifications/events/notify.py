"""The two effects an event can have for a user: an e-mail queued, a feed item added.

Both are idempotent per (event, recipient), on top of the consumer's inbox. An e-mail of a
kind the user switched off (per-kind preferences) is not queued; the feed item still is.
"""

from __future__ import annotations

import logging

import asyncpg
from chorus_platform.cloudevents import Envelope

from chorus_notifications.domain import preferences as preference_rules
from chorus_notifications.domain.messages import EmailContent, FeedEntry
from chorus_notifications.store import emails, feed, preferences

log = logging.getLogger(__name__)


async def queue_email(
    conn: asyncpg.Connection,
    envelope: Envelope,
    *,
    address: str,
    user_id: str | None,
    content: EmailContent,
) -> None:
    """Queues ``content`` for ``address`` in the handler's transaction (once per event),
    unless the user switched this kind of e-mail off."""
    kind = str(content.kind)
    if (
        user_id
        and preference_rules.is_optional(kind)
        and not await preferences.email_enabled(conn, user_id, kind)
    ):
        log.info(
            "email not queued: kind switched off", extra={"kind": kind, "event_id": envelope.id}
        )
        return
    email_id = await emails.enqueue(
        conn, event_id=envelope.id, recipient_address=address, user_id=user_id, content=content
    )
    # Ids and kinds only: bodies may hold secrets (the activation link) and addresses are
    # personal data.
    log.info(
        "email queued" if email_id else "email already queued for this event",
        extra={"email_id": email_id, "kind": str(content.kind), "event_id": envelope.id},
    )


async def add_feed_item(
    conn: asyncpg.Connection, envelope: Envelope, *, user_id: str, entry: FeedEntry
) -> None:
    """Adds ``entry`` to the user's feed in the handler's transaction (once per event)."""
    item_id = await feed.add(conn, user_id=user_id, event_id=envelope.id, entry=entry)
    log.info(
        "feed item added" if item_id else "feed item already added for this event",
        extra={"feed_item_id": item_id, "kind": str(entry.kind), "event_id": envelope.id},
    )
