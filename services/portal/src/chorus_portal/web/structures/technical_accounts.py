"""Portal ``/structures/{id}/comptes-techniques``: a structure's technical accounts for the
Chorus Pro-compatible API, to its managers — activate one (login and password shown once, on
the answer page), list them with their status and expiry, renew a password (shown once),
revoke one (with a confirmation) — and how a connector uses them.

The page calls IdentityService exactly as ``/api/v1/structures/{id}/technical-accounts``
does, with the session's token: identity asks structures whether the caller manages the
structure (MANAGER_REQUIRED otherwise, shown in French). Each POST checks the CSRF token
first; a refusal shows the page again with the service's message.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.credentials import TECHNICAL_ACCOUNT_STATUS, connection_urls
from chorus_edge.problems import FieldError, ProblemError, problem_from_rpc_error
from chorus_portal.web import formats, session
from chorus_portal.web.forms import text
from chorus_portal.web.pages import render
from chorus_portal.web.paths import known_id
from chorus_portal.web.refusals import csrf_refused, field_errors
from chorus_portal.web.session import signed_in, to_login
from chorus_portal.web.structures.display import failure_page, not_found

router = APIRouter(include_in_schema=False)

TEMPLATE = "comptes_techniques.html"
STATUS_LABELS = {"ACTIF": "Actif", "EXPIRE": "Mot de passe expiré", "REVOQUE": "Révoqué"}
NOTICES = {"revoque": "Compte technique révoqué : il ne donne plus accès à l'API."}
CONFIRM_REVOCATION = "Cochez la case pour confirmer la révocation du compte technique."


def _page_path(structure_id: str) -> str:
    return f"/structures/{structure_id}/comptes-techniques"


async def _context(
    request: Request, clients: ServiceClients, me: Caller, structure_id: str
) -> dict[str, Any]:
    found, accounts = await asyncio.gather(
        clients.structures.get_structure(structure_id, me),
        clients.identity.list_technical_accounts(structure_id, me),
    )
    urls = connection_urls(request.app.state.settings.portal_url)
    return {
        "structure": found,
        "token_url": urls.token_url,
        "api_base_url": urls.api_base_url,
        "accounts": [
            {
                "id": a.id,
                "login": a.login,
                "status": TECHNICAL_ACCOUNT_STATUS.to_rest(a.status) or "",
                "status_label": STATUS_LABELS.get(
                    TECHNICAL_ACCOUNT_STATUS.to_rest(a.status) or "", ""
                ),
                "created_at": formats.moment(a, "created_at"),
                "expires_at": formats.moment(a, "expires_at"),
                "revoked_at": formats.moment(a, "revoked_at"),
            }
            for a in accounts
        ],
    }


async def _page(
    request: Request,
    clients: ServiceClients,
    me: Caller,
    structure_id: str,
    extra: dict[str, Any],
    status: int = 200,
) -> Response:
    try:
        context = await _context(request, clients, me, structure_id)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, problem_from_rpc_error(err))
    return render(request, TEMPLATE, {**context, **extra}, status)


@router.get("/structures/{structure_id}/comptes-techniques", response_model=None)
async def technical_accounts_page(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = known_id(structure_id)
    if known is None:
        return not_found(request)
    notice = NOTICES.get(request.query_params.get("avis", ""))
    return await _page(request, clients, me, known, {"notice": notice})


async def _refused(
    request: Request,
    clients: ServiceClients,
    me: Caller,
    structure_id: str,
    problem: ProblemError,
) -> Response:
    if problem.status == 401:
        return to_login()
    extra = {"error": problem.detail, "errors": field_errors(problem), "code": problem.code}
    return await _page(request, clients, me, structure_id, extra, problem.status)


async def _form(request: Request) -> tuple[Any, bool]:
    form = await request.form()
    return form, session.csrf_valid(request, text(form, "csrf_token"))


@router.post("/structures/{structure_id}/comptes-techniques", response_model=None)
async def activate(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    """Activates a technical account; its login and password are shown on this answer only."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = known_id(structure_id)
    if known is None:
        return not_found(request)
    _, csrf_ok = await _form(request)
    if not csrf_ok:
        return await _refused(request, clients, me, known, csrf_refused())
    try:
        created = await clients.identity.create_technical_account(known, me)
    except grpc.aio.AioRpcError as err:
        return await _refused(request, clients, me, known, problem_from_rpc_error(err))
    shown = {
        "activated": True,
        "login": created.account.login,
        "password": created.password,
        "expires_at": formats.moment(created.account, "expires_at"),
    }
    return await _page(request, clients, me, known, {"shown": shown}, 201)


@router.post(
    "/structures/{structure_id}/comptes-techniques/{account_id}/renouvellement",
    response_model=None,
)
async def renew(
    request: Request,
    structure_id: str,
    account_id: str,
    clients: Clients,
    caller: AnonymousCaller,
) -> Response:
    """A new password for the account, shown on this answer only; the old one stops."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known, account = known_id(structure_id), known_id(account_id)
    if known is None:
        return not_found(request)
    _, csrf_ok = await _form(request)
    if not csrf_ok:
        return await _refused(request, clients, me, known, csrf_refused())
    try:
        if account is None:
            raise ProblemError(404, "TECHNICAL_ACCOUNT_NOT_FOUND", "Compte technique introuvable.")
        renewed = await clients.identity.rotate_technical_account_password(known, account, me)
    except ProblemError as err:
        return await _refused(request, clients, me, known, err)
    except grpc.aio.AioRpcError as err:
        return await _refused(request, clients, me, known, problem_from_rpc_error(err))
    shown = {
        "activated": False,
        "login": renewed.account.login,
        "password": renewed.password,
        "expires_at": formats.moment(renewed.account, "expires_at"),
    }
    return await _page(request, clients, me, known, {"shown": shown})


@router.post(
    "/structures/{structure_id}/comptes-techniques/{account_id}/revocation",
    response_model=None,
)
async def revoke(
    request: Request,
    structure_id: str,
    account_id: str,
    clients: Clients,
    caller: AnonymousCaller,
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known, account = known_id(structure_id), known_id(account_id)
    if known is None:
        return not_found(request)
    form, csrf_ok = await _form(request)
    if not csrf_ok:
        return await _refused(request, clients, me, known, csrf_refused())
    try:
        if account is None:
            raise ProblemError(404, "TECHNICAL_ACCOUNT_NOT_FOUND", "Compte technique introuvable.")
        if text(form, "confirm") != "on":
            raise ProblemError(
                422,
                "VALIDATION_FAILED",
                CONFIRM_REVOCATION,
                [FieldError(field=f"confirm-{account}", message=CONFIRM_REVOCATION)],
            )
        await clients.identity.revoke_technical_account(known, account, me)
    except ProblemError as err:
        return await _refused(request, clients, me, known, err)
    except grpc.aio.AioRpcError as err:
        return await _refused(request, clients, me, known, problem_from_rpc_error(err))
    return RedirectResponse(f"{_page_path(known)}?avis=revoque", status_code=303)
