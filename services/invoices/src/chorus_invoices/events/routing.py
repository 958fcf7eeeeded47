"""The ``invoices-routing`` consumer: each ``InvoiceSubmitted`` of the service's own topic is
routed (:func:`chorus_invoices.usecases.routing.route`) in the consumer's transaction, which
also holds the inbox row, so a redelivered event has no effect."""

from __future__ import annotations

import chorus_platform.cloudevents
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus_platform.consumer import EventConsumer, Subscription
from chorus_platform.outbox import topic_of
from chorus_platform.settings import ChorusSettings
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_invoices.usecases import routing

CONSUMER_NAME = "invoices-routing"


async def route_submitted_invoice(
    tx: Transaction,
    message: events_pb.InvoiceSubmitted,
    envelope: chorus_platform.cloudevents.Envelope,
) -> None:
    """Routes the deposited invoice unless it has already left ``DEPOSEE``."""
    await routing.route(tx, message.invoice_id)


def routing_consumer(uow: UnitOfWork, settings: ChorusSettings) -> EventConsumer:
    """The consumer group ``invoices-routing`` on the service's own topic."""
    return EventConsumer(
        name=CONSUMER_NAME,
        topics=[topic_of(settings.service_name)],
        subscriptions=[Subscription(events_pb.InvoiceSubmitted, route_submitted_invoice)],
        uow=uow,
        settings=settings,
    )
