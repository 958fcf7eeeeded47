"""Attachment requests: asking to join a structure, managers deciding (one by one or in bulk),
withdrawing one's own request, over StructuresService."""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter

from chorus_edge.callers import Clients
from chorus_edge.structures import ATTACHMENT_STATUS, DECISION, ROLE, AttachmentStatus
from chorus_gateway.api.paging import PageSize, PageToken
from chorus_gateway.api.paths import AttachmentRequestId, StructureId
from chorus_gateway.api.schemas import attachment_requests as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Structures"])


@router.post(
    "/structures/{structure_id}/attachment-requests",
    status_code=201,
    summary="Ask to be attached to a structure",
)
async def request_attachment(
    structure_id: StructureId,
    body: schemas.AttachmentRequestBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.AttachmentRequest:
    request = pb.RequestAttachmentRequest(
        structure_id=structure_id, comment=body.comment or "", service_ids=body.service_ids
    )
    return schemas.attachment_request(await clients.structures.request_attachment(request, caller))


@router.get(
    "/structures/{structure_id}/attachment-requests",
    summary="A structure's attachment requests, newest first (managers)",
)
async def list_attachment_requests(
    structure_id: StructureId,
    clients: Clients,
    caller: AuthenticatedCaller,
    status: AttachmentStatus | None = None,
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.AttachmentRequestPage:
    request = pb.ListAttachmentRequestsRequest(
        structure_id=structure_id,
        status=ATTACHMENT_STATUS.to_proto(status),
        page_size=page_size or 0,
        page_token=page_token,
    )
    response = await clients.structures.list_attachment_requests(request, caller)
    return schemas.AttachmentRequestPage(
        items=[schemas.attachment_request(r) for r in response.requests],
        next_page_token=response.next_page_token or None,
    )


@router.post(
    "/structures/{structure_id}/attachment-requests/decisions",
    summary="Decide several pending requests at once, all or none (managers)",
)
async def decide_attachment_requests(
    structure_id: StructureId,
    body: schemas.BulkDecisionBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.AttachmentRequestList:
    request = pb.BatchDecideAttachmentRequestsRequest(
        structure_id=structure_id,
        request_ids=body.request_ids,
        decision=DECISION.to_proto(body.decision),
        role=ROLE.to_proto(body.role),
        comment=body.comment or "",
    )
    decided = await clients.structures.batch_decide_attachment_requests(request, caller)
    return schemas.AttachmentRequestList(items=[schemas.attachment_request(r) for r in decided])


@router.get("/me/attachment-requests", summary="The caller's attachment requests")
async def list_my_attachment_requests(
    clients: Clients, caller: AuthenticatedCaller
) -> schemas.AttachmentRequestList:
    found = await clients.structures.list_my_attachment_requests(caller)
    return schemas.AttachmentRequestList(items=[schemas.attachment_request(r) for r in found])


@router.post(
    "/attachment-requests/{request_id}/decision",
    summary="Accept (with a role) or refuse (with a comment) a request (managers)",
)
async def decide_attachment_request(
    request_id: AttachmentRequestId,
    body: schemas.DecisionBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.AttachmentRequest:
    request = pb.DecideAttachmentRequestRequest(
        request_id=request_id,
        decision=DECISION.to_proto(body.decision),
        role=ROLE.to_proto(body.role),
        comment=body.comment or "",
    )
    return schemas.attachment_request(
        await clients.structures.decide_attachment_request(request, caller)
    )


@router.post(
    "/attachment-requests/{request_id}/cancellation",
    summary="Withdraw one's own pending request",
)
async def cancel_attachment_request(
    request_id: AttachmentRequestId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.AttachmentRequest:
    return schemas.attachment_request(
        await clients.structures.cancel_attachment_request(request_id, caller)
    )
