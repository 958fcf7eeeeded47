"""``/feed``: the caller's event feed over NotificationsService."""

from __future__ import annotations

from fastapi import APIRouter, Response

from chorus_edge.callers import Clients
from chorus_gateway.api.paging import PageSize, PageToken
from chorus_gateway.api.paths import FeedItemId
from chorus_gateway.api.schemas import feed as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Fil d'événements"])


@router.get("/feed", summary="The caller's event feed, newest first")
async def list_feed(
    clients: Clients,
    caller: AuthenticatedCaller,
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.FeedPage:
    response = await clients.notifications.list_feed(page_size or 0, page_token, caller)
    return schemas.feed_page(response)


@router.post(
    "/feed/{item_id}/read", status_code=204, response_class=Response, summary="Mark an item read"
)
async def mark_read(item_id: FeedItemId, clients: Clients, caller: AuthenticatedCaller) -> Response:
    await clients.notifications.mark_feed_item_read(item_id, caller)
    return Response(status_code=204)
