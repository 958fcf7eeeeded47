"""Portal "Mon compte": profile, contact e-mail, password, two-factor authentication,
active sessions, e-mail preferences and account deactivation.

The page calls IdentityService (and NotificationsService for the e-mail preferences) exactly
as ``/api/v1/me`` does, with the session's token, building its profile change with the API's
body and mapping (:mod:`chorus_edge.accounts`); the services own every rule (password
strength, current password, codes). Each POST checks the CSRF token first; a success
redirects (303) to the page with a notice, a refusal shows the page again with the service's
French message beside the field to fix.
Passwords and codes are never sent back into the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from chorus.notifications.v1 import notifications_service_pb2 as notifications_pb
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from chorus_edge.accounts import UpdateMeBody, update_me_request
from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.enums import ProtoEnum
from chorus_edge.problems import TITLES, FieldError, ProblemError, problem_from_rpc_error
from chorus_portal.web import formats, session
from chorus_portal.web.forms import text
from chorus_portal.web.pages import render
from chorus_portal.web.refusals import csrf_refused, field_errors
from chorus_portal.web.session import signed_in, to_login

router = APIRouter(include_in_schema=False)

# Notices shown after a redirect (``?avis=``): fixed texts, nothing from the URL is echoed.
NOTICES = {
    "profil": "Vos informations ont été enregistrées.",
    "adresse": "Un lien de confirmation a été envoyé à la nouvelle adresse : l'adresse de "
    "contact changera quand vous l'aurez ouvert.",
    "mot-de-passe": "Mot de passe changé. Vos autres sessions ont été fermées.",
    "double-authentification": "Double authentification activée : un code vous sera demandé "
    "à chaque connexion.",
    "double-authentification-desactivee": "Double authentification désactivée.",
    "session": "La session a été fermée.",
    "notifications": "Vos préférences d'e-mails ont été enregistrées.",
}

# The optional e-mails (NotificationsService lists the kinds; these are their French names;
# a kind added there without a name here is shown by its code until it gets one).
NOTIFICATION_LABELS = {
    "ACCOUNT_ACTIVATED": "Confirmation de l'activation de mon compte",
    "INVOICE_SUBMITTED": "Dépôt de mes factures",
    "INVOICE_STATUS_CHANGED": "Changement de statut de mes factures",
    "INVOICE_RECEIVED": "Facture reçue par ma structure",
    "INVOICE_COMPLETED": "Facture suspendue complétée par le fournisseur",
    "MEMBER_ADDED": "Rattachement à une structure",
    "ATTACHMENT_REQUESTED": "Nouvelle demande de rattachement (gestionnaires)",
    "ATTACHMENT_DECIDED": "Décision sur ma demande de rattachement",
    "ROLE_CHANGED": "Changement de mon rôle dans une structure",
    "PRINCIPAL_TRANSFERRED": "Transfert du rôle de gestionnaire principal",
    "MEMBER_DETACHED": "Détachement d'une structure",
    "SUBSCRIPTION_REQUESTED": "Nouvelle demande d'abonnement à un espace (gestionnaires)",
    "SUBSCRIPTION_DECIDED": "Décision sur ma demande d'abonnement à un espace",
    "SOLLICITATION_RECEIVED": "Nouvelle sollicitation reçue (gestionnaires, support)",
    "SOLLICITATION_REPLIED": "Nouveau message dans une de mes sollicitations",
}
# How invoice e-mails reach the user (NotificationsService's InvoiceEmailFrequency), in the
# order the select shows them.
INVOICE_EMAIL_FREQUENCY = ProtoEnum(notifications_pb.InvoiceEmailFrequency)
INVOICE_EMAIL_FREQUENCIES = {
    "IMMEDIATE": "Immédiat (un e-mail à chaque événement)",
    "HOURLY": "Un résumé par heure",
    "DAILY": "Un résumé par jour",
}
FREQUENCY_UNKNOWN = "Choisissez l'envoi immédiat, un résumé par heure ou un résumé par jour."
PROFILE_FIELDS = ("first_name", "last_name", "phone")
MISMATCH = "Les deux mots de passe ne correspondent pas ; saisissez-les à nouveau."
CONFIRM_DEACTIVATION = "Cochez la case pour confirmer la désactivation de votre compte."


async def _preferences(clients: ServiceClients, me: Caller) -> dict[str, Any]:
    """The e-mail preferences, or why they cannot be shown (the rest of the page still is)."""
    try:
        found = await clients.notifications.get_preferences(me)
    except grpc.aio.AioRpcError as err:
        problem = problem_from_rpc_error(err)
        if problem.status == 401:
            raise
        return {"preferences": [], "preferences_error": problem.detail}
    return {
        "preferences": [
            {"kind": kind, "label": NOTIFICATION_LABELS.get(kind, kind), "on": on}
            for kind, on in sorted(
                found.email.items(), key=lambda item: NOTIFICATION_LABELS.get(item[0], item[0])
            )
        ],
        "frequencies": INVOICE_EMAIL_FREQUENCIES,
        "frequency": INVOICE_EMAIL_FREQUENCY.to_rest(found.invoice_email_frequency) or "IMMEDIATE",
    }


async def _context(clients: ServiceClients, me: Caller) -> dict[str, Any]:
    user, sessions, preferences = await asyncio.gather(
        clients.identity.get_me(me),
        clients.identity.list_my_sessions(me),
        _preferences(clients, me),
    )
    return {
        "user": user,
        "profile": {name: getattr(user, name) for name in PROFILE_FIELDS},
        "sessions": [
            {
                "id": s.id,
                "created_at": formats.moment(s, "created_at"),
                "last_used_at": formats.moment(s, "last_used_at"),
                "ip_address": s.ip_address,
                "user_agent": s.user_agent,
                "current": s.current,
            }
            for s in sessions
        ],
        **preferences,
    }


def _failure_page(request: Request, problem: ProblemError) -> Response:
    if problem.status == 401:
        return to_login()
    title = TITLES.get(problem.status, "Erreur")
    return render(
        request, "erreur.html", {"title": title, "message": problem.detail}, problem.status
    )


@router.get("/mon-compte", response_model=None)
async def account_page(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    try:
        context = await _context(clients, me)
    except grpc.aio.AioRpcError as err:
        return _failure_page(request, problem_from_rpc_error(err))
    context["notice"] = NOTICES.get(request.query_params.get("avis", ""))
    return render(request, "mon_compte.html", context)


async def _action(
    request: Request,
    clients: Clients,
    caller: Caller,
    form_name: str,
    call: Callable[[Caller, FormData], Awaitable[Response | None]],
    *,
    notice: str = "",
    values: tuple[str, ...] = (),
) -> Response:
    """Runs one form of "Mon compte": CSRF check, ``call(caller, form)``, then a redirect
    with the notice (or the page ``call`` answered). A refusal (the service's, or a
    ProblemError raised while reading the form) shows the page again with the message and
    the errors beside the form's fields (``values`` typed in kept, never passwords)."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    form = await request.form()
    if not session.csrf_valid(request, text(form, "csrf_token")):
        problem = csrf_refused()
    else:
        try:
            answer = await call(me, form)
        except ProblemError as err:
            problem = err
        except grpc.aio.AioRpcError as err:
            problem = problem_from_rpc_error(err)
        else:
            return answer or RedirectResponse(f"/mon-compte?avis={notice}", status_code=303)
    if problem.status == 401:
        return to_login()
    try:
        context = await _context(clients, me)
    except grpc.aio.AioRpcError as err:
        return _failure_page(request, problem_from_rpc_error(err))
    typed = {name: text(form, name) for name in values}
    if form_name == "profile":
        context["profile"] = typed
    context.update(
        form=form_name,
        values=typed,
        error=problem.detail,
        errors=field_errors(problem),
        code=problem.code,
    )
    return render(request, "mon_compte.html", context, problem.status)


