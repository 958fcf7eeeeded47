"""The one way an invoice comes into being or changes status: table check, row, history, event.

Each function works inside the caller's transaction ``tx`` (with the invoice row locked for a
change), so the state, its history entry and its event commit together. Entering ``DEPOSEE``
emits :class:`InvoiceSubmitted` (the routing consumer and notifications react to it); every
other move emits :class:`InvoiceStatusChanged`. Whether a move is allowed is the lifecycle
table's decision (:mod:`chorus_invoices.domain.lifecycle`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chorus_platform.unit_of_work import Transaction

from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.errors import (
    InvoiceNotFound,
    RejectionAlreadyAcknowledged,
    TransitionNotAllowed,
    invalid,
)
from chorus_invoices.domain.events import (
    InvoiceRejectionAcknowledged,
    InvoiceStatusChanged,
    InvoiceSubmitted,
)
from chorus_invoices.domain.invoice import HistoryEntry, Invoice
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.store import history, invoices


async def locked(tx: Transaction, invoice_id: str) -> Invoice:
    """The invoice's row locked for a change in ``tx`` (header only); InvoiceNotFound when it
    is gone (a draft deleted since the caller read it)."""
    invoice = await invoices.get(tx.conn, invoice_id, lock=True, details=False)
    if invoice is None:
        raise InvoiceNotFound()
    return invoice


async def record_new(tx: Transaction, invoice: Invoice, actor: str) -> Invoice:
    """Stores a new invoice (draft or deposited) with its first history entry; answers it
    with the integer id (``cpp_id``) the database gave it."""
    lifecycle.transition(None, invoice.status, Party.SUPPLIER)
    invoice = replace(invoice, cpp_id=await invoices.insert(tx.conn, invoice))
    await history.append(
        tx.conn, invoice.id, HistoryEntry(invoice.status, invoice.created_at, actor)
    )
    if invoice.status is Status.DEPOSEE:
        tx.emit(InvoiceSubmitted(invoice))
    return invoice


async def move(
    tx: Transaction,
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
    await invoices.save_status(tx.conn, moved)
    await history.append(tx.conn, invoice.id, HistoryEntry(target, at, actor, comment))
    if target is Status.DEPOSEE:
        tx.emit(InvoiceSubmitted(moved))
    else:
        tx.emit(InvoiceStatusChanged(moved, invoice.status, actor, comment, at))
    return moved


async def acknowledge_rejection(
    tx: Transaction, invoice: Invoice, *, actor: str, at: datetime
) -> None:
    """Records the supplier's acknowledgement of a locked REJETEE invoice, with its event."""
    if invoice.status is not Status.REJETEE:
        raise TransitionNotAllowed(invoice.status, Status.REJETEE)
    if invoice.rejection_acknowledged_at is not None:
        raise RejectionAlreadyAcknowledged()
    await invoices.save_rejection_acknowledgement(tx.conn, invoice.id, actor, at)
    tx.emit(InvoiceRejectionAcknowledged(invoice, actor, at))
