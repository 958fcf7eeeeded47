"""The forgotten password: the request, the link's form and the new password.

Each POST checks the CSRF token first, then calls the service; a refusal shows the
service's French message and, beside each field, what to fix
(:func:`~chorus_portal.web.refusals.render_refusal`)."""

from __future__ import annotations

import grpc
from chorus.identity.v1 import identity_service_pb2 as identity_pb
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.rate_limits import Purpose
from chorus_portal.web import session
from chorus_portal.web.doors import FormText, rate_limited
from chorus_portal.web.pages import render
from chorus_portal.web.refusals import CSRF_EXPIRED, render_refusal

router = APIRouter(include_in_schema=False)


@router.get("/mot-de-passe-oublie", response_class=HTMLResponse)
async def forgotten_password_form(request: Request) -> HTMLResponse:
    return render(request, "mot_de_passe_oublie.html")


@router.post("/mot-de-passe-oublie", response_class=HTMLResponse)
async def forgotten_password(
    request: Request,
    clients: Clients,
    caller: AnonymousCaller,
    login_email: FormText = "",
    csrf_token: FormText = "",
) -> HTMLResponse:
    if not session.csrf_valid(request, csrf_token):
        return render(request, "mot_de_passe_oublie.html", {"error": CSRF_EXPIRED}, 403)
    values = {"values": {"login_email": login_email}}
    if limited := rate_limited(request, Purpose.PASSWORD_RESET, "mot_de_passe_oublie.html", values):
        return limited
    try:
        await clients.identity.request_password_reset(login_email.strip(), caller)
    except grpc.aio.AioRpcError as err:
        return render_refusal(request, "mot_de_passe_oublie.html", err, values)
    return render(request, "mot_de_passe_oublie.html", {"done": True})


@router.get("/mot-de-passe/reinitialisation", response_class=HTMLResponse)
async def reset_form(
    request: Request, clients: Clients, caller: AnonymousCaller, token: str = ""
) -> HTMLResponse:
    error_page = {"title": "Trop de tentatives"}
    if limited := rate_limited(request, Purpose.PASSWORD_RESET_LOOKUP, "erreur.html", error_page):
        return limited
    try:
        link = await clients.identity.get_password_reset(token, caller)
    except grpc.aio.AioRpcError as err:
        return render_refusal(request, "reinitialisation.html", err, {"token_invalid": True})
    return render(
        request, "reinitialisation.html", {"token": token, "question": link.secret_question}
    )


@router.post("/mot-de-passe/reinitialisation", response_class=HTMLResponse)
async def reset_password(
    request: Request,
    clients: Clients,
    caller: AnonymousCaller,
    token: FormText = "",
    question: FormText = "",
    secret_answer: FormText = "",
    password: FormText = "",
    password_confirmation: FormText = "",
    csrf_token: FormText = "",
) -> HTMLResponse:
    base = {"token": token, "question": question}
    if not session.csrf_valid(request, csrf_token):
        return render(request, "reinitialisation.html", {**base, "error": CSRF_EXPIRED}, 403)
    if password != password_confirmation:
        mismatch = "Les deux mots de passe ne correspondent pas ; saisissez-les à nouveau."
        context = {**base, "error": mismatch, "errors": {"password_confirmation": mismatch}}
        return render(request, "reinitialisation.html", context, 422)
    if limited := rate_limited(
        request, Purpose.PASSWORD_RESET_CONFIRM, "reinitialisation.html", base
    ):
        return limited
    request_pb = identity_pb.ConfirmPasswordResetRequest(
        token=token, secret_answer=secret_answer, password=password
    )
    try:
        await clients.identity.confirm_password_reset(request_pb, caller)
    except grpc.aio.AioRpcError as err:
        flags = {"token_invalid": "RESET_TOKEN_INVALID"}
        return render_refusal(request, "reinitialisation.html", err, base, flags=flags)
    return render(request, "reinitialisation.html", {"done": True})
