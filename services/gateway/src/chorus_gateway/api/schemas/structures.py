"""Structures, their services and the caller's memberships: REST models and their mapping
from ``chorus.structures.v1`` (the bodies the portal shares are in
:mod:`chorus_edge.structures`)."""

from __future__ import annotations

from datetime import datetime

from chorus.common.v1 import common_pb2
from chorus.structures.v1 import structures_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_edge.conversions import RequestModel, optional, timestamp
from chorus_edge.structures import (
    ACCESS_MODE,
    IDENTIFIER_TYPE,
    ROLE,
    SPACE,
    STRUCTURE_KIND,
    STRUCTURE_STATUS,
    AccessMode,
    IdentifierType,
    Role,
    Space,
    StructureKind,
    StructureStatus,
)


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
    cpp_id: int | None = Field(
        None,
        description="The service's integer id (Chorus Pro idService), never reused; the"
        " Chorus Pro-compatible API (/cpro) names the service by it.",
    )
    code: str
    name: str
    active: bool
    engagement_required: bool
    reserved_for_public_suppliers: bool = Field(
        description="FACTURES_PUBLIQUES: only public suppliers may address invoices to it."
    )


class Structure(BaseModel):
    id: str
    cpp_id: int | None = Field(
        None,
        description="The structure's integer id (Chorus Pro idStructureCPP / idStructure),"
        " never reused; the Chorus Pro-compatible API (/cpro) names the structure by it.",
    )
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


class StructureSearchResult(Structure):
    has_principal_manager: bool = Field(
        description="Whether the structure has a principal manager, who would answer a join"
        " request. With identifier_type, it tells a genuine structure from a look-alike (same"
        " name and digits under another type) that nobody manages.",
    )


class StructurePage(BaseModel):
    items: list[StructureSearchResult]
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


def service(message: pb.StructureService) -> StructureService:
    return StructureService(
        id=message.id,
        cpp_id=message.cpp_id or None,
        code=message.code,
        name=message.name,
        active=message.active,
        engagement_required=message.engagement_required,
        reserved_for_public_suppliers=message.reserved_for_public_suppliers,
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
        cpp_id=message.cpp_id or None,
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


def search_result(message: pb.Structure) -> StructureSearchResult:
    return StructureSearchResult(
        **structure(message).model_dump(), has_principal_manager=message.has_principal_manager
    )


def structure_page(response: pb.SearchStructuresResponse) -> StructurePage:
    return StructurePage(
        items=[search_result(s) for s in response.structures],
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


class CreateServiceBody(RequestModel):
    code: str = Field(examples=["SERV-FIN"])
    name: str
    engagement_required: bool = False


class UpdateServiceBody(RequestModel):
    name: str | None = None
    active: bool | None = None
    engagement_required: bool | None = None


class ServiceList(BaseModel):
    items: list[StructureService]
