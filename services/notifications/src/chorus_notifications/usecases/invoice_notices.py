"""Invoice notices (invoices' events): the depositor's feed and status e-mails, the recipient
structure's members told of a new or completed invoice, the supplier's other managers told
of the recipient's status changes (members from the structure members projection). A user
who chose an hourly or daily digest gets the invoice e-mails in it (``usecases/digests.py``)."""

from __future__ import annotations

from chorus_platform.unit_of_work import Transaction

from chorus_notifications.domain import links, messages
from chorus_notifications.domain.errors import RecipientNotKnownYet
from chorus_notifications.domain.ids import is_uuid
from chorus_notifications.domain.invoices import InvoiceSubmission, StatusChange
from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.recipients import DEFAULT_LOCALE
from chorus_notifications.store import addressees, members
from chorus_notifications.usecases.digests import InvoiceDigests
from chorus_notifications.usecases.notify import add_feed_item, email_recipient, recipient


class InvoiceNotices:
    """Links in e-mails point into the portal at ``portal_url``; ``digests`` keeps the invoice
    e-mails of users who chose a digest."""

    def __init__(self, *, portal_url: str, digests: InvoiceDigests | None = None) -> None:
        self._portal_url = portal_url
        self._digests = digests or InvoiceDigests()

    async def submitted(
        self, tx: Transaction, *, event_id: str, submission: InvoiceSubmission
    ) -> None:
        """Tells the depositor in their feed that the invoice was deposited."""
        if not submission.submitted_by:
            return
        person = await recipient(tx, submission.submitted_by)
        draft = messages.invoice_submitted_feed(
            number=submission.number,
            gross_total=submission.gross_total,
            currency=submission.currency,
            link=links.invoice_path(submission.invoice_id),
            locale=person.locale if person else DEFAULT_LOCALE,
        )
        await add_feed_item(tx, event_id=event_id, user_id=submission.submitted_by, draft=draft)

    async def status_changed(self, tx: Transaction, *, event_id: str, change: StatusChange) -> None:
        """E-mails the depositor and adds a feed item; on MISE_A_DISPOSITION, also tells the
        recipient structure's members; on COMPLETEE, tells them the supplier's answer; on a
        change made by the recipient, the supplier's other managers (feed only).

        Raises RecipientNotKnownYet while the depositor (a person; a technical account is
        told nothing) is missing from the recipients projection, so the consumer retries
        (then dead-letters) the event.
        """
        if change.depositor_user_id:
            await self._tell_depositor(tx, event_id, change)
        if change.makes_available:
            await self._tell_recipient_structure(tx, event_id, change)
        elif change.completes:
            await self._tell_recipient_structure(tx, event_id, change, completed=True)
        elif await _made_by_recipient(tx, change):
            await _tell_supplier_managers(tx, event_id, change)

    async def _tell_depositor(self, tx: Transaction, event_id: str, change: StatusChange) -> None:
        """The depositor's e-mail and feed item; none for a technical account (an invoice
        deposited through the Chorus Pro-compatible API: its software polls)."""
        kind = NotificationKind.INVOICE_STATUS_CHANGED
        found = await addressees.addressee(tx.conn, change.depositor_user_id, kind)
        if found.technical:
            return
        if found.recipient is None:
            raise RecipientNotKnownYet(change.depositor_user_id)
        person = found.recipient
        path = links.invoice_path(change.invoice_id)
        facts = {
            "number": change.number,
            "from_status": change.from_status,
            "to_status": change.to_status,
            "comment": change.comment,
            "locale": person.locale,
        }
        if change.emails_depositor and not await self._digests.keep_for_digest(
            tx,
            event_id=event_id,
            user_id=person.user_id,
            setting=found.setting,
            kind=kind,
            invoice_id=change.invoice_id,
            number=change.number,
            status=change.to_status,
            comment=change.comment,
        ):
            email = messages.invoice_status_email(
                **facts,
                first_name=person.first_name,
                invoice_url=links.absolute(self._portal_url, path),
            )
            await email_recipient(
                tx, event_id=event_id, recipient=person, draft=email, enabled=found.setting.enabled
            )
        entry = messages.invoice_status_feed(**facts, link=path)
        await add_feed_item(tx, event_id=event_id, user_id=person.user_id, draft=entry)

    async def _tell_recipient_structure(
        self, tx: Transaction, event_id: str, change: StatusChange, *, completed: bool = False
    ) -> None:
        """E-mails every member of the recipient structure (managers and users) who may see
        the invoice — members limited to some services only for their services' invoices —
        and adds a feed item for each: a new invoice, or (``completed``) the supplier's answer
        to a suspension. A member missing from the recipients projection still gets the feed
        item, but no e-mail (no address known). Members, addresses and settings come in one
        query."""
        if not change.recipient_structure_id:
            return
        path = links.invoice_path(change.invoice_id)
        kind = (
            NotificationKind.INVOICE_COMPLETED if completed else NotificationKind.INVOICE_RECEIVED
        )
        told = await addressees.of_structure(tx.conn, change.recipient_structure_id, kind)
        for member, found in told:
            if not member.may_see_service(change.service_code):
                continue
            person = found.recipient
            locale = person.locale if person else DEFAULT_LOCALE
            if person is not None:
                await self._email_member(tx, event_id, change, found, completed=completed)
            if completed:
                entry = messages.invoice_completed_feed(
                    number=change.number, comment=change.comment, link=path, locale=locale
                )
            else:
                entry = messages.invoice_received_feed(
                    number=change.number, link=path, locale=locale
                )
            await add_feed_item(tx, event_id=event_id, user_id=member.user_id, draft=entry)

    async def _email_member(
        self,
        tx: Transaction,
        event_id: str,
        change: StatusChange,
        found: addressees.Addressee,
        *,
        completed: bool,
    ) -> None:
        """The new (or completed) invoice's e-mail to one member, or its digest entry."""
        person = found.recipient
        assert person is not None
        kept = await self._digests.keep_for_digest(
            tx,
            event_id=event_id,
            user_id=person.user_id,
            setting=found.setting,
            kind=NotificationKind.INVOICE_COMPLETED
            if completed
            else NotificationKind.INVOICE_RECEIVED,
            invoice_id=change.invoice_id,
            number=change.number,
            status=change.to_status,
            comment=change.comment if completed else "",
        )
        if kept:
            return
        url = links.absolute(self._portal_url, links.invoice_path(change.invoice_id))
        if completed:
            email = messages.invoice_completed_email(
                first_name=person.first_name,
                number=change.number,
                comment=change.comment,
                invoice_url=url,
                locale=person.locale,
            )
        else:
            email = messages.invoice_received_email(
                first_name=person.first_name,
                number=change.number,
                invoice_url=url,
                locale=person.locale,
            )
        await email_recipient(
            tx, event_id=event_id, recipient=person, draft=email, enabled=found.setting.enabled
        )


