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
    reserved_for_public_suppliers: bool = Field(
        description="FACTURES_PUBLIQUES: only public suppliers may address invoices to it."
    )


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


class Member(BaseModel):
    user_id: str
    first_name: str | None
    last_name: str | None
    email: str | None = Field(description="Contact e-mail address.")
    role: Role | None
    service_ids: list[str] = Field(description="Services the user is limited to; empty: all.")
    since: datetime | None


class MemberList(BaseModel):
    items: list[Member]


def member(message: pb.Member) -> Member:
    return Member(
        user_id=message.user.user_id,
        first_name=optional(message.user.first_name),
        last_name=optional(message.user.last_name),
        email=optional(message.user.email),
        role=ROLE.to_rest(message.role),
        service_ids=list(message.service_ids),
        since=timestamp(message, "since"),
    )


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


class AttachMemberBody(RequestModel):
    login_email: str = Field(description="Login e-mail of an existing, active account.")
    role: Role | None = Field(None, description="UTILISATEUR (default) or GESTIONNAIRE_SECONDAIRE.")
    service_ids: list[str] = Field(default_factory=list)


class TransferPrincipalBody(RequestModel):
    user_id: str = Field(description="The member who becomes principal manager.")


class PrincipalTransfer(BaseModel):
    principal: Member
    previous_principal: Member


class AttachmentRequestBody(RequestModel):
    comment: str | None = None
    service_ids: list[str] = Field(default_factory=list)


class Person(BaseModel):
    user_id: str
    first_name: str | None
    last_name: str | None
    email: str | None


def person(message: pb.Person) -> Person:
    return Person(
        user_id=message.user_id,
        first_name=optional(message.first_name),
        last_name=optional(message.last_name),
        email=optional(message.email),
    )


class AttachmentRequest(BaseModel):
    id: str
    structure_id: str
    structure_name: str | None
    requester: Person
    status: AttachmentStatus | None
    comment: str | None
    service_ids: list[str]
    granted_role: Role | None
    decision_comment: str | None = Field(description="The manager's comment on the decision.")
    decided_by: str | None
    requested_at: datetime | None
    decided_at: datetime | None


class AttachmentRequestPage(BaseModel):
    items: list[AttachmentRequest]
    next_page_token: str | None


class AttachmentRequestList(BaseModel):
    items: list[AttachmentRequest]


def attachment_request(message: pb.AttachmentRequest) -> AttachmentRequest:
    return AttachmentRequest(
        id=message.id,
        structure_id=message.structure_id,
        structure_name=optional(message.structure_name),
        requester=person(message.requester),
        status=ATTACHMENT_STATUS.to_rest(message.status),
        comment=optional(message.comment),
        service_ids=list(message.service_ids),
        granted_role=ROLE.to_rest(message.granted_role),
        decision_comment=optional(message.decision_comment),
        decided_by=optional(message.decided_by),
        requested_at=timestamp(message, "requested_at"),
        decided_at=timestamp(message, "decided_at"),
    )


class DecisionBody(RequestModel):
    decision: Decision
    role: Role | None = Field(
        None,
        description="Granted role when VALIDEE: UTILISATEUR (default) or GESTIONNAIRE_SECONDAIRE.",
    )
    comment: str | None = None


class BulkDecisionBody(DecisionBody):
    request_ids: list[str] = Field(description="Pending requests of the structure (100 at most).")


class SpaceState(BaseModel):
    space: Space | None
    open: bool
    access_mode: AccessMode | None = Field(description="The caller's mode; null: no access.")
    pending_mode: AccessMode | None = Field(description="Mode of the caller's pending request.")
    managers_only: bool
    always_open: bool
    self_subscription: bool = Field(description="Subscriptions are validated at once.")


class SpaceList(BaseModel):
    items: list[SpaceState]


def space_state(message: pb.SpaceState) -> SpaceState:
    return SpaceState(
        space=SPACE.to_rest(message.space),
        open=message.open,
        access_mode=ACCESS_MODE.to_rest(message.access_mode),
        pending_mode=ACCESS_MODE.to_rest(message.pending_mode),
        managers_only=message.managers_only,
        always_open=message.always_open,
        self_subscription=message.self_subscription,
    )


class SubscriptionBody(RequestModel):
    mode: AccessMode


class Subscription(BaseModel):
    id: str
    structure_id: str
    user: Person
    space: Space | None
    mode: AccessMode | None
    status: SubscriptionStatus | None
    decision_comment: str | None
    decided_by: str | None
    requested_at: datetime | None
    decided_at: datetime | None


class SubscriptionPage(BaseModel):
    items: list[Subscription]
    next_page_token: str | None


def subscription(message: pb.Subscription) -> Subscription:
    return Subscription(
        id=message.id,
        structure_id=message.structure_id,
        user=person(message.user),
        space=SPACE.to_rest(message.space),
        mode=ACCESS_MODE.to_rest(message.mode),
        status=SUBSCRIPTION_STATUS.to_rest(message.status),
        decision_comment=optional(message.decision_comment),
        decided_by=optional(message.decided_by),
        requested_at=timestamp(message, "requested_at"),
        decided_at=timestamp(message, "decided_at"),
    )


class SubscriptionDecisionBody(RequestModel):
    decision: Decision
    comment: str | None = None


class ManagerAction(BaseModel):
    id: str
    kind: ActionKind | None
    actor_user_id: str | None
    target_user_id: str | None
    details: dict[str, str]
    at: datetime | None


class ManagerActionPage(BaseModel):
    items: list[ManagerAction]
    next_page_token: str | None


def manager_action(message: pb.ManagerAction) -> ManagerAction:
    return ManagerAction(
        id=message.id,
        kind=ACTION_KIND.to_rest(message.kind),
        actor_user_id=optional(message.actor_user_id),
        target_user_id=optional(message.target_user_id),
        details=dict(message.details),
        at=timestamp(message, "at"),
    )
