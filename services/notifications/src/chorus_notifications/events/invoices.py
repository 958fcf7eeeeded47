"""Consumer of invoices' events: decodes them (statuses as codes such as ``DEPOSEE``) and
calls the invoice notices with the consumer's transaction."""

from __future__ import annotations

from chorus.invoices.events.v1 import invoices_events_pb2 as events
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus_platform.cloudevents import Envelope
from chorus_platform.consumer import Subscription
from chorus_platform.unit_of_work import Transaction

from chorus_notifications.domain.invoices import InvoiceSubmission, StatusChange
from chorus_notifications.usecases.invoice_notices import InvoiceNotices

SOURCE = "invoices"
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


class InvoiceEvents:
    def __init__(self, notices: InvoiceNotices) -> None:
        self._notices = notices

    def subscriptions(self) -> list[Subscription]:
        return [
            Subscription(events.InvoiceSubmitted, self.on_invoice_submitted),
            Subscription(events.InvoiceStatusChanged, self.on_invoice_status_changed),
        ]

    async def on_invoice_submitted(
        self, tx: Transaction, event: events.InvoiceSubmitted, envelope: Envelope
    ) -> None:
        submission = InvoiceSubmission(
            invoice_id=event.invoice_id,
            number=event.number,
            gross_total=event.gross_total,
            currency=event.currency,
            submitted_by=event.submitted_by,
        )
        await self._notices.submitted(tx, event_id=envelope.id, submission=submission)

    async def on_invoice_status_changed(
        self, tx: Transaction, event: events.InvoiceStatusChanged, envelope: Envelope
    ) -> None:
        change = StatusChange(
            invoice_id=event.invoice_id,
            number=event.number,
            from_status=status_code(event.from_status),
            to_status=status_code(event.to_status),
            comment=event.comment,
            actor=event.actor,
            depositor_user_id=event.depositor_user_id,
            recipient_structure_id=event.recipient_structure_id,
            supplier_structure_id=event.supplier_structure_id,
            service_code=event.service_code,
        )
        await self._notices.status_changed(tx, event_id=envelope.id, change=change)
