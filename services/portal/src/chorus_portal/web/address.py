"""The confirmation of a new e-mail address (the link sent by "Mon compte").

Each POST checks the CSRF token first, then calls the service; a refusal shows the
service's French message and, beside each field, what to fix
(:func:`~chorus_portal.web.refusals.render_refusal`)."""

from __future__ import annotations

from dataclasses import replace

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_portal.web import session
from chorus_portal.web.doors import FormText
from chorus_portal.web.pages import render
from chorus_portal.web.refusals import CSRF_EXPIRED, render_refusal

router = APIRouter(include_in_schema=False)


@router.get("/mon-compte/adresse", response_class=HTMLResponse)
async def email_verification_form(request: Request, token: str = "") -> HTMLResponse:
    return render(request, "adresse.html", {"token": token})


@router.post("/mon-compte/adresse", response_class=HTMLResponse)
async def confirm_email(
    request: Request,
    clients: Clients,
    caller: AnonymousCaller,
    token: FormText = "",
    csrf_token: FormText = "",
) -> HTMLResponse:
    if not session.csrf_valid(request, csrf_token):
        return render(request, "adresse.html", {"token": token, "error": CSRF_EXPIRED}, 403)
    access = session.session_token(request)
    if not access:
        return RedirectResponse("/connexion", status_code=303)  # type: ignore[return-value]
    try:
        user = await clients.identity.confirm_email_change(token, replace(caller, token=access))
    except grpc.aio.AioRpcError as err:
        return render_refusal(request, "adresse.html", err, {"token": token})
    return render(request, "adresse.html", {"done": True, "user": user})
