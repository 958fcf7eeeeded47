"""Portal "Mon compte › Applications API": the caller's API applications for the Chorus
Pro-compatible API — create one (its secret shown once, on the answer page), list them,
revoke one (with a confirmation) — and how a connector uses them (the token URL and the API
base, from ``CHORUS_PORTAL_URL``).

The page calls IdentityService exactly as ``/api/v1/api-clients`` does, with the session's
token; identity owns every rule. Each POST checks the CSRF token first; a refusal shows the
page again with the service's French message.
"""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.credentials import connection_urls
from chorus_edge.problems import TITLES, FieldError, ProblemError, problem_from_rpc_error
from chorus_portal.web import formats, session
from chorus_portal.web.forms import text
from chorus_portal.web.pages import render
from chorus_portal.web.paths import known_id
from chorus_portal.web.refusals import csrf_refused, field_errors
from chorus_portal.web.session import signed_in, to_login

router = APIRouter(include_in_schema=False)

PAGE = "/mon-compte/applications-api"
TEMPLATE = "applications_api.html"
NOTICES = {"revoquee": "Application révoquée : ses jetons sont refusés dès maintenant."}
CONFIRM_REVOCATION = "Cochez la case pour confirmer la révocation de l'application."


def urls_of(request: Request) -> dict[str, str]:
    urls = connection_urls(request.app.state.settings.portal_url)
    return {"token_url": urls.token_url, "api_base_url": urls.api_base_url}


async def _context(request: Request, clients: ServiceClients, me: Caller) -> dict[str, Any]:
    found = await clients.identity.list_api_clients(me)
    return {
        **urls_of(request),
        "applications": [
            {
                "id": c.id,
                "client_id": c.client_id,
                "name": c.name,
                "created_at": formats.moment(c, "created_at"),
                "last_used_at": formats.moment(c, "last_used_at"),
                "revoked_at": formats.moment(c, "revoked_at"),
            }
            for c in found
        ],
    }


def _failure(request: Request, problem: ProblemError) -> Response:
    if problem.status == 401:
        return to_login()
    title = TITLES.get(problem.status, "Erreur")
    context = {"title": title, "message": problem.detail}
    return render(request, "erreur.html", context, problem.status)


async def _page(
    request: Request,
    clients: ServiceClients,
    me: Caller,
    extra: dict[str, Any],
    status: int = 200,
) -> Response:
    try:
        context = await _context(request, clients, me)
    except grpc.aio.AioRpcError as err:
        return _failure(request, problem_from_rpc_error(err))
    return render(request, TEMPLATE, {**context, **extra}, status)


@router.get(PAGE, response_model=None)
async def applications_page(
    request: Request, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    return await _page(
        request, clients, me, {"notice": NOTICES.get(request.query_params.get("avis", ""))}
    )


async def _refused(
    request: Request,
    clients: ServiceClients,
    me: Caller,
    problem: ProblemError,
    form: str,
    values: dict[str, str] | None = None,
) -> Response:
    if problem.status == 401:
        return to_login()
    extra = {
        "form": form,
        "error": problem.detail,
        "errors": field_errors(problem),
        "code": problem.code,
        "values": values or {},
    }
    return await _page(request, clients, me, extra, problem.status)


@router.post(PAGE, response_model=None)
async def create_application(
    request: Request, clients: Clients, caller: AnonymousCaller
) -> Response:
    """Creates an application and shows its secret on this answer only (never again)."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    form = await request.form()
    if not session.csrf_valid(request, text(form, "csrf_token")):
        return await _refused(request, clients, me, csrf_refused(), "create")
    name = text(form, "name")
    try:
        created = await clients.identity.create_api_client(name, me)
    except grpc.aio.AioRpcError as err:
        problem = problem_from_rpc_error(err)
        return await _refused(request, clients, me, problem, "create", {"name": name})
    shown = {
        "name": created.client.name,
        "client_id": created.client.client_id,
        "client_secret": created.client_secret,
    }
    return await _page(request, clients, me, {"created": shown}, 201)


@router.post(PAGE + "/{application_id}/revocation", response_model=None)
async def revoke_application(
    request: Request, application_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    form = await request.form()
    if not session.csrf_valid(request, text(form, "csrf_token")):
        return await _refused(request, clients, me, csrf_refused(), "revoke")
    known = known_id(application_id)
    if text(form, "confirm") != "on":
        problem = ProblemError(
            422,
            "VALIDATION_FAILED",
            CONFIRM_REVOCATION,
            [FieldError(field=f"confirm-{known or ''}", message=CONFIRM_REVOCATION)],
        )
        return await _refused(request, clients, me, problem, "revoke")
    try:
        if known is None:
            raise ProblemError(404, "API_CLIENT_NOT_FOUND", "Application API introuvable.")
        await clients.identity.revoke_api_client(known, me)
    except ProblemError as err:
        return await _refused(request, clients, me, err, "revoke")
    except grpc.aio.AioRpcError as err:
        return await _refused(request, clients, me, problem_from_rpc_error(err), "revoke")
    return RedirectResponse(f"{PAGE}?avis=revoquee", status_code=303)
