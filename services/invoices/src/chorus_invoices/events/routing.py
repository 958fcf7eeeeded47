"""Routing consumer: takes each deposited invoice to its recipient.

On ``InvoiceSubmitted`` the invoice moves ``DEPOSEE`` → ``EN_COURS_ACHEMINEMENT`` →
``MISE_A_DISPOSITION`` (actor ``system``), each step with its history entry and its
``InvoiceStatusChanged`` event, all in the handler's transaction. The consumer's inbox drops a
redelivered event; the status check drops a second event for an invoice already routed, so an
invoice is routed exactly once per deposit, across restarts too.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import asyncpg
import chorus_platform.cloudevents
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus_platform.consumer import EventConsumer, Subscription
from chorus_platform.outbox import topic_of
from chorus_platform.settings import ChorusSettings
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_invoices.domain.invoice import SYSTEM_ACTOR
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.events import status_changes
from chorus_invoices.store import invoices

log = logging.getLogger(__name__)

CONSUMER_NAME = "invoices-routing"
ROUTE = (Status.EN_COURS_ACHEMINEMENT, Status.MISE_A_DISPOSITION)


async def route_submitted_invoice(
    tx: Transaction,
    message: events_pb.InvoiceSubmitted,
    envelope: chorus_platform.cloudevents.Envelope,
) -> None:
    """Routes the deposited invoice unless it has already left ``DEPOSEE``."""
    conn = tx.conn
    invoice = await invoices.get(conn, message.invoice_id, lock=True, details=False)
    if invoice is None:
        log.warning("submitted invoice not found", extra={"invoice_id": message.invoice_id})
        return
    if invoice.status is not Status.DEPOSEE:
        log.info(
            "invoice already routed",
            extra={"invoice_id": invoice.id, "status": invoice.status.value, "event": envelope.id},
        )
        return
    at = datetime.now(UTC)
    for target in ROUTE:
        # Strictly increasing times keep the history in order even within one transaction.
        at = max(datetime.now(UTC), at + timedelta(microseconds=1))
        invoice = await status_changes.move(
            conn, invoice, target, party=Party.SYSTEM, actor=SYSTEM_ACTOR, at=at
        )
    log.info("invoice routed", extra={"invoice_id": invoice.id, "status": invoice.status.value})


def routing_consumer(pool: asyncpg.Pool, settings: ChorusSettings) -> EventConsumer:
    """The consumer group ``invoices-routing`` on the service's own topic."""
    return EventConsumer(
        name=CONSUMER_NAME,
        topics=[topic_of(settings.service_name)],
        subscriptions=[Subscription(events_pb.InvoiceSubmitted, route_submitted_invoice)],
        uow=UnitOfWork(pool, service=settings.service_name),
        settings=settings,
    )
