"""Portal structure pages: "Mes structures" (memberships, creation, search and attachment
requests), one structure (details and their changes, status, members, attachment requests,
services, spaces and subscriptions; the pending lists one keyset page at a time) and its
managers' history.

The pages call StructuresService exactly as ``/api/v1/structures`` does, with the session's
token, and build their requests with the API layer's mappings: the service decides who may
see and do what. A page offers the managers' forms to the caller whose membership says they
manage the structure; any refusal (e.g. PERMISSION_DENIED ``MANAGER_REQUIRED``) is shown with
the service's French message. Each POST checks the CSRF token first; a success redirects
(303) with a notice, a refusal shows the page again with the message and, beside each field,
what to fix. A structure the caller is not a member of is the French 404 page.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from chorus_gateway.api.problems import TITLES, FieldError, ProblemError, problem_from_rpc_error
from chorus_gateway.api.schemas import structures as schemas
from chorus_gateway.api.security import AnonymousCaller, Clients
from chorus_gateway.clients import ServiceClients
from chorus_gateway.clients.caller import Caller
from chorus_gateway.web import formats, session
from chorus_gateway.web.invoice_forms import text
from chorus_gateway.web.invoices import csrf_refused, field_errors, signed_in, to_login
from chorus_gateway.web.pages import render

router = APIRouter(include_in_schema=False)

# Notices shown after a redirect (``?avis=``): fixed texts, nothing from the URL is echoed.
NOTICES = {
    "creee": "Structure créée : vous en êtes le gestionnaire principal.",
    "demande": "Demande de rattachement envoyée : un gestionnaire de la structure va l'examiner.",
    "annulee": "Demande de rattachement annulée.",
    "quittee": "Vous avez quitté la structure.",
    "membre": "Le membre a été mis à jour.",
    "detache": "Le membre a été détaché de la structure.",
    "rattache": "Utilisateur rattaché à la structure.",
    "transfert": "Rôle de gestionnaire principal transféré : vous êtes gestionnaire secondaire.",
    "acceptee": "Demande de rattachement acceptée.",
    "refusee": "Demande de rattachement refusée.",
    "service": "Service ajouté.",
    "ouvert": "Espace ouvert.",
    "ferme": "Espace fermé.",
    "abonnement": "Demande d'abonnement envoyée.",
    "abonnement-decide": "Demande d'abonnement traitée.",
    "modifiee": "Structure mise à jour.",
    "statut": "Statut de la structure mis à jour.",
    "service-modifie": "Service mis à jour.",
}

ROLE_LABELS = {
    "GESTIONNAIRE_PRINCIPAL": "Gestionnaire principal",
    "GESTIONNAIRE_SECONDAIRE": "Gestionnaire secondaire",
    "UTILISATEUR": "Utilisateur",
}
# Roles a manager may grant (the principal role is only transferred).
GRANTABLE_ROLES = {k: v for k, v in ROLE_LABELS.items() if k != "GESTIONNAIRE_PRINCIPAL"}
MANAGER_ROLES = ("GESTIONNAIRE_PRINCIPAL", "GESTIONNAIRE_SECONDAIRE")
IDENTIFIER_TYPE_LABELS = {
    "SIRET": "SIRET",
    "UE_HORS_FRANCE": "TVA intracommunautaire (UE hors France)",
    "HORS_UE": "Hors Union européenne",
    "RIDET": "RIDET (Nouvelle-Calédonie)",
    "TAHITI": "TAHITI (Polynésie française)",
    "PARTICULIER": "Particulier",
    "AUTRE": "Autre",
}
SPACE_LABELS = {
    "FACTURES_EMISES": "Factures émises",
    "FACTURES_RECUES": "Factures reçues",
    "SOLLICITATIONS_EMISES": "Sollicitations émises",
    "SOLLICITATIONS_RECUES": "Sollicitations reçues",
    "ACTIVITES_GESTIONNAIRE": "Activités du gestionnaire",
    "MON_COMPTE": "Mon compte",
    "ENGAGEMENTS": "Engagements",
    "FACTURES_TRAVAUX": "Factures de travaux",
    "FACTURES_A_VALIDER": "Factures à valider",
    "SUIVI_FLUX": "Suivi des flux",
    "MEMOIRES_FRAIS_JUSTICE": "Mémoires de frais de justice",
    "REMBOURSEMENT_TIC": "Remboursement TIC",
}
MODE_LABELS = {"CONSULTATION": "Consultation", "MODIFICATION": "Modification"}
ATTACHMENT_STATUS_LABELS = {
    "EN_COURS_DE_VALIDATION": "En cours de validation",
    "VALIDEE": "Acceptée",
    "REFUSEE": "Refusée",
    "DESACTIVEE": "Désactivée",
    "ANNULEE": "Annulée",
}
ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "country")
CREATE_FIELDS = ("identifier_type", "identifier", "raison_sociale", "libelle", *ADDRESS_FIELDS)
ROUTING_LABELS = {
    "service_code_required": "Code service obligatoire",
    "engagement_required": "Numéro d'engagement obligatoire",
    "service_or_engagement_required": "Code service ou numéro d'engagement obligatoire",
    "payment_status_not_reported": "Statut de paiement non remonté",
}
UPDATE_FIELDS = ("raison_sociale", "libelle", *ADDRESS_FIELDS, "email", "vat_number")
STATUS_LABELS = {"ACTIVE": "Active", "INACTIVE": "Inactive"}
# Pending attachment requests and subscriptions shown per page of the structure's page.
PENDING_PAGE_SIZE = 100
HISTORY_PAGE_SIZE = 50


def _known(value: str) -> str | None:
    """The canonical id, or None for anything that is not one (it names nothing)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _path_id(value: str) -> str:
    """A path's id; a malformed one names nothing (ProblemError 404, the French 404 page)."""
    known = _known(value)
    if known is None:
        raise ProblemError(404, "NOT_FOUND", "Identifiant inconnu.")
    return known