def _structure_kind(completed: bool) -> NotificationKind:
    """What the recipient structure's members are told: a new invoice, or a completed one."""
    return NotificationKind.INVOICE_COMPLETED if completed else NotificationKind.INVOICE_RECEIVED


async def _made_by_recipient(tx: Transaction, change: StatusChange) -> bool:
    """Whether the change's actor is a member of the recipient structure."""
    if not change.recipient_structure_id or not is_uuid(change.actor):
        return False
    return await members.is_member(
        tx.conn, structure_id=change.recipient_structure_id, user_id=change.actor
    )


async def _tell_supplier_managers(tx: Transaction, event_id: str, change: StatusChange) -> None:
    """Feed items (no e-mail, to avoid noise) for the supplier structure's managers other
    than the depositor, who already got the e-mail."""
    if not change.supplier_structure_id:
        return
    path = links.invoice_path(change.invoice_id)
    for member in await members.of_structure(tx.conn, change.supplier_structure_id):
        if not member.is_manager or member.user_id == change.depositor_user_id:
            continue
        person = await recipient(tx, member.user_id)
        entry = messages.supplier_invoice_status_feed(
            number=change.number,
            from_status=change.from_status,
            to_status=change.to_status,
            comment=change.comment,
            link=path,
            locale=person.locale if person else DEFAULT_LOCALE,
        )
        await add_feed_item(tx, event_id=event_id, user_id=member.user_id, draft=entry)
