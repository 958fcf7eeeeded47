"""The one way an invoice comes into being or changes status: table check, row, history, event.

Each function runs inside the caller's transaction (with the invoice row locked for a change),
so the state, its history entry and its outbox event commit together. Entering ``DEPOSEE``
announces ``InvoiceSubmitted`` (the routing consumer and notifications react to it); every
other move announces ``InvoiceStatusChanged``.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform import outbox
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.errors import (
    RejectionAlreadyAcknowledged,
    TransitionNotAllowed,
    invalid,
)
from chorus_invoices.domain.invoice import HistoryEntry, Invoice
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.domain.totals import format_decimal
from chorus_invoices.store import history, invoices

SERVICE = "invoices"


async def record_new(conn: asyncpg.Connection, invoice: Invoice, actor: str) -> None:
    """Stores a new invoice (draft or deposited) with its first history entry."""
    lifecycle.transition(None, invoice.status, Party.SUPPLIER)
    await invoices.insert(conn, invoice)
    await history.append(conn, invoice.id, HistoryEntry(invoice.status, invoice.created_at, actor))
    if invoice.status is Status.DEPOSEE:
        await _announce_submitted(conn, invoice)


async def move(
    conn: asyncpg.Connection,
    invoice: Invoice,
    target: Status,
    *,
    party: Party,
    actor: str,
    at: datetime,
    comment: str = "",
) -> Invoice:
    """Moves a locked invoice to ``target``; TransitionNotAllowed when the table forbids it."""
    step = lifecycle.transition(invoice.status, target, party)
    if step.comment_required and not comment.strip():
        raise invalid("COMMENT_REQUIRED", "comment", "Indiquez le motif de ce changement.")
    moved = invoice.moved_to(target, at, actor)
    await invoices.save_status(conn, moved)
    await history.append(conn, invoice.id, HistoryEntry(target, at, actor, comment))
    if target is Status.DEPOSEE:
        await _announce_submitted(conn, moved)
    else:
        await _announce_status_change(conn, invoice.status, moved, actor, comment, at)
    return moved


async def acknowledge_rejection(
    conn: asyncpg.Connection, invoice: Invoice, *, actor: str, at: datetime
) -> None:
    """Records the supplier's acknowledgement of a locked REJETEE invoice, with its event."""
    if invoice.status is not Status.REJETEE:
        raise TransitionNotAllowed(invoice.status, Status.REJETEE)
    if invoice.rejection_acknowledged_at is not None:
        raise RejectionAlreadyAcknowledged()
    await invoices.save_rejection_acknowledgement(conn, invoice.id, actor, at)
    message = events_pb.InvoiceRejectionAcknowledged(
        invoice_id=invoice.id,
        number=invoice.content.number,
        supplier_structure_id=invoice.supplier.structure_id,
        recipient_structure_id=invoice.recipient.structure_id,
        actor=actor,
        acknowledged_at=_timestamp(at),
    )
    await outbox.add_event(conn, service=SERVICE, key=invoice.id, message=message)


async def _announce_submitted(conn: asyncpg.Connection, invoice: Invoice) -> None:
    message = events_pb.InvoiceSubmitted(
        invoice_id=invoice.id,
        number=invoice.content.number,
        supplier_structure_id=invoice.supplier.structure_id,
        recipient_structure_id=invoice.recipient.structure_id,
        submitted_by=invoice.deposited_by,
        gross_total=format_decimal(invoice.totals.gross_total),
        currency=invoice.content.currency,
        submitted_at=_timestamp(invoice.deposited_at or invoice.updated_at),
    )
    await outbox.add_event(conn, service=SERVICE, key=invoice.id, message=message)


async def _announce_status_change(
    conn: asyncpg.Connection,
    source: Status,
    invoice: Invoice,
    actor: str,
    comment: str,
    at: datetime,
) -> None:
    message = events_pb.InvoiceStatusChanged(
        invoice_id=invoice.id,
        number=invoice.content.number,
        from_status=pb.InvoiceStatus.Value(f"INVOICE_STATUS_{source}"),
        to_status=pb.InvoiceStatus.Value(f"INVOICE_STATUS_{invoice.status}"),
        lifecycle_code=invoice.lifecycle_code or 0,
        supplier_structure_id=invoice.supplier.structure_id,
        recipient_structure_id=invoice.recipient.structure_id,
        depositor_user_id=invoice.deposited_by,
        actor=actor,
        comment=comment,
        changed_at=_timestamp(at),
        service_code=invoice.content.service_code,
    )
    await outbox.add_event(conn, service=SERVICE, key=invoice.id, message=message)


def _timestamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp
