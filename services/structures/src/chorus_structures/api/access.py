"""Handlers for the caller's own memberships and the access questions other services ask
(on behalf of the user whose token they forward)."""

from __future__ import annotations

from uuid import UUID

from chorus.structures.v1 import structures_service_pb2 as pb

from chorus_structures.api.handlers import Handlers
from chorus_structures.api.mapping import (
    accessible_structure_to_proto,
    membership_to_proto,
    uuid_from_request,
)
from chorus_structures.api.request_fields import current_caller, required_mode, required_space
from chorus_structures.domain.access import access_subject


def _subject(requested_user_id: str, caller: UUID) -> UUID:
    """Whom the question is about (empty: the caller), checked before the other fields."""
    requested = (
        uuid_from_request(requested_user_id, "user_id", "USER_ID_INVALID")
        if requested_user_id
        else None
    )
    return access_subject(requested, caller)


class AccessHandlers(Handlers):
    async def ListMyMemberships(self, request, context):
        """The caller's memberships, in raison sociale order: structure, role, services (every
        service for managers and for users attached to the whole structure) and the open
        spaces the caller may use with their mode (MODIFICATION everywhere for managers; the
        validated subscription's mode for simple users). A technical account (token claim
        ``tst``) has one, from the claim alone: its structure, role COMPTE_TECHNIQUE, every
        service, every open space but ACTIVITES_GESTIONNAIRE in MODIFICATION (none while the
        structure is inactive); its user id's memberships, if any, are not shown. No errors
        beyond UNAUTHENTICATED.
        """
        memberships = await self._usecases.my_memberships.of_caller(current_caller())
        return pb.ListMyMembershipsResponse(
            memberships=[membership_to_proto(m) for m in memberships]
        )

    async def CheckAccess(self, request, context):
        """May the user act for the structure in the space with the mode (for the service)?

        A caller may only ask about themself: ``user_id`` empty means the caller, another user
        is PERMISSION_DENIED ACCESS_CHECK_OTHER_USER (services ask on behalf of the user whose
        token they forward). Answers ``allowed`` or a reason: NOT_A_MEMBER (also for an unknown
        structure), STRUCTURE_INACTIVE, SPACE_CLOSED, SERVICE_NOT_FOUND (not a service of the
        structure), SERVICE_NOT_ALLOWED (a user attached to other services),
        SUBSCRIPTION_REQUIRED (a simple user without a validated subscription of a sufficient
        mode; MODIFICATION implies CONSULTATION). Managers may use every open space in any mode.
        A technical account (token claim ``tst``) is answered from the claim alone: its
        structure only (NOT_A_MEMBER for any other, whatever memberships its user id has),
        every open space of it in any mode except ACTIVITES_GESTIONNAIRE (MANAGERS_ONLY), every
        service. Errors: INVALID_ARGUMENT USER_ID_INVALID, STRUCTURE_ID_INVALID, SERVICE_ID_INVALID,
        SPACE_REQUIRED, ACCESS_MODE_REQUIRED.
        """
        caller = current_caller()
        _subject(request.user_id, caller.user_id)
        structure_id = uuid_from_request(
            request.structure_id, "structure_id", "STRUCTURE_ID_INVALID"
        )
        service_id = (
            uuid_from_request(request.service_id, "service_id", "SERVICE_ID_INVALID")
            if request.service_id
            else None
        )
        space, mode = required_space(request.space), required_mode(request.mode)
        decision = await self._usecases.access.check(
            caller, structure_id, space, mode, service_id=service_id
        )
        return pb.CheckAccessResponse(allowed=decision.allowed, reason=decision.reason)

    async def ListAccessibleStructures(self, request, context):
        """Ids of the structures for which CheckAccess would allow the user in the space with
        the mode, in no particular order; ``structures`` lists the same ones, each with the
        services a simple user attached to some services only is limited to (empty: every
        service), which is what the received invoices they may see are limited to; for a
        technical account, its structure only (if CheckAccess allows it). Same caller rule
        and errors as CheckAccess (ACCESS_CHECK_OTHER_USER, USER_ID_INVALID,
        SPACE_REQUIRED, ACCESS_MODE_REQUIRED).
        """
        caller = current_caller()
        _subject(request.user_id, caller.user_id)
        space, mode = required_space(request.space), required_mode(request.mode)
        allowed = await self._usecases.access.accessible_structures(caller, space, mode)
        return pb.ListAccessibleStructuresResponse(
            structure_ids=[str(structure_id) for structure_id in allowed],
            structures=[
                accessible_structure_to_proto(structure_id, facts)
                for structure_id, facts in allowed.items()
            ],
        )
