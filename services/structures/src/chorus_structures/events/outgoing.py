"""The outgoing events of structures: :func:`encode` maps each domain event
(``domain/events.py``) to its ``chorus.structures.events.v1`` message and aggregate key.

Pure: no I/O. The unit of work calls it when a use case emits an event and writes the result
to the outbox in the change's transaction. Every event is keyed by the structure id so one
structure's events stay in order; the directory import's summary, which concerns many
structures, is keyed "directory"; a sollicitation's, by the sollicitation id (a thread may
concern no structure at all: one addressed to the support).
"""

from __future__ import annotations

from dataclasses import replace
from functools import singledispatch
from uuid import UUID

from chorus.structures.events.v1 import structures_events_pb2 as pb
from chorus_platform.unit_of_work import OutgoingEvent

from chorus_structures.contract import (
    attachment_request_to_proto,
    enum_to_proto,
    service_to_proto,
    sollicitation_to_proto,
    structure_to_proto,
    subscription_to_proto,
    timestamp,
)
from chorus_structures.domain.attachments import AttachmentStatus, Decision
from chorus_structures.domain.events import (
    AttachmentDecided,
    AttachmentRequestCancelled,
    AttachmentRequested,
    DirectoryImported,
    MemberAdded,
    MemberDetached,
    MemberRoleChanged,
    MemberServicesChanged,
    PrincipalTransferred,
    ServiceCreated,
    ServiceUpdated,
    SollicitationClosed,
    SollicitationCreated,
    SollicitationReplied,
    SpaceClosed,
    SpaceOpened,
    StructureCreated,
    StructureUpdated,
    SubscriptionDecided,
    SubscriptionRequested,
)

SERVICE = "structures"
DIRECTORY_KEY = "directory"


def _id(value: UUID | None) -> str:
    return str(value) if value else ""


@singledispatch
def encode(event: object) -> OutgoingEvent:
    """The outbox form of one of structures' domain events; TypeError for anything else."""
    raise TypeError(f"not an event structures publishes: {type(event).__name__}")


@encode.register
def _(event: StructureCreated) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.structure.id),
        pb.StructureCreated(
            structure=structure_to_proto(event.structure), created_by=_id(event.created_by)
        ),
    )


@encode.register
def _(event: StructureUpdated) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.structure.id),
        pb.StructureUpdated(
            structure=structure_to_proto(event.structure), updated_by=_id(event.updated_by)
        ),
    )


@encode.register
def _(event: ServiceCreated) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.structure_id),
        pb.ServiceCreated(
            structure_id=str(event.structure_id),
            service=service_to_proto(event.service),
            created_by=_id(event.created_by),
        ),
    )


@encode.register
def _(event: ServiceUpdated) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.structure_id),
        pb.ServiceUpdated(
            structure_id=str(event.structure_id),
            service=service_to_proto(event.service),
            updated_by=_id(event.updated_by),
        ),
    )


@encode.register
def _(event: MemberAdded) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.structure_id),
        pb.MemberAdded(
            structure_id=str(event.structure_id),
            user_id=str(event.user_id),
            role=enum_to_proto(event.role),
            added_by=_id(event.added_by),
            structure_name=event.structure_name,
            attachment_request_id=_id(event.attachment_request_id),
            service_ids=[str(s) for s in event.service_ids],
            service_codes=list(event.service_codes),
        ),
    )


@encode.register
def _(event: AttachmentRequested) -> OutgoingEvent:
    request = event.request
    return OutgoingEvent(
        str(request.structure_id),
        pb.AttachmentRequested(
            request=attachment_request_to_proto(request),
            manager_user_ids=[str(m) for m in event.manager_ids],
            structure_name=request.structure_name,
        ),
    )


@encode.register
def _(event: AttachmentRequestCancelled) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.request.structure_id),
        pb.AttachmentRequestCancelled(request=attachment_request_to_proto(event.request)),
    )


@encode.register
def _(event: AttachmentDecided) -> OutgoingEvent:
    request = event.request
    decision = Decision.VALIDEE if request.status is AttachmentStatus.VALIDEE else Decision.REFUSEE
    return OutgoingEvent(
        str(request.structure_id),
        pb.AttachmentDecided(
            request=attachment_request_to_proto(request),
            structure_name=request.structure_name,
            requester_user_id=str(request.user_id),
            decision=enum_to_proto(decision),
            role=enum_to_proto(request.granted_role) if request.granted_role else 0,
            comment=request.decision_comment,
            decided_by=_id(request.decided_by),
        ),
    )


