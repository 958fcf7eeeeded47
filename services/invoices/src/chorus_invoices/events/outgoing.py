"""The invoices service's domain events as they travel: protobuf messages of
``chorus.invoices.events.v1``, keyed by invoice id (one invoice's events stay in order).

:func:`encode` is the unit of work's encoder (``main.py`` hands it over): pure, no I/O; it
raises TypeError for anything that is not one of :mod:`chorus_invoices.domain.events`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.unit_of_work import OutgoingEvent
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_invoices.domain.events import (
    InvoiceRejectionAcknowledged,
    InvoiceStatusChanged,
    InvoiceSubmitted,
)
from chorus_invoices.domain.lifecycle import Status
from chorus_invoices.domain.totals import format_decimal


def encode(event: object) -> OutgoingEvent:
    """The outgoing form of one of this service's domain events; TypeError for anything else."""
    encoder = ENCODERS.get(type(event))
    if encoder is None:
        raise TypeError(f"invoices publishes no {type(event).__name__}")
    return encoder(event)


def _submitted(event: InvoiceSubmitted) -> OutgoingEvent:
    invoice = event.invoice
    return OutgoingEvent(
        invoice.id,
        events_pb.InvoiceSubmitted(
            invoice_id=invoice.id,
            number=invoice.content.number,
            supplier_structure_id=invoice.supplier.structure_id,
            recipient_structure_id=invoice.recipient.structure_id,
            submitted_by=invoice.deposited_by,
            gross_total=format_decimal(invoice.totals.gross_total),
            currency=invoice.content.currency,
            submitted_at=_timestamp(invoice.deposited_at or invoice.updated_at),
            cpp_id=invoice.cpp_id,
        ),
    )


def _status_changed(event: InvoiceStatusChanged) -> OutgoingEvent:
    invoice = event.invoice
    return OutgoingEvent(
        invoice.id,
        events_pb.InvoiceStatusChanged(
            invoice_id=invoice.id,
            number=invoice.content.number,
            from_status=_status(event.previous),
            to_status=_status(invoice.status),
            lifecycle_code=invoice.lifecycle_code or 0,
            supplier_structure_id=invoice.supplier.structure_id,
            recipient_structure_id=invoice.recipient.structure_id,
            depositor_user_id=invoice.deposited_by,
            actor=event.actor,
            comment=event.comment,
            changed_at=_timestamp(event.at),
            service_code=invoice.content.service_code,
            cpp_id=invoice.cpp_id,
        ),
    )


def _rejection_acknowledged(event: InvoiceRejectionAcknowledged) -> OutgoingEvent:
    invoice = event.invoice
    return OutgoingEvent(
        invoice.id,
        events_pb.InvoiceRejectionAcknowledged(
            invoice_id=invoice.id,
            number=invoice.content.number,
            supplier_structure_id=invoice.supplier.structure_id,
            recipient_structure_id=invoice.recipient.structure_id,
            actor=event.actor,
            acknowledged_at=_timestamp(event.at),
            cpp_id=invoice.cpp_id,
        ),
    )


ENCODERS: dict[type, Callable] = {
    InvoiceSubmitted: _submitted,
    InvoiceStatusChanged: _status_changed,
    InvoiceRejectionAcknowledged: _rejection_acknowledged,
}
"""One encoder per domain event (a test checks none is missing)."""


def _status(status: Status) -> int:
    return pb.InvoiceStatus.Value(f"INVOICE_STATUS_{status}")


def _timestamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp
