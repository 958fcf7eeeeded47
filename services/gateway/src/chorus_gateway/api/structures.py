"""``/structures`` (create, search, read, change), ``/me/structures`` (the caller's memberships,
leaving one) and a structure's services, over StructuresService."""

from __future__ import annotations

from typing import Annotated

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Query, Response

from chorus_edge.callers import Clients
from chorus_edge.structures import (
    IDENTIFIER_TYPE,
    STRUCTURE_KIND,
    STRUCTURE_STATUS,
    CreateStructureBody,
    IdentifierType,
    StructureKind,
    StructureStatus,
    UpdateStructureBody,
    create_request,
    update_request,
)
from chorus_gateway.api.paging import PageSize, PageToken
from chorus_gateway.api.paths import ServiceId, StructureId
from chorus_gateway.api.schemas import structures as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Structures"])


@router.post(
    "/structures", status_code=201, summary="Create a structure (caller becomes principal manager)"
)
async def create_structure(
    body: CreateStructureBody, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Structure:
    created = await clients.structures.create_structure(create_request(body), caller)
    return schemas.structure(created)


@router.get(
    "/structures",
    summary="Search the directory: public structures and the caller's own; a private "
    "structure only by its exact identifier (identifier_type + identifier)",
)
async def search_structures(
    clients: Clients,
    caller: AuthenticatedCaller,
    identifier: Annotated[
        str,
        Query(
            description="Identifier prefix (3+ characters); with identifier_type, the full "
            "identifier (exact look-up, the only search that finds a private structure)."
        ),
    ] = "",
    identifier_type: IdentifierType | None = None,
    name: Annotated[
        str, Query(description="Raison sociale or libellé; case, accents and typos tolerated.")
    ] = "",
    kind: StructureKind | None = None,
    status: StructureStatus | None = None,
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.StructurePage:
    exact = identifier_type is not None
    request = pb.SearchStructuresRequest(
        identifier_prefix="" if exact else identifier,
        identifier_type=IDENTIFIER_TYPE.to_proto(identifier_type),
        identifier=identifier if exact else "",
        name=name,
        kind=STRUCTURE_KIND.to_proto(kind),
        status=STRUCTURE_STATUS.to_proto(status),
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
    body: UpdateStructureBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Structure:
    request = update_request(structure_id, body)
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
