"""Handlers of invoices' events: the depositor's feed and status e-mails, the recipient
structure's users told of a new invoice, the supplier's other managers of the recipient's
status changes (members from the structure members projection)."""

from __future__ import annotations

import uuid
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
from chorus_notifications.store import members, recipients

_STATUS_PREFIX = "INVOICE_STATUS_"
# Statuses the depositor is told of in the feed but not by e-mail.
_FEED_ONLY_STATUSES = frozenset({invoices_pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT})


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
    """E-mails the depositor and adds a feed item; on MISE_A_DISPOSITION, also tells the
    recipient structure's members; on a change made by the recipient, the supplier's other
    managers (feed only).

    Raises RecipientNotKnownYet while the depositor is missing from the recipients
    projection, so the consumer retries (then dead-letters) the event.
    """
    if event.depositor_user_id:
        await _tell_depositor(conn, event, envelope, portal_url=portal_url)
    if event.to_status == invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION:
        await _tell_recipient_structure(conn, event, envelope, portal_url=portal_url)
    elif event.to_status == invoices_pb.INVOICE_STATUS_COMPLETEE:
        await _tell_recipient_structure(
            conn, event, envelope, portal_url=portal_url, completed=True
        )
    elif await _made_by_recipient(conn, event):
        await _tell_supplier_managers(conn, event, envelope)


async def _tell_depositor(
    conn: asyncpg.Connection,
    event: events.InvoiceStatusChanged,
    envelope: Envelope,
    *,
    portal_url: str,
) -> None:
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
    # The routing step a few milliseconds after the deposit goes to the feed only: one e-mail
    # per step would send a depositor of a thousand invoices two thousand e-mails.
    if event.to_status not in _FEED_ONLY_STATUSES:
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


async def _tell_recipient_structure(
    conn: asyncpg.Connection,
    event: events.InvoiceStatusChanged,
    envelope: Envelope,
    *,
    portal_url: str,
    completed: bool = False,
) -> None:
    """E-mails every member of the recipient structure (managers and users) who may see the
    invoice — members limited to some services only for their services' invoices — and adds
    a feed item for each: a new invoice, or (``completed``) the supplier's answer to a
    suspension. A member missing from the recipients projection still gets the feed item,
    but no e-mail (no address known)."""
    if not event.recipient_structure_id:
        return
    path = links.invoice_path(event.invoice_id)
    for member in await members.of_structure(conn, event.recipient_structure_id):
        if not member.may_see_service(event.service_code):
            continue
        person = await recipients.get(conn, member.user_id)
        locale = person.locale if person else DEFAULT_LOCALE
        url = links.absolute(portal_url, path)
        if person is not None:
            if completed:
                email = messages.invoice_completed_email(
                    first_name=person.first_name,
                    number=event.number,
                    comment=event.comment,
                    invoice_url=url,
                    locale=locale,
                )
            else:
                email = messages.invoice_received_email(
                    first_name=person.first_name,
                    number=event.number,
                    invoice_url=url,
                    locale=locale,
                )
            await queue_email(
                conn, envelope, address=person.contact_email, user_id=person.user_id, content=email
            )
        if completed:
            entry = messages.invoice_completed_feed(
                number=event.number, comment=event.comment, link=path, locale=locale
            )
        else:
            entry = messages.invoice_received_feed(number=event.number, link=path, locale=locale)
        await add_feed_item(conn, envelope, user_id=member.user_id, entry=entry)


async def _made_by_recipient(conn: asyncpg.Connection, event: events.InvoiceStatusChanged) -> bool:
    """Whether the change's actor is a member of the recipient structure."""
    if not event.recipient_structure_id or not _is_uuid(event.actor):
        return False
    return await members.is_member(
        conn, structure_id=event.recipient_structure_id, user_id=event.actor
    )


async def _tell_supplier_managers(
    conn: asyncpg.Connection,
    event: events.InvoiceStatusChanged,
    envelope: Envelope,
) -> None:
    """Feed items (no e-mail, to avoid noise) for the supplier structure's managers other
    than the depositor, who already got the e-mail."""
    if not event.supplier_structure_id:
        return
    path = links.invoice_path(event.invoice_id)
    for member in await members.of_structure(conn, event.supplier_structure_id):
        if not member.is_manager or member.user_id == event.depositor_user_id:
            continue
        person = await recipients.get(conn, member.user_id)
        entry = messages.supplier_invoice_status_feed(
            number=event.number,
            from_status=status_code(event.from_status),
            to_status=status_code(event.to_status),
            comment=event.comment,
            link=path,
            locale=person.locale if person else DEFAULT_LOCALE,
        )
        await add_feed_item(conn, envelope, user_id=member.user_id, entry=entry)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def subscriptions(settings: NotificationsSettings) -> list[Subscription]:
    return [
        Subscription(events.InvoiceSubmitted, on_invoice_submitted),
        Subscription(
            events.InvoiceStatusChanged,
            partial(on_invoice_status_changed, portal_url=settings.portal_url),
        ),
    ]
