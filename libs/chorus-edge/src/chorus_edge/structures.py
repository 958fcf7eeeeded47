"""Structures as both fronts write them: the enum tables of ``chorus.structures.v1``, and the
request bodies the REST API validates and the portal fills, with their mapping to
StructuresService requests.

What only the REST API sends or answers is in :mod:`chorus_gateway.api.schemas`.
"""

from __future__ import annotations

from chorus.common.v1 import common_pb2
from chorus.structures.v1 import structures_service_pb2 as pb
from pydantic import Field

from chorus_edge.conversions import RequestModel
from chorus_edge.enums import ProtoEnum

IDENTIFIER_TYPE = ProtoEnum(pb.IdentifierType)
STRUCTURE_KIND = ProtoEnum(pb.StructureKind)
STRUCTURE_STATUS = ProtoEnum(pb.StructureStatus)
ROLE = ProtoEnum(pb.Role)
SPACE = ProtoEnum(pb.Space)
ACCESS_MODE = ProtoEnum(pb.AccessMode)
ATTACHMENT_STATUS = ProtoEnum(pb.AttachmentRequestStatus)
DECISION = ProtoEnum(pb.Decision)
SUBSCRIPTION_STATUS = ProtoEnum(pb.SubscriptionStatus)
ACTION_KIND = ProtoEnum(pb.ManagerActionKind)

IdentifierType = IDENTIFIER_TYPE.rest
StructureKind = STRUCTURE_KIND.rest
StructureStatus = STRUCTURE_STATUS.rest
Role = ROLE.rest
Space = SPACE.rest
AccessMode = ACCESS_MODE.rest
AttachmentStatus = ATTACHMENT_STATUS.rest
Decision = DECISION.rest
SubscriptionStatus = SUBSCRIPTION_STATUS.rest
ActionKind = ACTION_KIND.rest


class AddressBody(RequestModel):
    line1: str
    line2: str | None = None
    postal_code: str
    city: str
    country: str = Field(description="ISO 3166-1 alpha-2 code.", examples=["FR"])


class CreateStructureBody(RequestModel):
    identifier_type: IdentifierType
    identifier: str = Field(examples=["73282932000074"])
    raison_sociale: str
    libelle: str | None = None
    kind: StructureKind | None = Field(None, description="PRIVEE unless stated otherwise.")
    address: AddressBody
    email: str | None = None
    vat_number: str | None = None


def create_request(body: CreateStructureBody) -> pb.CreateStructureRequest:
    return pb.CreateStructureRequest(
        identifier_type=IDENTIFIER_TYPE.to_proto(body.identifier_type),
        identifier=body.identifier,
        raison_sociale=body.raison_sociale,
        libelle=body.libelle or "",
        kind=STRUCTURE_KIND.to_proto(body.kind),
        address=common_pb2.Address(
            line1=body.address.line1,
            line2=body.address.line2 or "",
            postal_code=body.address.postal_code,
            city=body.address.city,
            country=body.address.country,
        ),
        email=body.email or "",
        vat_number=body.vat_number or "",
    )


class UpdateStructureBody(RequestModel):
    """Only the fields sent change; ``address`` is replaced whole."""

    raison_sociale: str | None = None
    libelle: str | None = None
    address: AddressBody | None = None
    email: str | None = None
    vat_number: str | None = None
    status: StructureStatus | None = Field(None, description="Principal manager only.")
    service_code_required: bool | None = Field(None, description="Public structures only.")
    engagement_required: bool | None = Field(None, description="Public structures only.")
    service_or_engagement_required: bool | None = Field(None, description="Public structures only.")
    payment_status_not_reported: bool | None = Field(None, description="Public structures only.")


def update_request(structure_id: str, body: UpdateStructureBody) -> pb.UpdateStructureRequest:
    request = pb.UpdateStructureRequest(structure_id=structure_id)
    sent = body.model_fields_set
    for name in (
        "raison_sociale",
        "libelle",
        "email",
        "vat_number",
        "service_code_required",
        "engagement_required",
        "service_or_engagement_required",
        "payment_status_not_reported",
    ):
        value = getattr(body, name)
        if name in sent and value is not None:
            setattr(request, name, value)
    if body.address is not None:
        request.address.CopyFrom(
            common_pb2.Address(
                line1=body.address.line1,
                line2=body.address.line2 or "",
                postal_code=body.address.postal_code,
                city=body.address.city,
                country=body.address.country,
            )
        )
    request.status = STRUCTURE_STATUS.to_proto(body.status)
    return request


class UpdateMemberBody(RequestModel):
    role: Role | None = Field(None, description="GESTIONNAIRE_SECONDAIRE or UTILISATEUR.")
    service_ids: list[str] | None = Field(
        None, description="Services the user is limited to; [] for the whole structure."
    )


def update_member_request(
    structure_id: str, user_id: str, body: UpdateMemberBody
) -> pb.UpdateMemberRequest:
    request = pb.UpdateMemberRequest(
        structure_id=structure_id, user_id=user_id, role=ROLE.to_proto(body.role)
    )
    if body.service_ids is not None:
        request.services.CopyFrom(pb.ServiceSelection(service_ids=body.service_ids))
    return request
