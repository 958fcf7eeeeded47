"""Portal: one structure's page (details, members, services, spaces; to its managers, the
pending attachment requests and subscriptions, 100 a page, and the managers' forms), and
:func:`run_action`, which runs every form of that page (:mod:`.members`, :mod:`.editing`,
:mod:`.services`, :mod:`.spaces`).

The page calls StructuresService exactly as ``/api/v1/structures`` does, with the session's
token: the service decides who may see and do what. It offers the managers' forms to the caller
whose membership says they manage the structure; any refusal (e.g. PERMISSION_DENIED
``MANAGER_REQUIRED``) is shown with the service's French message. Each POST checks the CSRF
token first; a success redirects (303) with a notice, a refusal shows the page again with the
message and, beside each field, what to fix. A structure the caller is not a member of
(``ListSpaces`` answers ``NOT_A_MEMBER``) is the French 404 page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.problems import ProblemError, problem_from_rpc_error
from chorus_edge.structures import IDENTIFIER_TYPE, STRUCTURE_KIND, STRUCTURE_STATUS
from chorus_portal.web import formats, session
from chorus_portal.web.forms import text
from chorus_portal.web.pages import render
from chorus_portal.web.paths import known_id
from chorus_portal.web.refusals import csrf_refused
from chorus_portal.web.session import signed_in, to_login
from chorus_portal.web.structures.display import (
    NOTICES,
    failure_page,
    form_errors,
    hidden,
    not_found,
)
from chorus_portal.web.structures.labels import (
    ADDRESS_FIELDS,
    GRANTABLE_ROLES,
    IDENTIFIER_TYPE_LABELS,
    MANAGER_ROLES,
    MODE_LABELS,
    ROLE_LABELS,
    ROUTING_LABELS,
    SPACE_LABELS,
    STATUS_LABELS,
    mode_code,
    person_name,
    role_code,
    space_code,
)

router = APIRouter(include_in_schema=False)

# Pending attachment requests and subscriptions shown per page of the structure's page.
PENDING_PAGE_SIZE = 100

# Query parameters holding the keyset tokens of the pending lists' pages.
PAGE_PARAMS = ("page_demandes", "page_abonnements")


def _pages(
    structure_id: str, tokens: dict[str, str], param: str, next_token: str
) -> dict[str, str]:
    """The first and next page links of one pending list (``first``/``next`` empty when there
    is none), keeping the other list's page and jumping to the list."""
    anchor = {"page_demandes": "#pending-title", "page_abonnements": "#subscriptions-title"}[param]
    others = {k: v for k, v in tokens.items() if k != param and v}

    def url(query: dict[str, str]) -> str:
        return f"/structures/{structure_id}" + (f"?{urlencode(query)}" if query else "") + anchor

    return {
        "first": url(others) if tokens.get(param) else "",
        "next": url({**others, param: next_token}) if next_token else "",
    }


