"""``/structures`` and ``/me/structures`` over StructuresService."""

from __future__ import annotations

from typing import Annotated

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Query

from chorus_gateway.api.paging import PageSize, PageToken
from chorus_gateway.api.paths import StructureId
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
    name: Annotated[str, Query(description="Matched against raison sociale and libellé.")] = "",
    kind: schemas.StructureKind | None = None,
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.StructurePage:
    request = pb.SearchStructuresRequest(
        identifier_prefix=identifier,
        name=name,
        kind=schemas.STRUCTURE_KIND.to_proto(kind),
        page_size=page_size or 0,
        page_token=page_token,
    )
    return schemas.structure_page(await clients.structures.search_structures(request, caller))


@router.get("/structures/{structure_id}", summary="One structure")
async def get_structure(
    structure_id: StructureId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Structure:
    return schemas.structure(await clients.structures.get_structure(structure_id, caller))


@router.get("/me/structures", summary="The caller's memberships")
async def list_my_structures(
    clients: Clients, caller: AuthenticatedCaller
) -> schemas.MembershipList:
    memberships = await clients.structures.list_my_memberships(caller)
    return schemas.MembershipList(items=[schemas.membership(m) for m in memberships])
