"""Domain → ``chorus.structures.v1`` messages that the API answers with and the outgoing
events embed (a Structure inside StructureCreated, an AttachmentRequest inside
AttachmentDecided...): one mapping, so both always say the same thing.

Proto enums carry their prefix (``IDENTIFIER_TYPE_SIRET``); the domain uses the bare names
(``SIRET``), which are also what the database stores. Imports the domain only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from chorus.common.v1 import common_pb2
from chorus.structures.v1 import structures_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_structures.domain.access import Role
from chorus_structures.domain.attachments import AttachmentRequest, AttachmentStatus, Decision
from chorus_structures.domain.history import ActionKind
from chorus_structures.domain.identifiers import IdentifierType
from chorus_structures.domain.people import Profile
from chorus_structures.domain.sollicitations import (
    Message,
    Sollicitation,
    SollicitationBox,
    SollicitationStatus,
)
from chorus_structures.domain.spaces import AccessMode, Space
from chorus_structures.domain.structure import (
    Structure,
    StructureKind,
    StructureService,
    StructureStatus,
)
from chorus_structures.domain.subscriptions import Subscription, SubscriptionStatus

E = TypeVar("E", bound=StrEnum)

_PREFIXES = {
    IdentifierType: "IDENTIFIER_TYPE_",
    StructureKind: "STRUCTURE_KIND_",
    StructureStatus: "STRUCTURE_STATUS_",
    Role: "ROLE_",
    Space: "SPACE_",
    AccessMode: "ACCESS_MODE_",
    AttachmentStatus: "ATTACHMENT_REQUEST_STATUS_",
    Decision: "DECISION_",
    SubscriptionStatus: "SUBSCRIPTION_STATUS_",
    ActionKind: "MANAGER_ACTION_KIND_",
    SollicitationStatus: "SOLLICITATION_STATUS_",
    SollicitationBox: "SOLLICITATION_BOX_",
}
_PROTO_ENUMS = {
    IdentifierType: pb.IdentifierType,
    StructureKind: pb.StructureKind,
    StructureStatus: pb.StructureStatus,
    Role: pb.Role,
    Space: pb.Space,
    AccessMode: pb.AccessMode,
    AttachmentStatus: pb.AttachmentRequestStatus,
    Decision: pb.Decision,
    SubscriptionStatus: pb.SubscriptionStatus,
    ActionKind: pb.ManagerActionKind,
    SollicitationStatus: pb.SollicitationStatus,
    SollicitationBox: pb.SollicitationBox,
}


def enum_from_proto(enum: type[E], value: int) -> E | None:
    """The domain member for a proto enum value; None for ``*_UNSPECIFIED`` or unknown values."""
    try:
        name = _PROTO_ENUMS[enum].Name(value).removeprefix(_PREFIXES[enum])
    except ValueError:
        return None
    return enum.__members__.get(name)


def enum_to_proto(member: StrEnum) -> int:
    enum = type(member)
    return _PROTO_ENUMS[enum].Value(_PREFIXES[enum] + member.value)


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def structure_to_proto(structure: Structure) -> pb.Structure:
    created_at = Timestamp()
    created_at.FromDatetime(structure.created_at)
    return pb.Structure(
        id=str(structure.id),
        identifier_type=enum_to_proto(structure.identifier.type),
        identifier=structure.identifier.value,
        raison_sociale=structure.raison_sociale,
        libelle=structure.libelle,
        kind=enum_to_proto(structure.kind),
        status=enum_to_proto(structure.status),
        address=common_pb2.Address(
            line1=structure.address.line1,
            line2=structure.address.line2,
            postal_code=structure.address.postal_code,
            city=structure.address.city,
            country=structure.address.country,
        ),
        email=structure.email,
        vat_number=structure.vat_number,
        routing=pb.RoutingParameters(
            service_code_required=structure.routing.service_code_required,
            engagement_required=structure.routing.engagement_required,
            service_or_engagement_required=structure.routing.service_or_engagement_required,
            payment_status_not_reported=structure.routing.payment_status_not_reported,
        ),
        services=[service_to_proto(s) for s in structure.services],
        created_at=created_at,
        cpp_id=structure.cpp_id,
    )


def service_to_proto(service: StructureService) -> pb.StructureService:
    return pb.StructureService(
        id=str(service.id),
        code=service.code,
        name=service.name,
        active=service.active,
        engagement_required=service.engagement_required,
        reserved_for_public_suppliers=service.reserved_for_public_suppliers,
        cpp_id=service.cpp_id,
        created_at=timestamp(service.created_at),
    )


def person_to_proto(user_id: UUID | None, profiles: Mapping[UUID, Profile]) -> pb.Person | None:
    """The user with the profile identity gave (ids only when identity did not answer)."""
    if user_id is None:
        return None
    profile = profiles.get(user_id)
    if profile is None:
        return pb.Person(user_id=str(user_id))
    return pb.Person(
        user_id=str(user_id),
        first_name=profile.first_name,
        last_name=profile.last_name,
        email=profile.email,
    )


def attachment_request_to_proto(
    request: AttachmentRequest, profiles: Mapping[UUID, Profile] | None = None
) -> pb.AttachmentRequest:
    return pb.AttachmentRequest(
        id=str(request.id),
        structure_id=str(request.structure_id),
        requester=person_to_proto(request.user_id, profiles or {}),
        status=enum_to_proto(request.status),
        comment=request.comment,
        service_ids=[str(s) for s in request.service_ids],
        granted_role=enum_to_proto(request.granted_role) if request.granted_role else 0,
        decision_comment=request.decision_comment,
        decided_by=str(request.decided_by) if request.decided_by else "",
        requested_at=timestamp(request.requested_at),
        decided_at=timestamp(request.decided_at),
        structure_name=request.structure_name,
    )


def subscription_to_proto(
    subscription: Subscription, profiles: Mapping[UUID, Profile] | None = None
) -> pb.Subscription:
    return pb.Subscription(
        id=str(subscription.id),
        structure_id=str(subscription.structure_id),
        user=person_to_proto(subscription.user_id, profiles or {}),
        space=enum_to_proto(subscription.space),
        mode=enum_to_proto(subscription.mode),
        status=enum_to_proto(subscription.status),
        decision_comment=subscription.decision_comment,
        decided_by=str(subscription.decided_by) if subscription.decided_by else "",
        requested_at=timestamp(subscription.requested_at),
        decided_at=timestamp(subscription.decided_at),
    )


def _message_to_proto(
    message: Message, profiles: Mapping[UUID, Profile]
) -> pb.SollicitationMessage:
    return pb.SollicitationMessage(
        id=str(message.id),
        author=person_to_proto(message.author_id, profiles),
        from_sender=message.from_sender,
        body=message.body,
        created_at=timestamp(message.created_at),
        attachments=[
            pb.SollicitationAttachment(
                id=str(a.id), filename=a.filename, media_type=a.media_type, size=a.size
            )
            for a in message.attachments
        ],
    )


def sollicitation_to_proto(
    sollicitation: Sollicitation,
    profiles: Mapping[UUID, Profile] | None = None,
    *,
    caller_is_sender: bool = False,
) -> pb.Sollicitation:
    """With its messages when ``sollicitation`` carries them (events do not)."""
    known = profiles or {}

    def _id(value: UUID | None) -> str:
        return str(value) if value else ""

    return pb.Sollicitation(
        id=str(sollicitation.id),
        sender=person_to_proto(sollicitation.sender_id, known),
        sender_structure_id=_id(sollicitation.sender_structure_id),
        sender_structure_name=sollicitation.sender_structure_name,
        addressee_structure_id=_id(sollicitation.addressee_structure_id),
        addressee_structure_name=sollicitation.addressee_structure_name,
        to_support=sollicitation.to_support,
        subject=sollicitation.subject,
        invoice_id=_id(sollicitation.invoice_id),
        invoice_number=sollicitation.invoice_number,
        structure_id=_id(sollicitation.object_structure_id),
        structure_name=sollicitation.object_structure_name,
        status=enum_to_proto(sollicitation.status),
        created_at=timestamp(sollicitation.created_at),
        updated_at=timestamp(sollicitation.updated_at),
        messages=[_message_to_proto(m, known) for m in sollicitation.messages],
        caller_is_sender=caller_is_sender,
    )