async def _detail_context(
    clients: ServiceClients, me: Caller, structure_id: str, tokens: dict[str, str] | None = None
) -> dict:
    """The page's data; the service refuses ListSpaces to a non-member (NOT_A_MEMBER).
    ``tokens`` are the pending lists' page tokens (``PAGE_PARAMS``)."""
    tokens = {k: v for k, v in (tokens or {}).items() if k in PAGE_PARAMS and v}
    found, spaces, members, memberships, user = await asyncio.gather(
        clients.structures.get_structure(structure_id, me),
        clients.structures.list_spaces(structure_id, me),
        clients.structures.list_members(structure_id, me),
        clients.structures.list_my_memberships(me),
        clients.identity.get_me(me),
    )
    membership = next((m for m in memberships if m.structure.id == structure_id), None)
    role = role_code(membership.role) if membership else ""
    manager = role in MANAGER_ROLES
    requests: list[pb.AttachmentRequest] = []
    subscriptions: list[pb.Subscription] = []
    request_pages = subscription_pages = {"first": "", "next": ""}
    if manager:
        pending_requests, pending_subscriptions = await asyncio.gather(
            clients.structures.list_attachment_requests(
                pb.ListAttachmentRequestsRequest(
                    structure_id=structure_id,
                    status=pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION,
                    page_size=PENDING_PAGE_SIZE,
                    page_token=tokens.get("page_demandes", ""),
                ),
                me,
            ),
            clients.structures.list_subscriptions(
                pb.ListSubscriptionsRequest(
                    structure_id=structure_id,
                    status=pb.SUBSCRIPTION_STATUS_EN_COURS_DE_VALIDATION,
                    page_size=PENDING_PAGE_SIZE,
                    page_token=tokens.get("page_abonnements", ""),
                ),
                me,
            ),
        )
        requests = list(pending_requests.requests)
        subscriptions = list(pending_subscriptions.subscriptions)
        request_pages = _pages(
            structure_id, tokens, "page_demandes", pending_requests.next_page_token
        )
        subscription_pages = _pages(
            structure_id, tokens, "page_abonnements", pending_subscriptions.next_page_token
        )
    services = {s.id: s for s in found.services}
    address = found.address
    return {
        "structure": found,
        "identifier_type": IDENTIFIER_TYPE_LABELS.get(
            IDENTIFIER_TYPE.to_rest(found.identifier_type) or "", ""
        ),
        "address": ", ".join(
            part
            for part in (
                address.line1,
                address.line2,
                f"{address.postal_code} {address.city}".strip(),
                address.country,
            )
            if part
        ),
        "kind": {"PRIVEE": "Privée", "PUBLIQUE": "Publique"}.get(
            STRUCTURE_KIND.to_rest(found.kind) or "", ""
        ),
        "active": found.status != pb.STRUCTURE_STATUS_INACTIVE,
        "role": role,
        "role_label": ROLE_LABELS.get(role, ""),
        "manager": manager,
        "principal": role == "GESTIONNAIRE_PRINCIPAL",
        "me": user.id,
        "members": [
            {
                "user_id": m.user.user_id,
                "name": f"{m.user.first_name} {m.user.last_name}".strip(),
                "email": m.user.email,
                "role": role_code(m.role),
                "role_label": ROLE_LABELS.get(role_code(m.role), ""),
                "service_ids": list(m.service_ids),
                "services": [services[i].name for i in m.service_ids if i in services],
                "since": formats.moment(m, "since"),
            }
            for m in members
        ],
        "transfer_candidates": {
            m.user.user_id: f"{m.user.first_name} {m.user.last_name}".strip() or m.user.email
            for m in members
            if m.user.user_id != user.id
        },
        "services": list(found.services),
        "spaces": [
            {
                "code": space_code(s.space),
                "label": SPACE_LABELS.get(space_code(s.space), space_code(s.space)),
                "open": s.open,
                "mode": MODE_LABELS.get(mode_code(s.access_mode), ""),
                "pending": MODE_LABELS.get(mode_code(s.pending_mode), ""),
                "managers_only": s.managers_only,
                "always_open": s.always_open,
                "self_subscription": s.self_subscription,
            }
            for s in spaces
            if space_code(s.space)
        ],
        "requests": [
            {
                "id": r.id,
                "requester": person_name(r.requester),
                "comment": r.comment,
                "at": formats.moment(r, "requested_at"),
                "services": [services[i].name for i in r.service_ids if i in services],
            }
            for r in requests
        ],
        "subscriptions": [
            {
                "id": s.id,
                "user": person_name(s.user),
                "space": SPACE_LABELS.get(space_code(s.space), ""),
                "mode": MODE_LABELS.get(mode_code(s.mode), ""),
                "at": formats.moment(s, "requested_at"),
            }
            for s in subscriptions
        ],
        "request_pages": request_pages,
        "subscription_pages": subscription_pages,
        # The "Demandes en attente" tab's count: this page of each list ("+" when more follow).
        "pending_count": len(requests) + len(subscriptions),
        "pending_more": bool(request_pages["next"] or subscription_pages["next"]),
        "public": found.kind == pb.STRUCTURE_KIND_PUBLIQUE,
        "status": STRUCTURE_STATUS.to_rest(found.status) or "ACTIVE",
        "statuses": STATUS_LABELS,
        "routing_labels": ROUTING_LABELS,
        "current": {
            "raison_sociale": found.raison_sociale,
            "libelle": found.libelle,
            **{name: getattr(address, name) for name in ADDRESS_FIELDS},
            "email": found.email,
            "vat_number": found.vat_number,
            **{name: getattr(found.routing, name) for name in ROUTING_LABELS},
        },
        "roles": ROLE_LABELS,
        "grantable_roles": GRANTABLE_ROLES,
        "modes": MODE_LABELS,
    }


@router.get("/structures/{structure_id}", response_model=None)
async def structure_detail(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = known_id(structure_id)
    if known is None:
        return not_found(request)
    tokens = {name: request.query_params.get(name, "") for name in PAGE_PARAMS}
    try:
        context = await _detail_context(clients, me, known, tokens)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, problem_from_rpc_error(err))
    context["notice"] = NOTICES.get(request.query_params.get("avis", ""))
    return render(request, "structure.html", context)


async def run_action(
    request: Request,
    clients: Clients,
    caller: Caller,
    structure_id: str,
    form_name: str,
    call: Callable[[str, Caller, FormData], Awaitable[object]],
    *,
    notice: str,
    values: tuple[str, ...] = (),
    done_url: str | None = None,
) -> Response:
    """Runs one form of a structure's page: CSRF check, ``call(structure id, caller, form)``,
    then a redirect with the notice (or the one ``call`` answers, a key of ``NOTICES``, when
    what happened depends on the service's answer). A refusal shows the page again with the
    message, and the errors beside the form's fields (the form's ``target`` and typed
    ``values`` kept)."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = known_id(structure_id)
    if known is None:
        return not_found(request)
    form = await request.form()
    if not session.csrf_valid(request, text(form, "csrf_token")):
        problem = csrf_refused()
    else:
        try:
            answered = await call(known, me, form)
        except ProblemError as err:
            problem = err
        except grpc.aio.AioRpcError as err:
            problem = problem_from_rpc_error(err)
        else:
            url = done_url or f"/structures/{known}"
            if isinstance(answered, str) and answered in NOTICES:
                notice = answered
            return RedirectResponse(f"{url}?avis={notice}", status_code=303)
    if problem.status == 401:
        return to_login()
    if hidden(problem):
        return not_found(request)
    try:
        context = await _detail_context(clients, me, known)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, problem_from_rpc_error(err))
    context.update(
        form=form_name,
        target=text(form, "target"),
        values={name: text(form, name) for name in values},
        error=problem.detail,
        errors=form_errors(problem),
        code=problem.code,
    )
    return render(request, "structure.html", context, problem.status)
