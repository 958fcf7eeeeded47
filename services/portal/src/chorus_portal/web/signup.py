"""Sign-up ("Inscription"), activation and the activation resend.

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


@router.get("/inscription", response_class=HTMLResponse)
async def sign_up_form(request: Request) -> HTMLResponse:
    return render(request, "inscription.html")


@router.post("/inscription", response_class=HTMLResponse)
async def sign_up(
    request: Request,
    clients: Clients,
    caller: AnonymousCaller,
    login_email: FormText = "",
    first_name: FormText = "",
    last_name: FormText = "",
    phone: FormText = "",
    terms_accepted: FormText = "",
    csrf_token: FormText = "",
) -> HTMLResponse:
    values = {
        "login_email": login_email,
        "first_name": first_name,
        "last_name": last_name,
        "phone": phone,
        "terms_accepted": terms_accepted,
    }
    if not session.csrf_valid(request, csrf_token):
        return render(request, "inscription.html", {"error": CSRF_EXPIRED, "values": values}, 403)
    if limited := rate_limited(
        request, Purpose.REGISTRATION, "inscription.html", {"values": values}
    ):
        return limited
    request_pb = identity_pb.RegisterAccountRequest(
        login_email=login_email.strip(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        phone=phone.strip(),
        terms_accepted=terms_accepted == "on",
    )
    try:
        await clients.identity.register_account(request_pb, caller)
    except grpc.aio.AioRpcError as err:
        return render_refusal(request, "inscription.html", err, {"values": values}, status=422)
    return render(request, "inscription.html", {"done": True, "login_email": login_email})


@router.get("/activation", response_class=HTMLResponse)
async def activation_form(request: Request, token: str = "") -> HTMLResponse:
    return render(request, "activation.html", {"token": token})


@router.post("/activation", response_class=HTMLResponse)
async def activate(
    request: Request,
    clients: Clients,
    caller: AnonymousCaller,
    token: FormText = "",
    password: FormText = "",
    password_confirmation: FormText = "",
    secret_question: FormText = "",
    secret_answer: FormText = "",
    csrf_token: FormText = "",
) -> HTMLResponse:
    # Passwords are never sent back into the page; the question is.
    base = {"token": token, "values": {"secret_question": secret_question}}
    if not session.csrf_valid(request, csrf_token):
        return render(request, "activation.html", {**base, "error": CSRF_EXPIRED}, 403)
    if password != password_confirmation:
        mismatch = "Les deux mots de passe ne correspondent pas ; saisissez-les à nouveau."
        context = {**base, "error": mismatch, "errors": {"password_confirmation": mismatch}}
        return render(request, "activation.html", context, 422)
    request_pb = identity_pb.ActivateAccountRequest(
        token=token,
        password=password,
        secret_question=secret_question.strip(),
        secret_answer=secret_answer,
    )
    try:
        await clients.identity.activate_account(request_pb, caller)
    except grpc.aio.AioRpcError as err:
        flags = {"token_invalid": "ACTIVATION_TOKEN_INVALID"}
        return render_refusal(request, "activation.html", err, base, flags=flags)
    return render(request, "activation.html", {"done": True})


@router.post("/activation/renvoi", response_class=HTMLResponse)
async def resend_activation(
    request: Request,
    clients: Clients,
    caller: AnonymousCaller,
    login_email: FormText = "",
    csrf_token: FormText = "",
) -> HTMLResponse:
    if not session.csrf_valid(request, csrf_token):
        return render(request, "activation.html", {"error": CSRF_EXPIRED}, 403)
    if limited := rate_limited(request, Purpose.ACTIVATION_RESEND, "activation.html"):
        return limited
    try:
        await clients.identity.resend_activation(login_email.strip(), caller)
    except grpc.aio.AioRpcError as err:
        return render_refusal(request, "activation.html", err)
    return render(request, "activation.html", {"resent": True, "login_email": login_email})
