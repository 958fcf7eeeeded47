"""What the invoices service announces: one dataclass per event, holding domain values.

Use cases emit them in the transaction that makes the change (``tx.emit(...)``);
:mod:`chorus_invoices.events.outgoing` says how each one travels on
``chorus.invoices.events.v1`` (its protobuf message; key = invoice id, so one invoice's events
stay in order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chorus_invoices.domain.invoice import Invoice
from chorus_invoices.domain.lifecycle import Status


@dataclass(frozen=True)
class InvoiceSubmitted:
    """The invoice entered DEPOSEE (deposit, submitted draft, recycling): the routing consumer
    takes it to its recipient, notifications tell the parties."""

    invoice: Invoice
    """As deposited: ``deposited_by`` / ``deposited_at`` say who and when."""


@dataclass(frozen=True)
class InvoiceStatusChanged:
    """Any other status change: routing, recipient processing, completion."""

    invoice: Invoice
    """In its new status."""
    previous: Status
    actor: str
    """The user id, or ``system`` for routing."""
    comment: str
    at: datetime


@dataclass(frozen=True)
class InvoiceRejectionAcknowledged:
    """The supplier acknowledged the rejection of a REJETEE invoice (it stays REJETEE)."""

    invoice: Invoice
    actor: str
    at: datetime
