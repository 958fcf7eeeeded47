"""The one consumer of notifications: identity, invoices and structures events."""

from __future__ import annotations

import asyncpg
from chorus_platform.consumer import EventConsumer, Subscription
from chorus_platform.outbox import topic_of
from chorus_platform.unit_of_work import UnitOfWork

from chorus_notifications.config import NotificationsSettings
from chorus_notifications.events import identity, invoices, structures

# Producing service → the subscriptions to its events.
SOURCES = {
    "identity": identity.subscriptions,
    "invoices": invoices.subscriptions,
    "structures": structures.subscriptions,
}


def build_consumer(pool: asyncpg.Pool, settings: NotificationsSettings) -> EventConsumer:
    """The consumer group is named after the service and reads every source's topic."""
    return EventConsumer(
        name=settings.service_name,
        topics=[topic_of(service) for service in SOURCES],
        subscriptions=[
            _on_connection(s) for subscribe in SOURCES.values() for s in subscribe(settings)
        ],
        uow=UnitOfWork(pool, service=settings.service_name),
        settings=settings,
    )


def _on_connection(subscription: Subscription) -> Subscription:
    handler = subscription.handler

    async def handle(tx, message, envelope):
        await handler(tx.conn, message, envelope)

    return Subscription(subscription.message_type, handle)