def _refuse(field: str, message: str) -> ProblemError:
    return ProblemError(
        422, "VALIDATION_FAILED", message, [FieldError(field=field, message=message)]
    )


@router.post("/mon-compte/profil", response_model=None)
async def update_profile(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    async def update(me: Caller, form: FormData) -> None:
        body = UpdateMeBody(**{name: text(form, name) for name in PROFILE_FIELDS})
        await clients.identity.update_me(update_me_request(body), me)

    return await _action(
        request, clients, caller, "profile", update, notice="profil", values=PROFILE_FIELDS
    )


@router.post("/mon-compte/adresse-de-contact", response_model=None)
async def change_contact_email(
    request: Request, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def change(me: Caller, form: FormData) -> None:
        await clients.identity.request_contact_email_change(
            text(form, "contact_email"), text(form, "current_password"), me
        )

    return await _action(
        request, clients, caller, "contact", change, notice="adresse", values=("contact_email",)
    )


@router.post("/mon-compte/mot-de-passe", response_model=None)
async def change_password(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    async def change(me: Caller, form: FormData) -> None:
        new = text(form, "new_password")
        if new != text(form, "new_password_confirmation"):
            raise _refuse("new_password_confirmation", MISMATCH)
        await clients.identity.change_password(text(form, "current_password"), new, me)

    return await _action(request, clients, caller, "password", change, notice="mot-de-passe")


@router.post("/mon-compte/double-authentification", response_model=None)
async def start_two_factor(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    async def start(me: Caller, form: FormData) -> Response:
        started = await clients.identity.start_totp_enrolment(me)
        enrolment = {
            "secret": started.secret,
            "otpauth_uri": started.otpauth_uri,
            "recovery_codes": list(started.recovery_codes),
        }
        return render(request, "double_authentification.html", {"enrolment": enrolment})

    return await _action(request, clients, caller, "totp", start)


@router.post("/mon-compte/double-authentification/confirmation", response_model=None)
async def confirm_two_factor(
    request: Request, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    form = await request.form()
    if not session.csrf_valid(request, text(form, "csrf_token")):
        problem = csrf_refused()
    else:
        try:
            await clients.identity.confirm_totp_enrolment(text(form, "code"), me)
        except grpc.aio.AioRpcError as err:
            problem = problem_from_rpc_error(err)
        else:
            return RedirectResponse("/mon-compte?avis=double-authentification", status_code=303)
    if problem.status == 401:
        return to_login()
    # The secret was shown once; the page asks for a code again without it.
    context = {"error": problem.detail, "errors": field_errors(problem) or {"code": problem.detail}}
    return render(request, "double_authentification.html", context, problem.status)


@router.post("/mon-compte/double-authentification/desactivation", response_model=None)
async def disable_two_factor(
    request: Request, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def disable(me: Caller, form: FormData) -> None:
        await clients.identity.disable_totp(text(form, "current_password"), me)

    return await _action(
        request, clients, caller, "totp_off", disable, notice="double-authentification-desactivee"
    )


@router.post("/mon-compte/sessions/{session_id}/revocation", response_model=None)
async def revoke_session(
    request: Request, session_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def revoke(me: Caller, form: FormData) -> None:
        await clients.identity.revoke_my_session(session_id, me)

    return await _action(request, clients, caller, "sessions", revoke, notice="session")


@router.post("/mon-compte/notifications", response_model=None)
async def update_notifications(
    request: Request, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def update(me: Caller, form: FormData) -> None:
        shown = [str(kind) for kind in form.getlist("kinds")]
        chosen = {str(kind) for kind in form.getlist("email")}
        frequency = text(form, "invoice_email_frequency")
        if frequency and frequency not in INVOICE_EMAIL_FREQUENCIES:
            raise _refuse("invoice_email_frequency", FREQUENCY_UNKNOWN)
        await clients.notifications.update_preferences(
            {kind: kind in chosen for kind in shown},
            me,
            INVOICE_EMAIL_FREQUENCY.to_proto(frequency or None),
        )

    return await _action(request, clients, caller, "notifications", update, notice="notifications")


@router.post("/mon-compte/desactivation", response_model=None)
async def deactivate(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    async def deactivate_it(me: Caller, form: FormData) -> Response:
        if text(form, "confirm") != "on":
            raise _refuse("confirm", CONFIRM_DEACTIVATION)
        await clients.identity.deactivate_me(text(form, "current_password"), me)
        response: HTMLResponse = render(
            request,
            "erreur.html",
            {
                "signed_in": False,
                "title": "Compte désactivé",
                "message": "Votre compte est désactivé et vos sessions sont fermées. Vos "
                "données sont conservées.",
            },
        )
        session.end_session(response, secure=request.app.state.settings.secure_cookies)
        return response

    return await _action(request, clients, caller, "deactivate", deactivate_it)
