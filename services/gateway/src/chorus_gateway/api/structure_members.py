"""A structure's members and roles (attach by e-mail, change, detach, transfer the principal
role) and the managers' history, over StructuresService."""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Response

from chorus_edge.callers import Clients
from chorus_edge.structures import ROLE, UpdateMemberBody, update_member_request
from chorus_gateway.api.paging import PageSize, PageToken
from chorus_gateway.api.paths import StructureId, UserId
from chorus_gateway.api.schemas import structure_members as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Structures"])


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
        role=ROLE.to_proto(body.role),
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
    body: UpdateMemberBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Member:
    request = update_member_request(structure_id, user_id, body)
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