@encode.register
def _(event: MemberRoleChanged) -> OutgoingEvent:
    structure = event.structure
    return OutgoingEvent(
        str(structure.id),
        pb.MemberRoleChanged(
            structure_id=str(structure.id),
            user_id=str(event.user_id),
            previous_role=enum_to_proto(event.previous),
            role=enum_to_proto(event.role),
            changed_by=_id(event.changed_by),
            structure_name=structure.raison_sociale,
        ),
    )


@encode.register
def _(event: MemberServicesChanged) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.structure_id),
        pb.MemberServicesChanged(
            structure_id=str(event.structure_id),
            user_id=str(event.user_id),
            service_ids=[str(s) for s in event.service_ids],
            changed_by=_id(event.changed_by),
            service_codes=list(event.service_codes),
        ),
    )


@encode.register
def _(event: MemberDetached) -> OutgoingEvent:
    structure = event.structure
    return OutgoingEvent(
        str(structure.id),
        pb.MemberDetached(
            structure_id=str(structure.id),
            user_id=str(event.user_id),
            role=enum_to_proto(event.role),
            detached_by=_id(event.by),
            left=event.by == event.user_id,
            structure_name=structure.raison_sociale,
        ),
    )


@encode.register
def _(event: PrincipalTransferred) -> OutgoingEvent:
    structure = event.structure
    return OutgoingEvent(
        str(structure.id),
        pb.PrincipalTransferred(
            structure_id=str(structure.id),
            previous_principal_user_id=str(event.previous),
            new_principal_user_id=str(event.new),
            structure_name=structure.raison_sociale,
        ),
    )


@encode.register
def _(event: SpaceOpened) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.structure_id),
        pb.SpaceOpened(
            structure_id=str(event.structure_id),
            space=enum_to_proto(event.space),
            opened_by=_id(event.by),
        ),
    )


@encode.register
def _(event: SpaceClosed) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.structure_id),
        pb.SpaceClosed(
            structure_id=str(event.structure_id),
            space=enum_to_proto(event.space),
            closed_by=_id(event.by),
        ),
    )


@encode.register
def _(event: SubscriptionRequested) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.subscription.structure_id),
        pb.SubscriptionRequested(
            subscription=subscription_to_proto(event.subscription),
            manager_user_ids=[str(m) for m in event.manager_ids],
            structure_name=event.structure_name,
        ),
    )


@encode.register
def _(event: SubscriptionDecided) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.subscription.structure_id),
        pb.SubscriptionDecided(
            subscription=subscription_to_proto(event.subscription),
            structure_name=event.structure_name,
        ),
    )


@encode.register
def _(event: DirectoryImported) -> OutgoingEvent:
    return OutgoingEvent(
        DIRECTORY_KEY,
        pb.DirectoryImported(
            source=event.source,
            structures_created=event.created,
            structures_updated=event.updated,
            services_upserted=event.services,
            imported_at=timestamp(event.at),
        ),
    )


def _without_messages(sollicitation):
    return sollicitation_to_proto(replace(sollicitation, messages=()))


@encode.register
def _(event: SollicitationCreated) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.sollicitation.id),
        pb.SollicitationCreated(
            sollicitation=_without_messages(event.sollicitation),
            addressee_user_ids=[str(u) for u in event.addressee_ids],
        ),
    )


@encode.register
def _(event: SollicitationReplied) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.sollicitation.id),
        pb.SollicitationReplied(
            sollicitation=_without_messages(event.sollicitation),
            author_user_id=str(event.author_id),
            from_sender=event.from_sender,
            recipient_user_ids=[str(u) for u in event.recipient_ids],
        ),
    )


@encode.register
def _(event: SollicitationClosed) -> OutgoingEvent:
    return OutgoingEvent(
        str(event.sollicitation.id),
        pb.SollicitationClosed(
            sollicitation=_without_messages(event.sollicitation),
            closed_by=str(event.closed_by),
            recipient_user_ids=[str(u) for u in event.recipient_ids],
        ),
    )
