"""Portal "Mes structures": the caller's memberships and attachment requests (cancelling a
pending one), "Rejoindre une structure" (search by identifier prefix or name, then ask to be
attached) and "Créer une structure".

The pages call StructuresService exactly as ``/api/v1/structures`` does, with the session's
token, creating a structure with the API's body and mapping
(:mod:`chorus_edge.structures`). Each POST checks the CSRF token first; a success
redirects (303) with a notice, a refusal shows the list again with the message and, beside
each field, what to fix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.problems import ProblemError, problem_from_rpc_error
from chorus_edge.structures import (
    ATTACHMENT_STATUS,
    IDENTIFIER_TYPE,
    AddressBody,
    CreateStructureBody,
    create_request,
)
from chorus_portal.web import session
from chorus_portal.web.forms import text
from chorus_portal.web.pages import render
from chorus_portal.web.paths import known_id
from chorus_portal.web.refusals import csrf_refused
from chorus_portal.web.session import signed_in, to_login
from chorus_portal.web.structures.display import NOTICES, failure_page, form_errors, not_found
from chorus_portal.web.structures.labels import (
    ADDRESS_FIELDS,
    ATTACHMENT_STATUS_LABELS,
    IDENTIFIER_TYPE_LABELS,
    ROLE_LABELS,
    SPACE_LABELS,
    role_code,
    space_code,
)

router = APIRouter(include_in_schema=False)

CREATE_FIELDS = ("identifier_type", "identifier", "raison_sociale", "libelle", *ADDRESS_FIELDS)


SIRET_LENGTH = 14


def _search_request(query: str) -> pb.SearchStructuresRequest | None:
    """A whole SIRET (14 digits, spaces ignored) is an exact look-up, the one search that
    finds a private structure (a company to join); fewer digits search identifiers by prefix,
    anything else names; None when too short to search."""
    compact = "".join(query.split())
    if compact.isdigit() and len(compact) == SIRET_LENGTH:
        return pb.SearchStructuresRequest(
            identifier_type=pb.IDENTIFIER_TYPE_SIRET, identifier=compact, page_size=20
        )
    if compact.isdigit() and len(compact) >= 3:
        return pb.SearchStructuresRequest(identifier_prefix=compact, page_size=20)
    if len(query.strip()) >= 2:
        return pb.SearchStructuresRequest(name=query.strip(), page_size=20)
    return None


async def _list_context(clients: ServiceClients, me: Caller, query: str = "") -> dict[str, Any]:
    memberships, requests = await asyncio.gather(
        clients.structures.list_my_memberships(me),
        clients.structures.list_my_attachment_requests(me),
    )
    mine = {m.structure.id for m in memberships}
    pending = {
        r.structure_id
        for r in requests
        if r.status == pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION
    }
    context: dict[str, Any] = {
        "memberships": [
            {
                "id": m.structure.id,
                "name": m.structure.raison_sociale,
                "identifier": m.structure.identifier,
                "identifier_type": IDENTIFIER_TYPE_LABELS.get(
                    IDENTIFIER_TYPE.to_rest(m.structure.identifier_type) or "", ""
                ),
                "role": ROLE_LABELS.get(role_code(m.role), ""),
                "spaces": [SPACE_LABELS.get(space_code(s.space), "") for s in m.spaces],
            }
            for m in memberships
        ],
        "requests": [
            {
                "id": r.id,
                "structure_id": r.structure_id,
                "structure_name": r.structure_name,
                "status": ATTACHMENT_STATUS_LABELS.get(
                    ATTACHMENT_STATUS.to_rest(r.status) or "", ""
                ),
                "pending": r.status == pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION,
                "comment": r.comment,
                "decision_comment": r.decision_comment,
            }
            for r in requests
        ],
        "identifier_types": IDENTIFIER_TYPE_LABELS,
        "query": query,
        "results": None,
    }
    search = _search_request(query) if query else None
    if query and search is None:
        context["search_error"] = (
            "Saisissez au moins 3 chiffres du SIRET ou 2 lettres du nom de la structure."
        )
    if search is not None:
        found = await clients.structures.search_structures(search, me)
        context["results"] = [
            {
                "id": s.id,
                "name": s.raison_sociale,
                "identifier": s.identifier,
                "identifier_type": IDENTIFIER_TYPE_LABELS.get(
                    IDENTIFIER_TYPE.to_rest(s.identifier_type) or "", "—"
                ),
                "siret": s.identifier_type == pb.IDENTIFIER_TYPE_SIRET,
                "managed": s.has_principal_manager,
                "city": s.address.city,
                "member": s.id in mine,
                "pending": s.id in pending,
            }
            for s in _genuine_first(found.structures)
        ]
    return context


def _genuine_first(found: Sequence[pb.Structure]) -> list[pb.Structure]:
    """The page in the service's order, except that structures sharing an identifier are
    shown together, the SIRET-typed one (then a managed one) first: a look-alike registered
    with a company's digits under another type never comes before the company itself."""
    first_seen: dict[str, int] = {}
    for index, structure in enumerate(found):
        first_seen.setdefault(structure.identifier, index)
    return sorted(
        found,
        key=lambda s: (
            first_seen[s.identifier],
            s.identifier_type != pb.IDENTIFIER_TYPE_SIRET,
            not s.has_principal_manager,
        ),
    )