def _not_found(request: Request) -> HTMLResponse:
    return render(
        request,
        "erreur.html",
        {
            "title": "Structure introuvable",
            "message": "Cette structure n'existe pas, ou vous n'en êtes pas membre.",
        },
        status_code=404,
    )


def _hidden(problem: ProblemError) -> bool:
    """A refusal meaning "this structure is not yours to see": the 404 page, not a message."""
    return problem.status == 404 or problem.code == "NOT_A_MEMBER"


def _failure_page(request: Request, problem: ProblemError) -> Response:
    if problem.status == 401:
        return to_login()
    if _hidden(problem):
        return _not_found(request)
    title = TITLES.get(problem.status, "Erreur")
    return render(
        request, "erreur.html", {"title": title, "message": problem.detail}, problem.status
    )


def _field_errors(problem: ProblemError) -> dict[str, str]:
    """Errors by form field: the service's ``address.city`` is the form's ``city``."""
    return {k.removeprefix("address."): v for k, v in field_errors(problem).items()}


def _role(number: int) -> str:
    return schemas.ROLE.to_rest(number) or ""


def _space(number: int) -> str:
    return schemas.SPACE.to_rest(number) or ""


def _mode(number: int) -> str:
    return schemas.ACCESS_MODE.to_rest(number) or ""


def _person(person: pb.Person) -> str:
    name = f"{person.first_name} {person.last_name}".strip()
    return f"{name} ({person.email})" if person.email and name else name or person.email


# "Mes structures"


