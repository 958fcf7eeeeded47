"""The landing page: the public page, or for a signed-in user the dashboard (:mod:`.dashboard`)."""

from __future__ import annotations

from dataclasses import replace

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_portal.web import session
from chorus_portal.web.dashboard import SessionExpired, dashboard
from chorus_portal.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, clients: Clients, caller: AnonymousCaller) -> HTMLResponse:
    """The public page, or for a signed-in user the dashboard (:mod:`.dashboard`)."""
    token = session.session_token(request)
    if not token:
        return render(request, "index.html", {"user": None})
    me = replace(caller, token=token)
    try:
        user = await clients.identity.get_me(me)
        board = await dashboard(clients, me)
    except (grpc.aio.AioRpcError, SessionExpired):
        # Expired or revoked session (or identity unwell): show the public page.
        return render(request, "index.html", {"user": None})
    return render(request, "index.html", {"user": user, "board": board})
