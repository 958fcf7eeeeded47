"""The one consumer of notifications: identity, invoices and structures events, each
source's topic read by the consumer group named after the service."""

from __future__ import annotations

from chorus_platform.consumer import EventConsumer
from chorus_platform.outbox import topic_of
from chorus_platform.unit_of_work import UnitOfWork

from chorus_notifications.config import NotificationsSettings
from chorus_notifications.events import identity, invoices, structures


def build_consumer(
    uow: UnitOfWork,
    settings: NotificationsSettings,
    *,
    identity_events: identity.IdentityEvents,
    invoice_events: invoices.InvoiceEvents,
    structure_events: structures.StructureEvents,
) -> EventConsumer:
    """Every handler runs in the consumer's transaction on ``uow``, with inbox dedupe."""
    sources = {
        identity.SOURCE: identity_events,
        invoices.SOURCE: invoice_events,
        structures.SOURCE: structure_events,
    }
    return EventConsumer(
        name=settings.service_name,
        topics=[topic_of(source) for source in sources],
        subscriptions=[s for events in sources.values() for s in events.subscriptions()],
        uow=uow,
        settings=settings,
    )
