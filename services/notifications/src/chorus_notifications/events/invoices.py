"""Handlers of invoices' events: the depositor's feed and status e-mails."""

from __future__ import annotations

from functools import partial

import asyncpg
from chorus.invoices.events.v1 import invoices_events_pb2 as events
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus_platform.cloudevents import Envelope
from chorus_platform.consumer import Subscription

from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain import links, messages
from chorus_notifications.domain.errors import RecipientNotKnownYet
from chorus_notifications.domain.recipients import DEFAULT_LOCALE
from chorus_notifications.events.notify import add_feed_item, queue_email
from chorus_notifications.store import recipients

_STATUS_PREFIX = "INVOICE_STATUS_"


def status_code(value: int) -> str:
    """``INVOICE_STATUS_DEPOSEE`` (2) → ``"DEPOSEE"``; unspecified → ``""``."""
    if value == invoices_pb.INVOICE_STATUS_UNSPECIFIED:
        return ""
    try:
        name = invoices_pb.InvoiceStatus.Name(value)
    except ValueError:  # a status added to the contract after this build
        return str(value)
    return name.removeprefix(_STATUS_PREFIX)


async def on_invoice_submitted(
    conn: asyncpg.Connection, event: events.InvoiceSubmitted, envelope: Envelope
) -> None:
    """Tells the depositor in their feed that the invoice was deposited."""
    if not event.submitted_by:
        return
    recipient = await recipients.get(conn, event.submitted_by)
    entry = messages.invoice_submitted_feed(
        number=event.number,
        gross_total=event.gross_total,
        currency=event.currency,
        link=links.invoice_path(event.invoice_id),
        locale=recipient.locale if recipient else DEFAULT_LOCALE,
    )
    await add_feed_item(conn, envelope, user_id=event.submitted_by, entry=entry)


async def on_invoice_status_changed(
    conn: asyncpg.Connection,
    event: events.InvoiceStatusChanged,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
    """E-mails the depositor and adds a feed item.

    Raises RecipientNotKnownYet while the depositor is missing from the recipients
    projection, so the consumer retries (then dead-letters) the event.
    """
    if not event.depositor_user_id:
        return
    recipient = await recipients.get(conn, event.depositor_user_id)
    if recipient is None:
        raise RecipientNotKnownYet(event.depositor_user_id)
    path = links.invoice_path(event.invoice_id)
    facts = {
        "number": event.number,
        "from_status": status_code(event.from_status),
        "to_status": status_code(event.to_status),
        "comment": event.comment,
        "locale": recipient.locale,
    }
    email = messages.invoice_status_email(
        **facts, first_name=recipient.first_name, invoice_url=links.absolute(portal_url, path)
    )
    await queue_email(
        conn,
        envelope,
        address=recipient.contact_email,
        user_id=recipient.user_id,
        content=email,
    )
    entry = messages.invoice_status_feed(**facts, link=path)
    await add_feed_item(conn, envelope, user_id=recipient.user_id, entry=entry)


def subscriptions(settings: NotificationsSettings) -> list[Subscription]:
    return [
        Subscription(events.InvoiceSubmitted, on_invoice_submitted),
        Subscription(
            events.InvoiceStatusChanged,
            partial(on_invoice_status_changed, portal_url=settings.portal_url),
        ),
    ]
