"""Structures and memberships: REST models and their mapping to/from ``chorus.structures.v1``."""

from __future__ import annotations

from datetime import datetime

from chorus.common.v1 import common_pb2
from chorus.structures.v1 import structures_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_gateway.api.enums import ProtoEnum
from chorus_gateway.api.schemas.conversions import RequestModel, optional, timestamp

IDENTIFIER_TYPE = ProtoEnum(pb.IdentifierType)
STRUCTURE_KIND = ProtoEnum(pb.StructureKind)
STRUCTURE_STATUS = ProtoEnum(pb.StructureStatus)
ROLE = ProtoEnum(pb.Role)
SPACE = ProtoEnum(pb.Space)
ACCESS_MODE = ProtoEnum(pb.AccessMode)

IdentifierType = IDENTIFIER_TYPE.rest
StructureKind = STRUCTURE_KIND.rest
StructureStatus = STRUCTURE_STATUS.rest
Role = ROLE.rest
Space = SPACE.rest
AccessMode = ACCESS_MODE.rest


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


class Address(BaseModel):
    line1: str
    line2: str | None
    postal_code: str
    city: str
    country: str


class RoutingParameters(BaseModel):
    service_code_required: bool
    engagement_required: bool
    service_or_engagement_required: bool
    payment_status_not_reported: bool


class StructureService(BaseModel):
    id: str
    code: str
    name: str
    active: bool
    engagement_required: bool


class Structure(BaseModel):
    id: str
    identifier_type: IdentifierType | None
    identifier: str
    raison_sociale: str
    libelle: str | None
    kind: StructureKind | None
    status: StructureStatus | None
    address: Address | None
    email: str | None
    vat_number: str | None
    routing: RoutingParameters
    services: list[StructureService]
    created_at: datetime | None


class StructurePage(BaseModel):
    items: list[Structure]
    next_page_token: str | None


class SpaceAccess(BaseModel):
    space: Space | None
    mode: AccessMode | None


class Membership(BaseModel):
    structure: Structure
    role: Role | None
    services: list[StructureService]
    spaces: list[SpaceAccess]


class MembershipList(BaseModel):
    items: list[Membership]


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


def service(message: pb.StructureService) -> StructureService:
    return StructureService(
        id=message.id,
        code=message.code,
        name=message.name,
        active=message.active,
        engagement_required=message.engagement_required,
    )


def address(message: common_pb2.Address) -> Address:
    return Address(
        line1=message.line1,
        line2=optional(message.line2),
        postal_code=message.postal_code,
        city=message.city,
        country=message.country,
    )


def structure(message: pb.Structure) -> Structure:
    routing = message.routing
    return Structure(
        id=message.id,
        identifier_type=IDENTIFIER_TYPE.to_rest(message.identifier_type),
        identifier=message.identifier,
        raison_sociale=message.raison_sociale,
        libelle=optional(message.libelle),
        kind=STRUCTURE_KIND.to_rest(message.kind),
        status=STRUCTURE_STATUS.to_rest(message.status),
        address=address(message.address) if message.HasField("address") else None,
        email=optional(message.email),
        vat_number=optional(message.vat_number),
        routing=RoutingParameters(
            service_code_required=routing.service_code_required,
            engagement_required=routing.engagement_required,
            service_or_engagement_required=routing.service_or_engagement_required,
            payment_status_not_reported=routing.payment_status_not_reported,
        ),
        services=[service(s) for s in message.services],
        created_at=timestamp(message, "created_at"),
    )


def structure_page(response: pb.SearchStructuresResponse) -> StructurePage:
    return StructurePage(
        items=[structure(s) for s in response.structures],
        next_page_token=optional(response.next_page_token),
    )


def membership(message: pb.Membership) -> Membership:
    return Membership(
        structure=structure(message.structure),
        role=ROLE.to_rest(message.role),
        services=[service(s) for s in message.services],
        spaces=[
            SpaceAccess(space=SPACE.to_rest(s.space), mode=ACCESS_MODE.to_rest(s.mode))
            for s in message.spaces
        ],
    )