def _search_request(query: str) -> pb.SearchStructuresRequest | None:
    """Digits (spaces ignored) search identifiers by prefix, anything else names; None when
    too short to search."""
    compact = "".join(query.split())
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
                    schemas.IDENTIFIER_TYPE.to_rest(m.structure.identifier_type) or "", ""
                ),
                "role": ROLE_LABELS.get(_role(m.role), ""),
                "spaces": [SPACE_LABELS.get(_space(s.space), "") for s in m.spaces],
            }
            for m in memberships
        ],
        "requests": [
            {
                "id": r.id,
                "structure_id": r.structure_id,
                "structure_name": r.structure_name,
                "status": ATTACHMENT_STATUS_LABELS.get(
                    schemas.ATTACHMENT_STATUS.to_rest(r.status) or "", ""
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
                "city": s.address.city,
                "member": s.id in mine,
                "pending": s.id in pending,
            }
            for s in found.structures
        ]
    return context


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
        return _failure_page(request, problem_from_rpc_error(err))
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
        return _failure_page(request, problem_from_rpc_error(err))
    context.update(
        form=form_name,
        values=typed,
        error=problem.detail,
        errors=_field_errors(problem),
        code=problem.code,
        target=text(form, "structure_id"),
    )
    return render(request, "structures.html", context, problem.status)


@router.post("/structures", response_model=None)
async def create_structure(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    async def create(me: Caller, form: FormData) -> str:
        # The API's body and mapping, unvalidated: the service says what to fix, in French.
        identifier_type = text(form, "identifier_type")
        body = schemas.CreateStructureBody.model_construct(
            identifier_type=identifier_type if identifier_type in IDENTIFIER_TYPE_LABELS else None,
            identifier=text(form, "identifier"),
            raison_sociale=text(form, "raison_sociale"),
            libelle=text(form, "libelle"),
            kind=None,
            address=schemas.AddressBody.model_construct(
                **{name: text(form, name) for name in ADDRESS_FIELDS}
            ),
            email=None,
            vat_number=None,
        )
        created = await clients.structures.create_structure(schemas.create_request(body), me)
        return f"/structures/{created.id}?avis=creee"

    return await _list_action(request, clients, caller, "create", create, values=CREATE_FIELDS)


@router.post("/structures/{structure_id}/rattachement", response_model=None)
async def request_attachment(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    known = _known(structure_id)
    if known is None:
        return _not_found(request)

    async def ask(me: Caller, form: FormData) -> str:
        await clients.structures.request_attachment(
            pb.RequestAttachmentRequest(structure_id=known, comment=text(form, "comment")), me
        )
        return "/structures?avis=demande"

    return await _list_action(request, clients, caller, "attach", ask, values=("comment",))


@router.post("/structures/demandes/{request_id}/annulation", response_model=None)
async def cancel_attachment_request(
    request: Request, request_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    known = _known(request_id)
    if known is None:
        return _not_found(request)

    async def cancel(me: Caller, form: FormData) -> str:
        await clients.structures.cancel_attachment_request(known, me)
        return "/structures?avis=annulee"

    return await _list_action(request, clients, caller, "cancel", cancel)


# One structure


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
    role = _role(membership.role) if membership else ""
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
            schemas.IDENTIFIER_TYPE.to_rest(found.identifier_type) or "", ""
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
            schemas.STRUCTURE_KIND.to_rest(found.kind) or "", ""
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
                "role": _role(m.role),
                "role_label": ROLE_LABELS.get(_role(m.role), ""),
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
                "code": _space(s.space),
                "label": SPACE_LABELS.get(_space(s.space), _space(s.space)),
                "open": s.open,
                "mode": MODE_LABELS.get(_mode(s.access_mode), ""),
                "pending": MODE_LABELS.get(_mode(s.pending_mode), ""),
                "managers_only": s.managers_only,
                "always_open": s.always_open,
                "self_subscription": s.self_subscription,
            }
            for s in spaces
            if _space(s.space)
        ],
        "requests": [
            {
                "id": r.id,
                "requester": _person(r.requester),
                "comment": r.comment,
                "at": formats.moment(r, "requested_at"),
                "services": [services[i].name for i in r.service_ids if i in services],
            }
            for r in requests
        ],
        "subscriptions": [
            {
                "id": s.id,
                "user": _person(s.user),
                "space": SPACE_LABELS.get(_space(s.space), ""),
                "mode": MODE_LABELS.get(_mode(s.mode), ""),
                "at": formats.moment(s, "requested_at"),
            }
            for s in subscriptions
        ],
        "request_pages": request_pages,
        "subscription_pages": subscription_pages,
        "public": found.kind == pb.STRUCTURE_KIND_PUBLIQUE,
        "status": schemas.STRUCTURE_STATUS.to_rest(found.status) or "ACTIVE",
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
    known = _known(structure_id)
    if known is None:
        return _not_found(request)
    tokens = {name: request.query_params.get(name, "") for name in PAGE_PARAMS}
    try:
        context = await _detail_context(clients, me, known, tokens)
    except grpc.aio.AioRpcError as err:
        return _failure_page(request, problem_from_rpc_error(err))
    context["notice"] = NOTICES.get(request.query_params.get("avis", ""))
    return render(request, "structure.html", context)


async def _action(
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
    then a redirect with the notice. A refusal shows the page again with the message, and
    the errors beside the form's fields (the form's ``target`` and typed ``values`` kept)."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = _known(structure_id)
    if known is None:
        return _not_found(request)
    form = await request.form()
    if not session.csrf_valid(request, text(form, "csrf_token")):
        problem = csrf_refused()
    else:
        try:
            await call(known, me, form)
        except ProblemError as err:
            problem = err
        except grpc.aio.AioRpcError as err:
            problem = problem_from_rpc_error(err)
        else:
            url = done_url or f"/structures/{known}"
            return RedirectResponse(f"{url}?avis={notice}", status_code=303)
    if problem.status == 401:
        return to_login()
    if _hidden(problem):
        return _not_found(request)
    try:
        context = await _detail_context(clients, me, known)
    except grpc.aio.AioRpcError as err:
        return _failure_page(request, problem_from_rpc_error(err))
    context.update(
        form=form_name,
        target=text(form, "target"),
        values={name: text(form, name) for name in values},
        error=problem.detail,
        errors=_field_errors(problem),
        code=problem.code,
    )
    return render(request, "structure.html", context, problem.status)


def _form_role(form: FormData) -> int:
    role = text(form, "role")
    return schemas.ROLE.to_proto(role if role in ROLE_LABELS else None)


def _form_mode(form: FormData) -> int:
    mode = text(form, "mode")
    return schemas.ACCESS_MODE.to_proto(mode if mode in MODE_LABELS else None)


def _space_number(code: str) -> int:
    return schemas.SPACE.to_proto(code if code in SPACE_LABELS else None)


def _ids(form: FormData, name: str) -> list[str]:
    return [str(v) for v in form.getlist(name) if isinstance(v, str) and v]


# Leaving, and a member's own space subscriptions


@router.post("/structures/{structure_id}/depart", response_model=None)
async def leave(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def leave_it(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.leave_structure(known, me)

    return await _action(
        request, clients, caller, structure_id, "leave", leave_it,
        notice="quittee", done_url="/structures",
    )  # fmt: skip


@router.post("/structures/{structure_id}/espaces/{code}/abonnement", response_model=None)
async def request_subscription(
    request: Request, structure_id: str, code: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def subscribe(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.request_subscription(
            pb.RequestSubscriptionRequest(
                structure_id=known, space=_space_number(code), mode=_form_mode(form)
            ),
            me,
        )

    return await _action(
        request, clients, caller, structure_id, "subscribe", subscribe,
        notice="abonnement", values=("mode",),
    )  # fmt: skip


# Managers: members


@router.post("/structures/{structure_id}/membres", response_model=None)
async def attach_member(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def attach(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.attach_member_by_email(
            pb.AttachMemberByEmailRequest(
                structure_id=known,
                login_email=text(form, "login_email"),
                role=_form_role(form),
                service_ids=_ids(form, "service_ids"),
            ),
            me,
        )

    return await _action(
        request, clients, caller, structure_id, "attach_member", attach,
        notice="rattache", values=("login_email", "role"),
    )  # fmt: skip


@router.post("/structures/{structure_id}/membres/{user_id}", response_model=None)
async def update_member(
    request: Request, structure_id: str, user_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def update(known: str, me: Caller, form: FormData) -> None:
        body = schemas.UpdateMemberBody.model_construct(
            role=text(form, "role") if text(form, "role") in ROLE_LABELS else None,
            service_ids=_ids(form, "service_ids"),
        )
        request_pb = schemas.update_member_request(known, _path_id(user_id), body)
        await clients.structures.update_member(request_pb, me)

    return await _action(
        request, clients, caller, structure_id, "member", update, notice="membre",
        values=("role",),
    )  # fmt: skip


@router.post("/structures/{structure_id}/membres/{user_id}/detachement", response_model=None)
async def detach_member(
    request: Request, structure_id: str, user_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def detach(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.detach_member(known, _path_id(user_id), me)

    return await _action(request, clients, caller, structure_id, "detach", detach, notice="detache")


@router.post("/structures/{structure_id}/gestionnaire-principal", response_model=None)
async def transfer_principal(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def transfer(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.transfer_principal_role(known, text(form, "user_id"), me)

    return await _action(
        request, clients, caller, structure_id, "transfer", transfer,
        notice="transfert", values=("user_id",),
    )  # fmt: skip


# Managers: the structure's details, routing parameters and status


@router.post("/structures/{structure_id}/modification", response_model=None)
async def update_structure(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def update(known: str, me: Caller, form: FormData) -> None:
        # The API's body and mapping, unvalidated: the service says what to fix, in French
        # (and refuses routing parameters to a private structure).
        fields: dict[str, Any] = {
            name: text(form, name) for name in ("raison_sociale", "libelle", "email", "vat_number")
        }
        if text(form, "routing") == "1":  # a public structure's form carries its parameters
            fields.update({name: text(form, name) == "on" for name in ROUTING_LABELS})
        body = schemas.UpdateStructureBody.model_construct(
            address=schemas.AddressBody.model_construct(
                **{name: text(form, name) for name in ADDRESS_FIELDS}
            ),
            **fields,
        )
        await clients.structures.update_structure(schemas.update_request(known, body), me)

    return await _action(
        request, clients, caller, structure_id, "update", update, notice="modifiee",
        values=(*UPDATE_FIELDS, "routing", *ROUTING_LABELS),
    )  # fmt: skip


@router.post("/structures/{structure_id}/statut", response_model=None)
async def change_status(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def change(known: str, me: Caller, form: FormData) -> None:
        status = text(form, "status")
        if status not in STATUS_LABELS:
            raise ProblemError(
                422, "STATUS_INVALID", "Choisissez le statut de la structure : active ou inactive."
            )
        if text(form, "confirmation") != "on":
            raise ProblemError(
                422,
                "CONFIRMATION_REQUIRED",
                "Confirmez le changement de statut de la structure.",
                [FieldError(field="confirmation", message="Cochez cette case pour confirmer.")],
            )
        body = schemas.UpdateStructureBody.model_construct(status=status)
        await clients.structures.update_structure(schemas.update_request(known, body), me)

    return await _action(
        request, clients, caller, structure_id, "status", change, notice="statut",
        values=("status",),
    )  # fmt: skip


# Managers: attachment requests, services, spaces, subscriptions


@router.post("/structures/{structure_id}/demandes/{request_id}/decision", response_model=None)
async def decide_attachment(
    request: Request,
    structure_id: str,
    request_id: str,
    clients: Clients,
    caller: AnonymousCaller,
) -> Response:
    form = await request.form()
    accepted = text(form, "decision") == "VALIDEE"

    async def decide(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.decide_attachment_request(
            pb.DecideAttachmentRequestRequest(
                request_id=_path_id(request_id),
                decision=pb.DECISION_VALIDEE if accepted else pb.DECISION_REFUSEE,
                role=_form_role(form) if accepted else 0,
                comment=text(form, "comment"),
            ),
            me,
        )

    return await _action(
        request, clients, caller, structure_id, "decide", decide,
        notice="acceptee" if accepted else "refusee", values=("role", "comment"),
    )  # fmt: skip


@router.post("/structures/{structure_id}/services", response_model=None)
async def create_service(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def create(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.create_service(
            pb.CreateServiceRequest(
                structure_id=known,
                code=text(form, "code"),
                name=text(form, "name"),
                engagement_required=text(form, "engagement_required") == "on",
            ),
            me,
        )

    return await _action(
        request, clients, caller, structure_id, "service", create, notice="service",
        values=("code", "name", "engagement_required"),
    )  # fmt: skip


@router.post("/structures/{structure_id}/services/{service_id}", response_model=None)
async def update_service(
    request: Request, structure_id: str, service_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def update(known: str, me: Caller, form: FormData) -> None:
        # The row's form shows every field: each is sent, as a full PATCH would.
        await clients.structures.update_service(
            pb.UpdateServiceRequest(
                structure_id=known,
                service_id=_path_id(service_id),
                name=text(form, "name"),
                active=text(form, "active") == "on",
                engagement_required=text(form, "engagement_required") == "on",
            ),
            me,
        )

    return await _action(
        request, clients, caller, structure_id, "service_update", update,
        notice="service-modifie", values=("name", "active", "engagement_required"),
    )  # fmt: skip


@router.post("/structures/{structure_id}/espaces/{code}/ouverture", response_model=None)
async def open_space(
    request: Request, structure_id: str, code: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def open_it(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.open_space(known, _space_number(code), me)

    return await _action(request, clients, caller, structure_id, "space", open_it, notice="ouvert")


@router.post("/structures/{structure_id}/espaces/{code}/fermeture", response_model=None)
async def close_space(
    request: Request, structure_id: str, code: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def close_it(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.close_space(known, _space_number(code), me)

    return await _action(request, clients, caller, structure_id, "space", close_it, notice="ferme")


@router.post(
    "/structures/{structure_id}/abonnements/{subscription_id}/decision", response_model=None
)
async def decide_subscription(
    request: Request,
    structure_id: str,
    subscription_id: str,
    clients: Clients,
    caller: AnonymousCaller,
) -> Response:
    async def decide(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.decide_subscription(
            pb.DecideSubscriptionRequest(
                subscription_id=_path_id(subscription_id),
                decision=pb.DECISION_VALIDEE
                if text(form, "decision") == "VALIDEE"
                else pb.DECISION_REFUSEE,
                comment=text(form, "comment"),
            ),
            me,
        )

    return await _action(
        request, clients, caller, structure_id, "subscription", decide,
        notice="abonnement-decide", values=("comment",),
    )  # fmt: skip


# Managers: the history of their actions

# What changed in a STRUCTURE_UPDATED action, by the service's detail key.
CHANGE_LABELS = {
    "raison_sociale": "raison sociale",
    "libelle": "libellé",
    "address": "adresse",
    "email": "e-mail",
    "vat_number": "n° de TVA",
    "status": "statut",
    **{name: label.lower() for name, label in ROUTING_LABELS.items()},
}
FLAG_WORDS = {"true": "oui", "false": "non"}


def _role_word(code: str) -> str:
    return ROLE_LABELS.get(code, code).lower()


def _space_words(details: dict[str, str]) -> str:
    space = f"l'espace « {SPACE_LABELS.get(details.get('space', ''), details.get('space', ''))} »"
    mode = MODE_LABELS.get(details.get("mode", ""))
    return f"{space} en {mode.lower()}" if mode else space


def _change_words(name: str, value: str) -> str:
    if name == "status":
        value = STATUS_LABELS.get(value, value).lower()
    elif name in ROUTING_LABELS:
        value = FLAG_WORDS.get(value, value)
    return f"{CHANGE_LABELS.get(name, name)} : {value or '(vide)'}"


def _action_words(kind: str, details: dict[str, str]) -> str:
    """A manager action in French, from its kind and the service's details."""
    code = details.get("service_code", "")
    if kind == "STRUCTURE_CREATED":
        return "Structure créée"
    if kind == "STRUCTURE_UPDATED":
        changes = [_change_words(k, details[k]) for k in CHANGE_LABELS if k in details]
        return "Structure modifiée" + (f" ({' ; '.join(changes)})" if changes else "")
    if kind == "SERVICE_CREATED":
        return f"Service {code} ajouté ({details.get('service_name', '')})"
    if kind == "SERVICE_UPDATED":
        words = {"name": "nom", "active": "actif", "engagement_required": "n° d'engagement exigé"}
        changes = [
            f"{label} : {FLAG_WORDS.get(details[k], details[k])}"
            for k, label in words.items()
            if k in details
        ]
        return f"Service {code} modifié" + (f" ({' ; '.join(changes)})" if changes else "")
    if kind == "ATTACHMENT_ACCEPTED":
        return f"Demande de rattachement acceptée (rôle : {_role_word(details.get('role', ''))})"
    if kind == "ATTACHMENT_REFUSED":
        return "Demande de rattachement refusée"
    if kind == "MEMBER_ATTACHED":
        return (
            f"Utilisateur {details.get('login_email', '')} rattaché"
            f" (rôle : {_role_word(details.get('role', ''))})"
        )
    if kind == "ROLE_CHANGED":
        return (
            f"Rôle changé : {_role_word(details.get('previous_role', ''))}"
            f" → {_role_word(details.get('role', ''))}"
        )
    if kind == "MEMBER_SERVICES_CHANGED":
        services = details.get("services", "")
        return "Services du membre : " + (
            "toute la structure" if services in ("", "*") else services
        )
    if kind == "MEMBER_DETACHED":
        return "Membre détaché de la structure"
    if kind == "MEMBER_LEFT":
        return "Membre parti de la structure"
    if kind == "PRINCIPAL_TRANSFERRED":
        return "Rôle de gestionnaire principal transféré"
    if kind == "SPACE_OPENED":
        return f"Ouverture de {_space_words(details)}"
    if kind == "SPACE_CLOSED":
        return f"Fermeture de {_space_words(details)}"
    if kind == "SUBSCRIPTION_ACCEPTED":
        return f"Abonnement à {_space_words(details)} accepté"
    if kind == "SUBSCRIPTION_REFUSED":
        return f"Abonnement à {_space_words(details)} refusé"
    return "Action de gestion"


@router.get("/structures/{structure_id}/historique", response_model=None)
async def history(
    request: Request,
    structure_id: str,
    clients: Clients,
    caller: AnonymousCaller,
    page_token: str = "",
) -> Response:
    """The managers' actions, newest first, one page at a time (the service refuses a simple
    member: MANAGER_REQUIRED, shown in French)."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = _known(structure_id)
    if known is None:
        return _not_found(request)
    try:
        found, page, members = await asyncio.gather(
            clients.structures.get_structure(known, me),
            clients.structures.list_manager_actions(
                pb.ListManagerActionsRequest(
                    structure_id=known, page_size=HISTORY_PAGE_SIZE, page_token=page_token
                ),
                me,
            ),
            clients.structures.list_members(known, me),
        )
    except grpc.aio.AioRpcError as err:
        return _failure_page(request, problem_from_rpc_error(err))
    names = {m.user.user_id: _person(m.user) for m in members}

    def who(user_id: str, nobody: str) -> str:
        return names.get(user_id, "Ancien membre") if user_id else nobody

    base = f"/structures/{known}/historique"
    return render(
        request,
        "structure_historique.html",
        {
            "structure": found,
            "actions": [
                {
                    "at": formats.moment(a, "at"),
                    "actor": who(a.actor_user_id, "Chorus"),
                    "target": who(a.target_user_id, "—"),
                    "what": _action_words(schemas.ACTION_KIND.to_rest(a.kind) or "", a.details),
                    "comment": a.details.get("comment", ""),
                }
                for a in page.actions
            ],
            "first_page": not page_token,
            "first_url": base,
            "next_url": f"{base}?{urlencode({'page_token': page.next_page_token})}"
            if page.next_page_token
            else "",
        },
    )
