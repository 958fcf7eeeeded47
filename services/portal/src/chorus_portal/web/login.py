"""Login ("Connexion") with its return address (``suivant``), the second factor, and logout.

Each POST checks the CSRF token first, then calls the service; a refusal shows the
service's French message and, beside each field, what to fix
(:func:`~chorus_portal.web.refusals.render_refusal`)."""

from __future__ import annotations

import contextlib

import grpc
from chorus.identity.v1 import identity_service_pb2 as identity_pb
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.rate_limits import Purpose
from chorus_portal.web import session
from chorus_portal.web.doors import FormText, rate_limited, secure
from chorus_portal.web.pages import render
from chorus_portal.web.refusals import CSRF_EXPIRED, render_refusal

router = APIRouter(include_in_schema=False)


@router.get("/connexion", response_class=HTMLResponse)
async def login_form(request: Request, suivant: str = "") -> HTMLResponse:
    """The login form; ``suivant``, the page to return to once signed in, travels in a hidden
    field (kept only when :func:`~chorus_portal.web.session.safe_next` accepts it)."""
    return render(request, "connexion.html", {"next": _next(suivant)})


def _next(value: str) -> str:
    """The return address to carry through the login: a safe one, or "" (home)."""
    target = session.safe_next(value)
    return "" if target == "/" else target


@router.post("/connexion", response_model=None)
async def login(
    request: Request,
    clients: Clients,
    caller: AnonymousCaller,
    login_email: FormText = "",
    password: FormText = "",
    suivant: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    base = {"values": {"login_email": login_email}, "next": _next(suivant)}
    if not session.csrf_valid(request, csrf_token):
        return render(request, "connexion.html", {**base, "error": CSRF_EXPIRED}, 403)
    if limited := rate_limited(request, Purpose.LOGIN, "connexion.html", base):
        return limited
    try:
        answer = await clients.identity.create_session(login_email.strip(), password, caller)
    except grpc.aio.AioRpcError as err:
        return render_refusal(request, "connexion.html", err, base)
    if answer.mfa_required:
        context = {"challenge_id": answer.mfa_challenge_id, "next": base["next"]}
        return render(request, "connexion_code.html", context)
    return _signed_in(request, answer.tokens, suivant)


@router.post("/connexion/code", response_model=None)
async def login_second_factor(
    request: Request,
    clients: Clients,
    caller: AnonymousCaller,
    challenge_id: FormText = "",
    code: FormText = "",
    suivant: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    base = {"challenge_id": challenge_id, "next": _next(suivant)}
    if not session.csrf_valid(request, csrf_token):
        return render(request, "connexion_code.html", {**base, "error": CSRF_EXPIRED}, 403)
    if limited := rate_limited(request, Purpose.SECOND_FACTOR, "connexion_code.html", base):
        return limited
    try:
        tokens = await clients.identity.complete_mfa_challenge(challenge_id, code.strip(), caller)
    except grpc.aio.AioRpcError as err:
        flags = {"restart": "MFA_CHALLENGE_INVALID"}
        return render_refusal(request, "connexion_code.html", err, base, flags=flags)
    return _signed_in(request, tokens, suivant)


def _signed_in(request: Request, tokens: identity_pb.TokenPair, suivant: str) -> Response:
    """Signed in: to the return address when it is a safe one, else home."""
    response = RedirectResponse(session.safe_next(suivant), status_code=303)
    session.start_session(
        response,
        tokens.access_token,
        tokens.refresh_token,
        tokens.expires_in,
        secure=secure(request),
    )
    return response


@router.get("/deconnexion", response_class=HTMLResponse)
async def logout_form(request: Request) -> HTMLResponse:
    return render(request, "deconnexion.html")


@router.post("/deconnexion", response_model=None)
async def logout(
    request: Request, clients: Clients, caller: AnonymousCaller, csrf_token: FormText = ""
) -> Response:
    if not session.csrf_valid(request, csrf_token):
        return render(request, "deconnexion.html", {"error": CSRF_EXPIRED}, 403)
    refresh = session.refresh_token(request)
    if refresh:
        # The cookies go anyway; a session that could not be revoked expires on its own.
        with contextlib.suppress(grpc.aio.AioRpcError):
            await clients.identity.revoke_session(refresh, caller)
    response = RedirectResponse("/", status_code=303)
    session.end_session(response, secure=secure(request))
    return response