@router.get("/structures", response_model=None)
async def structure_list(
    request: Request, clients: Clients, caller: AnonymousCaller, recherche: str = ""
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    try:
        context = await _list_context(clients, me, recherche.strip())
    except grpc.aio.AioRpcError as err:
        return failure_page(request, problem_from_rpc_error(err))
    context["notice"] = NOTICES.get(request.query_params.get("avis", ""))
    return render(request, "structures.html", context)


async def _list_action(
    request: Request,
    clients: Clients,
    caller: Caller,
    form_name: str,
    call: Callable[[Caller, FormData], Awaitable[str]],
    *,
    values: tuple[str, ...] = (),
) -> Response:
    """Runs one form of "Mes structures": CSRF check, ``call(caller, form)`` answering the
    URL to go to; a refusal shows the list again with the message beside the fields."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    form = await request.form()
    typed = {name: text(form, name) for name in values}
    if not session.csrf_valid(request, text(form, "csrf_token")):
        problem = csrf_refused()
    else:
        try:
            return RedirectResponse(await call(me, form), status_code=303)
        except ProblemError as err:
            problem = err
        except grpc.aio.AioRpcError as err:
            problem = problem_from_rpc_error(err)
    if problem.status == 401:
        return to_login()
    try:
        context = await _list_context(clients, me, text(form, "recherche"))
    except grpc.aio.AioRpcError as err:
        return failure_page(request, problem_from_rpc_error(err))
    context.update(
        form=form_name,
        values=typed,
        error=problem.detail,
        errors=form_errors(problem),
        code=problem.code,
        target=text(form, "structure_id"),
    )
    return render(request, "structures.html", context, problem.status)


@router.post("/structures", response_model=None)
async def create_structure(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    async def create(me: Caller, form: FormData) -> str:
        # The API's body and mapping, unvalidated: the service says what to fix, in French.
        identifier_type = text(form, "identifier_type")
        body = CreateStructureBody.model_construct(
            identifier_type=identifier_type if identifier_type in IDENTIFIER_TYPE_LABELS else None,
            identifier=text(form, "identifier"),
            raison_sociale=text(form, "raison_sociale"),
            libelle=text(form, "libelle"),
            kind=None,
            address=AddressBody.model_construct(
                **{name: text(form, name) for name in ADDRESS_FIELDS}
            ),
            email=None,
            vat_number=None,
        )
        created = await clients.structures.create_structure(create_request(body), me)
        return f"/structures/{created.id}?avis=creee"

    return await _list_action(request, clients, caller, "create", create, values=CREATE_FIELDS)


@router.post("/structures/{structure_id}/rattachement", response_model=None)
async def request_attachment(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    known = known_id(structure_id)
    if known is None:
        return not_found(request)

    async def ask(me: Caller, form: FormData) -> str:
        asked = await clients.structures.request_attachment(
            pb.RequestAttachmentRequest(structure_id=known, comment=text(form, "comment")), me
        )
        if asked.status != pb.ATTACHMENT_REQUEST_STATUS_VALIDEE:
            return "/structures?avis=demande"
        # Accepted at once (a structure nobody managed yet): the requester is a member now.
        principal = asked.granted_role == pb.ROLE_GESTIONNAIRE_PRINCIPAL
        return (
            f"/structures/{known}?avis={'rattache-principal' if principal else 'rattache-direct'}"
        )

    return await _list_action(request, clients, caller, "attach", ask, values=("comment",))


@router.post("/structures/demandes/{request_id}/annulation", response_model=None)
async def cancel_attachment_request(
    request: Request, request_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    known = known_id(request_id)
    if known is None:
        return not_found(request)

    async def cancel(me: Caller, form: FormData) -> str:
        await clients.structures.cancel_attachment_request(known, me)
        return "/structures?avis=annulee"

    return await _list_action(request, clients, caller, "cancel", cancel)
