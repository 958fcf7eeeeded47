"""Portal "Fil d'événements": the caller's feed from notifications, newest first, a page at a
time (keyset tokens), each item marked unread until read, linking to its invoice or
structure; marking one item read, or all of them. The home page shows the latest items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import grpc
from chorus.notifications.v1 import notifications_service_pb2 as npb
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_portal.web import formats, session
from chorus_portal.web.pages import render
from chorus_portal.web.paths import known_id
from chorus_portal.web.refusals import CSRF_EXPIRED, render_refusal

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]

PAGE_SIZE = 10

NOTICES = {
    "lu": "L'événement est marqué comme lu.",
    "tout-lu": "Tous vos événements sont marqués comme lus.",
}
UNKNOWN_ITEM = "Cet événement n'existe pas ou ne vous concerne pas ; rien n'a été modifié."


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    body: str
    link: str
    """A portal path, or "" when the item links nowhere (or to something not of the portal)."""
    at: str
    read: bool


def entry(item: npb.FeedItem) -> FeedEntry:
    link = session.safe_next(item.link)
    return FeedEntry(
        id=item.id,
        title=item.title,
        body=item.body,
        link=link if link != "/" or item.link == "/" else "",
        at=formats.moment(item, "created_at"),
        read=item.read,
    )


async def feed_entries(
    clients: ServiceClients, me: Caller, size: int, page_token: str = ""
) -> tuple[list[FeedEntry], str]:
    """A page of the caller's feed as shown, and the next page's token ("" on the last)."""
    found = await clients.notifications.list_feed(size, page_token, me)
    return [entry(item) for item in found.items], found.next_page_token


def _return_page(page_token: str, notice: str) -> str:
    """The feed page to come back to after marking: the same page, with the notice."""
    query = {"page_token": page_token} if page_token else {}
    return "/evenements?" + urlencode({**query, "avis": notice})


@router.get("/evenements", response_model=None)
async def feed_page(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    me = session.signed_in(request, caller)
    if me is None:
        return session.to_login()
    return await _render_feed(request, clients, me, request.query_params.get("page_token", ""))


async def _render_feed(
    request: Request,
    clients: ServiceClients,
    me: Caller,
    page_token: str,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "entries": [],
        "unread": None,
        "page_token": page_token,
        "first_page": not page_token,
        "notice": NOTICES.get(request.query_params.get("avis", "")),
        **(extra or {}),
    }
    try:
        entries, next_token = await feed_entries(clients, me, PAGE_SIZE, page_token)
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.UNAUTHENTICATED:
            return session.to_login()
        return render_refusal(request, "evenements.html", err, context)
    context["entries"] = entries
    if next_token:
        context["next_url"] = "/evenements?" + urlencode({"page_token": next_token})
    try:
        context["unread"] = await clients.notifications.count_unread_feed_items(me)
    except grpc.aio.AioRpcError:
        context["unread"] = None  # the list is there; the count is only a convenience
    return render(request, "evenements.html", context, status_code)


@router.post("/evenements/{item_id}/lu", response_model=None)
async def mark_read(
    request: Request,
    clients: Clients,
    caller: AnonymousCaller,
    item_id: str,
    page_token: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    me = session.signed_in(request, caller)
    if me is None:
        return session.to_login()
    if not session.csrf_valid(request, csrf_token):
        return await _render_feed(request, clients, me, page_token, {"error": CSRF_EXPIRED}, 403)
    known = known_id(item_id)
    if known is None:
        return await _render_feed(request, clients, me, page_token, {"error": UNKNOWN_ITEM}, 404)
    try:
        await clients.notifications.mark_feed_item_read(known, me)
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.UNAUTHENTICATED:
            return session.to_login()
        if err.code() == grpc.StatusCode.NOT_FOUND:
            extra = {"error": UNKNOWN_ITEM}
            return await _render_feed(request, clients, me, page_token, extra, 404)
        return render_refusal(request, "evenements.html", err, {"entries": []})
    return RedirectResponse(_return_page(page_token, "lu"), status_code=303)


@router.post("/evenements/tout-lu", response_model=None)
async def mark_all_read(
    request: Request, clients: Clients, caller: AnonymousCaller, csrf_token: FormText = ""
) -> Response:
    me = session.signed_in(request, caller)
    if me is None:
        return session.to_login()
    if not session.csrf_valid(request, csrf_token):
        return await _render_feed(request, clients, me, "", {"error": CSRF_EXPIRED}, 403)
    try:
        await clients.notifications.mark_all_feed_items_read(me)
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.UNAUTHENTICATED:
            return session.to_login()
        return render_refusal(request, "evenements.html", err, {"entries": []})
    return RedirectResponse(_return_page("", "tout-lu"), status_code=303)
