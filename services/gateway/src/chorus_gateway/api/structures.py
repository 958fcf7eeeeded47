"""``/structures``, ``/me/structures``, attachment requests, members, spaces and
subscriptions over StructuresService."""

from __future__ import annotations

from typing import Annotated

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Path, Query, Response

from chorus_gateway.api.paging import PageSize, PageToken
from chorus_gateway.api.paths import (
    AttachmentRequestId,
    ServiceId,
    StructureId,
    SubscriptionId,
    UserId,
)
from chorus_gateway.api.schemas import structures as schemas
from chorus_gateway.api.security import AuthenticatedCaller, Clients

router = APIRouter(tags=["Structures"])


@router.post(
    "/structures", status_code=201, summary="Create a structure (caller becomes principal manager)"
)
async def create_structure(
    body: schemas.CreateStructureBody, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Structure:
    created = await clients.structures.create_structure(schemas.create_request(body), caller)
    return schemas.structure(created)


@router.get("/structures", summary="Search the directory")
async def search_structures(
    clients: Clients,
    caller: AuthenticatedCaller,
    identifier: Annotated[str, Query(description="Identifier prefix (3+ characters).")] = "",
    name: Annotated[
        str, Query(description="Raison sociale or libellé; case, accents and typos tolerated.")
    ] = "",
    kind: schemas.StructureKind | None = None,
    status: schemas.StructureStatus | None = None,
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.StructurePage:
    request = pb.SearchStructuresRequest(
        identifier_prefix=identifier,
        name=name,
        kind=schemas.STRUCTURE_KIND.to_proto(kind),
        status=schemas.STRUCTURE_STATUS.to_proto(status),
        page_size=page_size or 0,
        page_token=page_token,
    )
    return schemas.structure_page(await clients.structures.search_structures(request, caller))


@router.get("/structures/{structure_id}", summary="One structure")
async def get_structure(
    structure_id: StructureId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Structure:
    return schemas.structure(await clients.structures.get_structure(structure_id, caller))


@router.patch(
    "/structures/{structure_id}",
    summary="Change a structure's details, status or routing parameters (managers)",
)
async def update_structure(
    structure_id: StructureId,
    body: schemas.UpdateStructureBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Structure:
    request = schemas.update_request(structure_id, body)
    return schemas.structure(await clients.structures.update_structure(request, caller))


@router.get("/me/structures", summary="The caller's memberships")
async def list_my_structures(
    clients: Clients, caller: AuthenticatedCaller
) -> schemas.MembershipList:
    memberships = await clients.structures.list_my_memberships(caller)
    return schemas.MembershipList(items=[schemas.membership(m) for m in memberships])


@router.delete(
    "/me/structures/{structure_id}",
    status_code=204,
    response_class=Response,
    summary="Leave a structure (the principal manager only after a transfer)",
)
async def leave_structure(
    structure_id: StructureId, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    await clients.structures.leave_structure(structure_id, caller)
    return Response(status_code=204)


# Services


@router.get("/structures/{structure_id}/services", summary="A structure's services")
async def list_services(
    structure_id: StructureId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.ServiceList:
    structure = await clients.structures.get_structure(structure_id, caller)
    return schemas.ServiceList(items=[schemas.service(s) for s in structure.services])


@router.post(
    "/structures/{structure_id}/services", status_code=201, summary="Add a service (managers)"
)
async def create_service(
    structure_id: StructureId,
    body: schemas.CreateServiceBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.StructureService:
    request = pb.CreateServiceRequest(
        structure_id=structure_id,
        code=body.code,
        name=body.name,
        engagement_required=body.engagement_required,
    )
    return schemas.service(await clients.structures.create_service(request, caller))


@router.patch(
    "/structures/{structure_id}/services/{service_id}",
    summary="Rename, (de)activate a service or change its engagement flag (managers)",
)
async def update_service(
    structure_id: StructureId,
    service_id: ServiceId,
    body: schemas.UpdateServiceBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.StructureService:
    request = pb.UpdateServiceRequest(structure_id=structure_id, service_id=service_id)
    for name in ("name", "active", "engagement_required"):
        if getattr(body, name) is not None:
            setattr(request, name, getattr(body, name))
    return schemas.service(await clients.structures.update_service(request, caller))


# Attachment requests


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
    status: schemas.AttachmentStatus | None = None,
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.AttachmentRequestPage:
    request = pb.ListAttachmentRequestsRequest(
        structure_id=structure_id,
        status=schemas.ATTACHMENT_STATUS.to_proto(status),
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
        decision=schemas.DECISION.to_proto(body.decision),
        role=schemas.ROLE.to_proto(body.role),
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
        decision=schemas.DECISION.to_proto(body.decision),
        role=schemas.ROLE.to_proto(body.role),
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


# Members and roles


@router.get("/structures/{structure_id}/members", summary="Members with their roles")
async def list_members(
    structure_id: StructureId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.MemberList:
    found = await clients.structures.list_members(structure_id, caller)
    return schemas.MemberList(items=[schemas.member(m) for m in found])


@router.post(
    "/structures/{structure_id}/members",
    status_code=201,
    summary="Attach an existing account directly by its login e-mail (managers)",
)
async def attach_member(
    structure_id: StructureId,
    body: schemas.AttachMemberBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Member:
    request = pb.AttachMemberByEmailRequest(
        structure_id=structure_id,
        login_email=body.login_email,
        role=schemas.ROLE.to_proto(body.role),
        service_ids=body.service_ids,
    )
    return schemas.member(await clients.structures.attach_member_by_email(request, caller))


@router.patch(
    "/structures/{structure_id}/members/{user_id}",
    summary="Change a member's role or services (managers)",
)
async def update_member(
    structure_id: StructureId,
    user_id: UserId,
    body: schemas.UpdateMemberBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Member:
    request = schemas.update_member_request(structure_id, user_id, body)
    return schemas.member(await clients.structures.update_member(request, caller))


@router.delete(
    "/structures/{structure_id}/members/{user_id}",
    status_code=204,
    response_class=Response,
    summary="Detach a member (managers; never the principal manager)",
)
async def detach_member(
    structure_id: StructureId, user_id: UserId, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    await clients.structures.detach_member(structure_id, user_id, caller)
    return Response(status_code=204)


@router.post(
    "/structures/{structure_id}/principal-manager",
    summary="Transfer the principal role (principal only; the caller becomes secondary)",
)
async def transfer_principal_role(
    structure_id: StructureId,
    body: schemas.TransferPrincipalBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.PrincipalTransfer:
    response = await clients.structures.transfer_principal_role(structure_id, body.user_id, caller)
    return schemas.PrincipalTransfer(
        principal=schemas.member(response.principal),
        previous_principal=schemas.member(response.previous_principal),
    )


@router.get(
    "/structures/{structure_id}/history",
    summary="Manager action history, newest first (managers)",
)
async def list_history(
    structure_id: StructureId,
    clients: Clients,
    caller: AuthenticatedCaller,
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.ManagerActionPage:
    request = pb.ListManagerActionsRequest(
        structure_id=structure_id, page_size=page_size or 0, page_token=page_token
    )
    response = await clients.structures.list_manager_actions(request, caller)
    return schemas.ManagerActionPage(
        items=[schemas.manager_action(a) for a in response.actions],
        next_page_token=response.next_page_token or None,
    )


# Spaces and subscriptions

SpaceCode = Annotated[schemas.Space, Path(description="Space code, e.g. ENGAGEMENTS.")]


@router.get(
    "/structures/{structure_id}/spaces", summary="Spaces with `open` and the caller's access"
)
async def list_spaces(
    structure_id: StructureId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.SpaceList:
    found = await clients.structures.list_spaces(structure_id, caller)
    return schemas.SpaceList(items=[schemas.space_state(s) for s in found])


@router.put("/structures/{structure_id}/spaces/{code}", summary="Open a space (managers)")
async def open_space(
    structure_id: StructureId, code: SpaceCode, clients: Clients, caller: AuthenticatedCaller
) -> schemas.SpaceState:
    space = schemas.SPACE.to_proto(code)
    return schemas.space_state(await clients.structures.open_space(structure_id, space, caller))


@router.delete("/structures/{structure_id}/spaces/{code}", summary="Close a space (managers)")
async def close_space(
    structure_id: StructureId, code: SpaceCode, clients: Clients, caller: AuthenticatedCaller
) -> schemas.SpaceState:
    space = schemas.SPACE.to_proto(code)
    return schemas.space_state(await clients.structures.close_space(structure_id, space, caller))


@router.post(
    "/structures/{structure_id}/spaces/{code}/subscriptions",
    status_code=201,
    summary="Ask to use a space in a mode (validated by a manager)",
)
async def request_subscription(
    structure_id: StructureId,
    code: SpaceCode,
    body: schemas.SubscriptionBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Subscription:
    request = pb.RequestSubscriptionRequest(
        structure_id=structure_id,
        space=schemas.SPACE.to_proto(code),
        mode=schemas.ACCESS_MODE.to_proto(body.mode),
    )
    return schemas.subscription(await clients.structures.request_subscription(request, caller))


@router.get(
    "/structures/{structure_id}/subscriptions",
    summary="A structure's space subscriptions, newest first (managers)",
)
async def list_subscriptions(
    structure_id: StructureId,
    clients: Clients,
    caller: AuthenticatedCaller,
    status: schemas.SubscriptionStatus | None = None,
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.SubscriptionPage:
    request = pb.ListSubscriptionsRequest(
        structure_id=structure_id,
        status=schemas.SUBSCRIPTION_STATUS.to_proto(status),
        page_size=page_size or 0,
        page_token=page_token,
    )
    response = await clients.structures.list_subscriptions(request, caller)
    return schemas.SubscriptionPage(
        items=[schemas.subscription(s) for s in response.subscriptions],
        next_page_token=response.next_page_token or None,
    )


@router.post(
    "/subscriptions/{subscription_id}/decision",
    summary="Accept or refuse a space subscription (managers)",
)
async def decide_subscription(
    subscription_id: SubscriptionId,
    body: schemas.SubscriptionDecisionBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Subscription:
    request = pb.DecideSubscriptionRequest(
        subscription_id=subscription_id,
        decision=schemas.DECISION.to_proto(body.decision),
        comment=body.comment or "",
    )
    return schemas.subscription(await clients.structures.decide_subscription(request, caller))
