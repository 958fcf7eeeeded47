"""Routing: takes a deposited invoice to its recipient.

The invoice moves ``DEPOSEE`` → ``EN_COURS_ACHEMINEMENT`` → ``MISE_A_DISPOSITION`` (actor
``system``), each step with its history entry and its ``InvoiceStatusChanged``, in the
transaction of the consumer that got the ``InvoiceSubmitted``. The consumer's inbox drops a
redelivered event; the status check here drops a second event for an invoice already routed,
so an invoice is routed exactly once per deposit, across restarts too.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from chorus_platform.unit_of_work import Transaction

from chorus_invoices.domain.invoice import SYSTEM_ACTOR, Invoice
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.store import invoices
from chorus_invoices.usecases import status_changes

log = logging.getLogger(__name__)

ROUTE = (Status.EN_COURS_ACHEMINEMENT, Status.MISE_A_DISPOSITION)


async def route(tx: Transaction, invoice_id: str) -> Invoice | None:
    """Routes the deposited invoice under its row lock unless it has already left
    ``DEPOSEE`` (or is unknown); the routed invoice, else None."""
    invoice = await invoices.get(tx.conn, invoice_id, lock=True, details=False)
    if invoice is None:
        log.warning("submitted invoice not found", extra={"invoice_id": invoice_id})
        return None
    if invoice.status is not Status.DEPOSEE:
        log.info(
            "invoice already routed",
            extra={"invoice_id": invoice.id, "status": invoice.status.value},
        )
        return None
    at = datetime.now(UTC)
    for target in ROUTE:
        # Strictly increasing times keep the history in order even within one transaction.
        at = max(datetime.now(UTC), at + timedelta(microseconds=1))
        invoice = await status_changes.move(
            tx, invoice, target, party=Party.SYSTEM, actor=SYSTEM_ACTOR, at=at
        )
    log.info("invoice routed", extra={"invoice_id": invoice.id, "status": invoice.status.value})
    return invoice
