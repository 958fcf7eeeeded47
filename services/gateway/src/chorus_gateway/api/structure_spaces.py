"""A structure's spaces (opened and closed by managers) and the subscriptions to them, over
StructuresService."""

from __future__ import annotations

from typing import Annotated

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Path

from chorus_edge.callers import Clients
from chorus_edge.structures import (
    ACCESS_MODE,
    DECISION,
    SPACE,
    SUBSCRIPTION_STATUS,
    Space,
    SubscriptionStatus,
)
from chorus_gateway.api.paging import PageSize, PageToken
from chorus_gateway.api.paths import StructureId, SubscriptionId
from chorus_gateway.api.schemas import structure_spaces as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Structures"])

SpaceCode = Annotated[Space, Path(description="Space code, e.g. ENGAGEMENTS.")]


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
    space = SPACE.to_proto(code)
    return schemas.space_state(await clients.structures.open_space(structure_id, space, caller))


@router.delete("/structures/{structure_id}/spaces/{code}", summary="Close a space (managers)")
async def close_space(
    structure_id: StructureId, code: SpaceCode, clients: Clients, caller: AuthenticatedCaller
) -> schemas.SpaceState:
    space = SPACE.to_proto(code)
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
        space=SPACE.to_proto(code),
        mode=ACCESS_MODE.to_proto(body.mode),
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
    status: SubscriptionStatus | None = None,
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.SubscriptionPage:
    request = pb.ListSubscriptionsRequest(
        structure_id=structure_id,
        status=SUBSCRIPTION_STATUS.to_proto(status),
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
        decision=DECISION.to_proto(body.decision),
        comment=body.comment or "",
    )
    return schemas.subscription(await clients.structures.decide_subscription(request, caller))
