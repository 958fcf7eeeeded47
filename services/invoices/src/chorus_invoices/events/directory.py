"""The ``invoices-directory`` consumer: structures' events that describe structures, applied
to invoices' directory read model (:mod:`chorus_invoices.usecases.directory`) in the
consumer's transaction, which also holds the inbox row.

StructureCreated and StructureUpdated carry the whole structure; ServiceCreated and
ServiceUpdated one service, put into the structure held (by id); DirectoryImported none: the
entries are asked of structures again. Each event's time (``ce_time``) orders them. One
consumer group serves every replica: the model is in the database they share.
"""

from __future__ import annotations

from datetime import UTC, datetime

import chorus_platform.cloudevents
from chorus.structures.events.v1 import structures_events_pb2 as events_pb
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.consumer import EventConsumer, Subscription
from chorus_platform.outbox import topic_of
from chorus_platform.settings import ChorusSettings
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_invoices.domain.directory import DirectoryEntry
from chorus_invoices.usecases import directory

CONSUMER_NAME = "invoices-directory"
SOURCE = "structures"


def event_time(envelope: chorus_platform.cloudevents.Envelope) -> datetime | None:
    """The event's ``ce_time`` (None when missing or unreadable)."""
    try:
        at = datetime.fromisoformat(envelope.time)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def entry_of(structure: pb.Structure) -> DirectoryEntry:
    """``structure`` as the read model keeps it."""
    return DirectoryEntry(
        structure_id=structure.id,
        identifier_type=pb.IdentifierType.Name(structure.identifier_type).removeprefix(
            "IDENTIFIER_TYPE_"
        ),
        identifier=structure.identifier,
        public=structure.kind == pb.STRUCTURE_KIND_PUBLIQUE,
        payload=structure.SerializeToString(),
    )


async def structure_described(
    tx: Transaction,
    message: events_pb.StructureCreated | events_pb.StructureUpdated,
    envelope: chorus_platform.cloudevents.Envelope,
) -> None:
    """StructureCreated, StructureUpdated: the structure as it is now."""
    await directory.structure_described(tx, entry_of(message.structure), event_time(envelope))


async def service_changed(
    tx: Transaction,
    message: events_pb.ServiceCreated | events_pb.ServiceUpdated,
    envelope: chorus_platform.cloudevents.Envelope,
) -> None:
    """ServiceCreated, ServiceUpdated: the service replaces the one with its id (or is
    added) in the structure held."""
    await directory.service_changed(
        tx, message.structure_id, event_time(envelope), _with_service(message.service)
    )


async def directory_imported(
    tx: Transaction,
    message: events_pb.DirectoryImported,
    envelope: chorus_platform.cloudevents.Envelope,
) -> None:
    """DirectoryImported: every entry may be out of date."""
    await directory.directory_imported(tx)


def _with_service(service: pb.StructureService):
    def revise(payload: bytes) -> bytes:
        structure = pb.Structure.FromString(payload)
        for held in structure.services:
            if held.id == service.id:
                held.CopyFrom(service)
                break
        else:
            structure.services.append(service)
        return structure.SerializeToString()

    return revise


def directory_consumer(uow: UnitOfWork, settings: ChorusSettings) -> EventConsumer:
    """The consumer group ``invoices-directory`` on structures' topic."""
    return EventConsumer(
        name=CONSUMER_NAME,
        topics=[topic_of(SOURCE)],
        subscriptions=[
            Subscription(events_pb.StructureCreated, structure_described),
            Subscription(events_pb.StructureUpdated, structure_described),
            Subscription(events_pb.ServiceCreated, service_changed),
            Subscription(events_pb.ServiceUpdated, service_changed),
            Subscription(events_pb.DirectoryImported, directory_imported),
        ],
        uow=uow,
        settings=settings,
    )
