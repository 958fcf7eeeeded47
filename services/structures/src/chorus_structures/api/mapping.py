"""Proto ⇄ domain for the structures API: request fields into domain values, and the
answers only the API gives (members, history, spaces, memberships, access). The messages the
outgoing events embed as well (structures, services, requests, subscriptions) and the enum
tables are in ``contract.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_structures.contract import (
    enum_from_proto,
    enum_to_proto,
    person_to_proto,
    service_to_proto,
    structure_to_proto,
    timestamp,
)
from chorus_structures.domain.access import AccessFacts
from chorus_structures.domain.changes import StructureChanges
from chorus_structures.domain.creation import StructureDraft
from chorus_structures.domain.history import RecordedAction
from chorus_structures.domain.identifiers import IdentifierType
from chorus_structures.domain.membership import Member
from chorus_structures.domain.people import Profile
from chorus_structures.domain.structure import Address, Reference, StructureKind, StructureStatus
from chorus_structures.usecases.my_memberships import MyMembership
from chorus_structures.usecases.spaces import SpaceView


def uuid_from_request(value: str, field: str, reason: str) -> UUID:
    """A UUID request field; InvalidArgument ``reason`` when it is not one."""
    try:
        return UUID(value)
    except ValueError:
        message = "Identifiant inconnu : ce champ attend un UUID."
        raise InvalidArgument(reason, message, [FieldViolation(field, message)]) from None


def reference_from_request(
    id_value: str,
    cpp_id: int,
    *,
    id_field: str,
    cpp_field: str,
    id_reason: str,
    conflict_reason: str,
    required: bool = True,
) -> Reference | None:
    """A structure or service named by its UUID (``id_field``) or its integer id
    (``cpp_field``), exactly one: both is InvalidArgument ``conflict_reason``, a negative
    integer CPP_ID_INVALID, a bad UUID ``id_reason``; neither is ``id_reason`` too, unless not
    ``required`` (then None)."""
    if id_value and cpp_id:
        message = f"Indiquez soit {id_field}, soit {cpp_field}, pas les deux."
        raise InvalidArgument(
            conflict_reason,
            message,
            [FieldViolation(id_field, message), FieldViolation(cpp_field, message)],
        )
    if cpp_id < 0:
        message = "Un identifiant numérique est un entier positif."
        raise InvalidArgument("CPP_ID_INVALID", message, [FieldViolation(cpp_field, message)])
    if cpp_id:
        return Reference(cpp_id=cpp_id)
    if id_value:
        return Reference(id=uuid_from_request(id_value, id_field, id_reason))
    if not required:
        return None
    message = f"Indiquez l'identifiant ({id_field}) ou l'identifiant numérique ({cpp_field})."
    raise InvalidArgument(id_reason, message, [FieldViolation(id_field, message)])


def uuids_from_request(values, field: str, reason: str) -> list[UUID]:
    """Distinct UUIDs of a repeated request field, in order."""
    return list(dict.fromkeys(uuid_from_request(value, field, reason) for value in values))


def _address(address) -> Address:
    return Address(
        line1=address.line1,
        line2=address.line2,
        postal_code=address.postal_code,
        city=address.city,
        country=address.country,
    )


def draft_from_proto(request: pb.CreateStructureRequest) -> StructureDraft:
    return StructureDraft(
        identifier_type=enum_from_proto(IdentifierType, request.identifier_type),
        identifier=request.identifier,
        raison_sociale=request.raison_sociale,
        libelle=request.libelle,
        kind=enum_from_proto(StructureKind, request.kind),
        address=_address(request.address),
        email=request.email,
        vat_number=request.vat_number,
    )


def optional_field(request, field: str):
    """The field's value when the request sets it (``optional`` proto fields), else None."""
    return getattr(request, field) if request.HasField(field) else None


def changes_from_proto(request: pb.UpdateStructureRequest) -> StructureChanges:
    """The fields set in the request; unset ones stay as they are."""
    return StructureChanges(
        raison_sociale=optional_field(request, "raison_sociale"),
        libelle=optional_field(request, "libelle"),
        address=_address(request.address) if request.HasField("address") else None,
        email=optional_field(request, "email"),
        vat_number=optional_field(request, "vat_number"),
        status=enum_from_proto(StructureStatus, request.status),
        service_code_required=optional_field(request, "service_code_required"),
        engagement_required=optional_field(request, "engagement_required"),
        service_or_engagement_required=optional_field(request, "service_or_engagement_required"),
        payment_status_not_reported=optional_field(request, "payment_status_not_reported"),
    )


def member_to_proto(member: Member, profiles: Mapping[UUID, Profile]) -> pb.Member:
    return pb.Member(
        user=person_to_proto(member.user_id, profiles),
        role=enum_to_proto(member.role),
        service_ids=sorted(str(s) for s in member.service_ids),
        since=timestamp(member.since),
    )


def action_to_proto(action: RecordedAction) -> pb.ManagerAction:
    return pb.ManagerAction(
        id=str(action.id),
        kind=enum_to_proto(action.kind),
        actor_user_id=str(action.actor) if action.actor else "",
        target_user_id=str(action.target) if action.target else "",
        details=action.details,
        at=timestamp(action.at),
    )


def space_to_proto(view: SpaceView) -> pb.SpaceState:
    return pb.SpaceState(
        space=enum_to_proto(view.space),
        open=view.open,
        access_mode=enum_to_proto(view.access_mode) if view.access_mode else 0,
        pending_mode=enum_to_proto(view.pending_mode) if view.pending_mode else 0,
        managers_only=view.managers_only,
        always_open=view.always_open,
        self_subscription=view.self_subscription,
    )


def membership_to_proto(membership: MyMembership) -> pb.Membership:
    return pb.Membership(
        structure=structure_to_proto(membership.structure),
        role=enum_to_proto(membership.role),
        services=[service_to_proto(s) for s in membership.services],
        spaces=[
            pb.SpaceAccess(space=enum_to_proto(space), mode=enum_to_proto(mode))
            for space, mode in membership.spaces
        ],
    )


def accessible_structure_to_proto(structure_id: UUID, facts: AccessFacts) -> pb.AccessibleStructure:
    return pb.AccessibleStructure(
        structure_id=str(structure_id),
        service_ids=sorted(str(s) for s in facts.limited_to_services),
        service_codes=sorted(facts.limited_to_service_codes),
    )
