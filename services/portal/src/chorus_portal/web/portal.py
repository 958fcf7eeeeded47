"""Portal pages around signing in: the landing page, sign-up, activation, login (and its
second factor), logout, password reset and the confirmation of a new e-mail address; thin
forms over the same service clients as the API.

Each POST checks the CSRF token first, then calls the service; a refusal shows the
service's French message and, beside each field, what to fix
(:func:`~chorus_portal.web.refusals.render_refusal`). Login, second factor, password reset
(request, link lookup, confirmation) and activation resend draw, after the CSRF check, from
the same per-client buckets as the REST API's doors (:mod:`chorus_edge.rate_limits`):
an empty bucket shows the form again with the wait, status 429 and ``Retry-After``.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Annotated

import grpc
from chorus.identity.v1 import identity_service_pb2 as identity_pb
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.rate_limits import RATE_LIMITED, Purpose, limited_message, retry_after
from chorus_portal.web import session
from chorus_portal.web.dashboard import SessionExpired, dashboard
from chorus_portal.web.pages import render
from chorus_portal.web.refusals import CSRF_EXPIRED, render_refusal

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]


def _secure(request: Request) -> bool:
    return request.app.state.settings.secure_cookies


def _rate_limited(
    request: Request, purpose: Purpose, template: str, context: dict | None = None
) -> HTMLResponse | None:
    """``template`` again with the wait (429, ``Retry-After``) when the caller's ``purpose``
    bucket is empty; ``None`` (one request taken from the bucket) when the form may go on."""
    seconds = retry_after(request, purpose)
    if seconds is None:
        return None
    message = limited_message(seconds)
    refusal = {"error": message, "message": message, "code": RATE_LIMITED}
    response = render(request, template, {**(context or {}), **refusal}, 429)
    response.headers["Retry-After"] = str(seconds)
    return response


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
    if limited := _rate_limited(
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
    if limited := _rate_limited(request, Purpose.ACTIVATION_RESEND, "activation.html"):
        return limited
    try:
        await clients.identity.resend_activation(login_email.strip(), caller)
    except grpc.aio.AioRpcError as err:
        return render_refusal(request, "activation.html", err)
    return render(request, "activation.html", {"resent": True, "login_email": login_email})


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
    if limited := _rate_limited(request, Purpose.LOGIN, "connexion.html", base):
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
    if limited := _rate_limited(request, Purpose.SECOND_FACTOR, "connexion_code.html", base):
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
        secure=_secure(request),
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
    session.end_session(response, secure=_secure(request))
    return response


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
    if limited := _rate_limited(
        request, Purpose.PASSWORD_RESET, "mot_de_passe_oublie.html", values
    ):
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
    if limited := _rate_limited(request, Purpose.PASSWORD_RESET_LOOKUP, "erreur.html", error_page):
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
    if limited := _rate_limited(
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
