"""Portal ``/structures/{id}/historique``: the managers' actions, newest first, 50 a page, in
French ("Rôle changé : utilisateur → gestionnaire secondaire"), with who acted and on whom.
The service refuses a simple member (MANAGER_REQUIRED, shown in French).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.problems import problem_from_rpc_error
from chorus_edge.structures import ACTION_KIND
from chorus_portal.web import formats
from chorus_portal.web.pages import render
from chorus_portal.web.paths import known_id
from chorus_portal.web.session import signed_in, to_login
from chorus_portal.web.structures.display import failure_page, not_found
from chorus_portal.web.structures.labels import (
    MODE_LABELS,
    ROLE_LABELS,
    ROUTING_LABELS,
    SPACE_LABELS,
    STATUS_LABELS,
    person_name,
)

router = APIRouter(include_in_schema=False)

HISTORY_PAGE_SIZE = 50

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
    known = known_id(structure_id)
    if known is None:
        return not_found(request)
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
        return failure_page(request, problem_from_rpc_error(err))
    names = {m.user.user_id: person_name(m.user) for m in members}

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
                    "what": _action_words(ACTION_KIND.to_rest(a.kind) or "", a.details),
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
