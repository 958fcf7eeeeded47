"""Handlers for members and roles."""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb

from chorus_structures.api.handlers import Handlers
from chorus_structures.api.mapping import member_to_proto, uuids_from_request
from chorus_structures.api.request_fields import (
    caller_id,
    manager_caller_id,
    structure_id_of,
    user_id_of,
)
from chorus_structures.contract import enum_from_proto
from chorus_structures.domain.access import Role


class MemberHandlers(Handlers):
    async def ListMembers(self, request, context):
        """The structure's members (principal, then secondary managers, then users), with
        role, services and, best effort, names and contact e-mail from identity. Members only.
        Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID; NOT_FOUND STRUCTURE_NOT_FOUND;
        PERMISSION_DENIED NOT_A_MEMBER.
        """
        members, profiles = await self._usecases.members.list_members(
            caller_id(), structure_id_of(request)
        )
        return pb.ListMembersResponse(members=[member_to_proto(m, profiles) for m in members])

    async def UpdateMember(self, request, context):
        """Changes a member's role (UTILISATEUR <-> GESTIONNAIRE_SECONDAIRE; unset: unchanged)
        and/or the services they are limited to (``services`` set; empty: the whole
        structure), for a manager (principal or secondary). Emits MemberRoleChanged /
        MemberServicesChanged and records them in the history. Errors: INVALID_ARGUMENT
        STRUCTURE_ID_INVALID, USER_ID_INVALID, SERVICE_ID_INVALID, ROLE_NOT_GRANTABLE
        (GESTIONNAIRE_PRINCIPAL), SERVICE_NOT_FOUND; NOT_FOUND STRUCTURE_NOT_FOUND,
        MEMBER_NOT_FOUND; PERMISSION_DENIED MANAGER_REQUIRED; FAILED_PRECONDITION
        PRINCIPAL_ROLE_PROTECTED (the principal's role changes only by transfer).
        """
        service_ids = None
        if request.HasField("services"):
            service_ids = uuids_from_request(
                request.services.service_ids, "services.service_ids", "SERVICE_ID_INVALID"
            )
        member, profiles = await self._usecases.members.update(
            manager_caller_id(),
            structure_id_of(request),
            user_id_of(request),
            role=enum_from_proto(Role, request.role),
            service_ids=service_ids,
        )
        return pb.UpdateMemberResponse(member=member_to_proto(member, profiles))

    async def DetachMember(self, request, context):
        """A manager detaches a member: the membership, its services and subscriptions end, the
        accepted request becomes DESACTIVEE; emits MemberDetached. Naming oneself is leaving
        (see LeaveStructure). Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID, USER_ID_INVALID;
        NOT_FOUND STRUCTURE_NOT_FOUND, MEMBER_NOT_FOUND; PERMISSION_DENIED MANAGER_REQUIRED;
        FAILED_PRECONDITION PRINCIPAL_CANNOT_BE_DETACHED.
        """
        await self._usecases.members.detach(
            manager_caller_id(), structure_id_of(request), user_id_of(request)
        )
        return pb.DetachMemberResponse()

    async def LeaveStructure(self, request, context):
        """The caller leaves the structure; emits MemberDetached with ``left``. Errors:
        INVALID_ARGUMENT STRUCTURE_ID_INVALID; NOT_FOUND STRUCTURE_NOT_FOUND; PERMISSION_DENIED
        NOT_A_MEMBER; FAILED_PRECONDITION PRINCIPAL_MUST_TRANSFER_FIRST.
        """
        await self._usecases.members.leave(caller_id(), structure_id_of(request))
        return pb.LeaveStructureResponse()

    async def TransferPrincipalRole(self, request, context):
        """The principal manager hands the role to another member, who becomes principal
        (and acts for the whole structure); the caller becomes GESTIONNAIRE_SECONDAIRE. One
        transaction; emits PrincipalTransferred. Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID,
        USER_ID_INVALID; NOT_FOUND STRUCTURE_NOT_FOUND, MEMBER_NOT_FOUND; PERMISSION_DENIED
        PRINCIPAL_MANAGER_REQUIRED (a secondary manager or a user); FAILED_PRECONDITION
        ALREADY_PRINCIPAL.
        """
        principal, previous, profiles = await self._usecases.members.transfer_principal(
            manager_caller_id(), structure_id_of(request), user_id_of(request)
        )
        return pb.TransferPrincipalRoleResponse(
            principal=member_to_proto(principal, profiles),
            previous_principal=member_to_proto(previous, profiles),
        )

    async def AttachMemberByEmail(self, request, context):
        """A manager attaches an existing, active account found by its login e-mail, with a
        role (UTILISATEUR by default, or GESTIONNAIRE_SECONDAIRE) and optional services; a
        pending request of that user is closed as VALIDEE. Emits MemberAdded with
        ``added_by``. Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID, SERVICE_ID_INVALID,
        ROLE_NOT_GRANTABLE, SERVICE_NOT_FOUND; NOT_FOUND STRUCTURE_NOT_FOUND, USER_NOT_FOUND;
        PERMISSION_DENIED MANAGER_REQUIRED; FAILED_PRECONDITION USER_NOT_ACTIVE,
        ALREADY_A_MEMBER; UNAVAILABLE IDENTITY_UNAVAILABLE.
        """
        member, profiles = await self._usecases.members.attach_by_email(
            manager_caller_id(),
            structure_id_of(request),
            login_email=request.login_email,
            role=enum_from_proto(Role, request.role),
            service_ids=uuids_from_request(
                request.service_ids, "service_ids", "SERVICE_ID_INVALID"
            ),
        )
        return pb.AttachMemberByEmailResponse(member=member_to_proto(member, profiles))
