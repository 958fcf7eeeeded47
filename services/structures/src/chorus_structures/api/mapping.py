"""Proto ⇄ domain mapping for the structures API and events.

Proto enums carry their prefix (``IDENTIFIER_TYPE_SIRET``); the domain uses the bare names
(``SIRET``), which are also what the database stores.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from chorus.common.v1 import common_pb2
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_structures.domain.access import Role
from chorus_structures.domain.identifiers import IdentifierType
from chorus_structures.domain.spaces import AccessMode, Space
from chorus_structures.domain.structure import (
    Address,
    Structure,
    StructureDraft,
    StructureKind,
    StructureService,
    StructureStatus,
)

E = TypeVar("E", bound=StrEnum)

_PREFIXES = {
    IdentifierType: "IDENTIFIER_TYPE_",
    StructureKind: "STRUCTURE_KIND_",
    StructureStatus: "STRUCTURE_STATUS_",
    Role: "ROLE_",
    Space: "SPACE_",
    AccessMode: "ACCESS_MODE_",
}
_PROTO_ENUMS = {
    IdentifierType: pb.IdentifierType,
    StructureKind: pb.StructureKind,
    StructureStatus: pb.StructureStatus,
    Role: pb.Role,
    Space: pb.Space,
    AccessMode: pb.AccessMode,
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


def uuid_from_request(value: str, field: str, reason: str) -> UUID:
    """A UUID request field; InvalidArgument ``reason`` when it is not one."""
    try:
        return UUID(value)
    except ValueError:
        message = "Identifiant inconnu : ce champ attend un UUID."
        raise InvalidArgument(reason, message, [FieldViolation(field, message)]) from None


def draft_from_proto(request: pb.CreateStructureRequest) -> StructureDraft:
    address = request.address
    return StructureDraft(
        identifier_type=enum_from_proto(IdentifierType, request.identifier_type),
        identifier=request.identifier,
        raison_sociale=request.raison_sociale,
        libelle=request.libelle,
        kind=enum_from_proto(StructureKind, request.kind),
        address=Address(
            line1=address.line1,
            line2=address.line2,
            postal_code=address.postal_code,
            city=address.city,
            country=address.country,
        ),
        email=request.email,
        vat_number=request.vat_number,
    )


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
    )


def service_to_proto(service: StructureService) -> pb.StructureService:
    return pb.StructureService(
        id=str(service.id),
        code=service.code,
        name=service.name,
        active=service.active,
        engagement_required=service.engagement_required,
    )
