"""Handlers for attachment requests."""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb

from chorus_structures.api.handlers import Handlers
from chorus_structures.api.mapping import uuid_from_request, uuids_from_request
from chorus_structures.api.request_fields import (
    caller_id,
    decision_of,
    manager_caller_id,
    structure_id_of,
)
from chorus_structures.contract import attachment_request_to_proto, enum_from_proto
from chorus_structures.domain.access import Role
from chorus_structures.domain.attachments import AttachmentStatus
from chorus_structures.domain.paging import page_request


def _request_id(value: str):
    return uuid_from_request(value, "request_id", "REQUEST_ID_INVALID")


class AttachmentHandlers(Handlers):
    async def RequestAttachment(self, request, context):
        """The caller asks to join the structure, optionally naming some of its services;
        the request is EN_COURS_DE_VALIDATION and AttachmentRequested names the managers. A
        structure without any manager (imported) is claimed at once when
        ``claim_unmanaged_structures`` is on: VALIDEE, the caller becomes principal. Errors:
        INVALID_ARGUMENT STRUCTURE_ID_INVALID, SERVICE_ID_INVALID, SERVICE_NOT_FOUND,
        COMMENT_TOO_LONG; NOT_FOUND STRUCTURE_NOT_FOUND; FAILED_PRECONDITION
        STRUCTURE_INACTIVE, ALREADY_A_MEMBER; ALREADY_EXISTS ATTACHMENT_REQUEST_PENDING.
        """
        created = await self._usecases.attachments.request(
            caller_id(),
            structure_id_of(request),
            comment=request.comment,
            service_ids=uuids_from_request(
                request.service_ids, "service_ids", "SERVICE_ID_INVALID"
            ),
        )
        return pb.RequestAttachmentResponse(request=attachment_request_to_proto(created))

    async def CancelAttachmentRequest(self, request, context):
        """The requester withdraws a pending request (ANNULEE; AttachmentRequestCancelled).
        Errors: INVALID_ARGUMENT REQUEST_ID_INVALID; NOT_FOUND ATTACHMENT_REQUEST_NOT_FOUND
        (also someone else's); FAILED_PRECONDITION ATTACHMENT_REQUEST_ALREADY_DECIDED.
        """
        cancelled = await self._usecases.attachments.cancel(
            caller_id(), _request_id(request.request_id)
        )
        return pb.CancelAttachmentRequestResponse(request=attachment_request_to_proto(cancelled))

    async def ListAttachmentRequests(self, request, context):
        """The structure's requests, newest first, optionally of one status, with the
        requesters' names (best effort); managers only. Pages of 20 by default, 100 at most.
        Errors: INVALID_ARGUMENT STRUCTURE_ID_INVALID, PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID;
        NOT_FOUND STRUCTURE_NOT_FOUND; PERMISSION_DENIED MANAGER_REQUIRED.
        """
        structure_id = structure_id_of(request)
        status = enum_from_proto(AttachmentStatus, request.status)
        page = page_request(
            request.page_size, request.page_token, "attachments", structure_id, status or ""
        )
        found, after, profiles = await self._usecases.attachments.list_for_structure(
            manager_caller_id(), structure_id, status, page
        )
        return pb.ListAttachmentRequestsResponse(
            requests=[attachment_request_to_proto(r, profiles) for r in found],
            next_page_token=page.next_token(after) if after else "",
        )

    async def ListMyAttachmentRequests(self, request, context):
        """The caller's requests, newest first (the last 200), with status, granted role and
        the manager's comment. No errors beyond UNAUTHENTICATED.
        """
        found = await self._usecases.attachments.list_mine(caller_id())
        return pb.ListMyAttachmentRequestsResponse(
            requests=[attachment_request_to_proto(r) for r in found]
        )

    async def DecideAttachmentRequest(self, request, context):
        """A manager of the request's structure accepts it (VALIDEE: the requester joins with
        ``role``, UTILISATEUR by default or GESTIONNAIRE_SECONDAIRE, limited to the services
        asked for) or refuses it (REFUSEE: the comment is kept for the requester). Emits
        AttachmentDecided (+ MemberAdded when accepted) and records it in the history.
        Errors: INVALID_ARGUMENT REQUEST_ID_INVALID, DECISION_REQUIRED, ROLE_NOT_GRANTABLE,
        COMMENT_TOO_LONG; NOT_FOUND ATTACHMENT_REQUEST_NOT_FOUND (also for a caller neither
        member of the structure nor the requester: a request id tells a stranger nothing);
        PERMISSION_DENIED MANAGER_REQUIRED; FAILED_PRECONDITION ATTACHMENT_REQUEST_ALREADY_DECIDED,
        ALREADY_A_MEMBER.
        """
        decided = await self._usecases.attachments.decide(
            manager_caller_id(),
            _request_id(request.request_id),
            decision=decision_of(request.decision),
            role=enum_from_proto(Role, request.role),
            comment=request.comment,
        )
        return pb.DecideAttachmentRequestResponse(request=attachment_request_to_proto(decided))

    async def BatchDecideAttachmentRequests(self, request, context):
        """The same decision (role, comment) for up to 100 pending requests of one structure,
        all or none. Errors as DecideAttachmentRequest, plus INVALID_ARGUMENT
        STRUCTURE_ID_INVALID, REQUEST_IDS_REQUIRED, TOO_MANY_REQUEST_IDS; an id of another
        structure is NOT_FOUND ATTACHMENT_REQUEST_NOT_FOUND (with its index as field).
        """
        decided = await self._usecases.attachments.decide_many(
            manager_caller_id(),
            structure_id_of(request),
            uuids_from_request(request.request_ids, "request_ids", "REQUEST_ID_INVALID"),
            decision=decision_of(request.decision),
            role=enum_from_proto(Role, request.role),
            comment=request.comment,
        )
        return pb.BatchDecideAttachmentRequestsResponse(
            requests=[attachment_request_to_proto(r) for r in decided]
        )
