"""What the invoice pages show besides the invoice: the notice after an action, the statuses'
and parties' names, the French 404 page and the page answering a failed read."""

from __future__ import annotations

import asyncio

import grpc
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.invoices import INVOICE_STATUS
from chorus_edge.problems import TITLES, problem_from_rpc_error
from chorus_edge.structures import IDENTIFIER_TYPE
from chorus_portal.web.pages import render
from chorus_portal.web.session import to_login
from chorus_portal.web.structures.labels import IDENTIFIER_TYPE_LABELS

# Notices shown after a redirect (``?avis=``): fixed texts, nothing from the URL is echoed.
NOTICES = {
    "deposee": "Facture déposée. Elle est contrôlée puis mise à disposition du destinataire.",
    "brouillon": "Brouillon enregistré. Déposez-le quand il est prêt.",
    "soumise": "Brouillon déposé : la facture suit maintenant son circuit.",
    "statut": "Le statut de la facture a été mis à jour.",
    "completee": "Facture complétée : le destinataire reprend son traitement.",
    "recyclee": "Facture redéposée avec les nouvelles informations d'acheminement.",
    "rejet": "Vous avez pris connaissance du rejet.",
    "supprimee": "Brouillon supprimé.",
}


def not_found(request: Request) -> HTMLResponse:
    return render(
        request,
        "erreur.html",
        {
            "title": "Facture introuvable",
            "message": "Cette facture n'existe pas, ou vous n'avez pas accès à ses données.",
        },
        status_code=404,
    )


def failure_page(request: Request, err: grpc.aio.AioRpcError) -> Response:
    """The page answering a failed read: login when the session expired, the 404 page, or
    the service's message."""
    problem = problem_from_rpc_error(err)
    if problem.status == 401:
        return to_login()
    if problem.status == 404:
        return not_found(request)
    title = TITLES.get(problem.status, "Erreur")
    return render(
        request, "erreur.html", {"title": title, "message": problem.detail}, problem.status
    )


async def structures_of(
    clients: ServiceClients, caller: Caller, ids: set[str]
) -> dict[str, structures_pb.Structure]:
    """Each structure of ``ids`` (the directory is readable by any user); a structure that
    cannot be read is left out."""
    wanted = sorted(i for i in ids if i)
    found = await asyncio.gather(
        *(clients.structures.get_structure(i, caller) for i in wanted), return_exceptions=True
    )
    return {i: s for i, s in zip(wanted, found, strict=True) if not isinstance(s, BaseException)}


async def structure_names(clients: ServiceClients, caller: Caller, ids: set[str]) -> dict[str, str]:
    """Raison sociale of each structure id; a structure that cannot be read is left out."""
    found = await structures_of(clients, caller, ids)
    return {i: s.raison_sociale for i, s in found.items()}


def structure_identifier(structure: structures_pb.Structure | None) -> dict[str, str]:
    """The identifier type (French label) and identifier of a structure, "" when unknown."""
    if structure is None:
        return {"type": "", "identifier": ""}
    kind = IDENTIFIER_TYPE.to_rest(structure.identifier_type) or ""
    return {"type": IDENTIFIER_TYPE_LABELS.get(kind, kind), "identifier": structure.identifier}


SYSTEM_ACTOR = "system"


async def actor_names(clients: ServiceClients, caller: Caller, ids: set[str]) -> dict[str, str]:
    """ "Prénom Nom" of each user id among ``ids`` (identity's public profile), "Système" for
    routing; an account identity does not answer for (gone, or identity unavailable) is left
    out: the page then says "Utilisateur inconnu"."""
    names = {SYSTEM_ACTOR: "Système"} if SYSTEM_ACTOR in ids else {}
    wanted = sorted(i for i in ids if i and i != SYSTEM_ACTOR)[:100]
    if not wanted:
        return names
    try:
        users = await clients.identity.batch_get_users(wanted, caller)
    except grpc.aio.AioRpcError:
        return names
    for user in users:
        shown = f"{user.first_name} {user.last_name}".strip()
        if shown:
            names[user.id] = shown
    return names


def status_name(number: int) -> str:
    return INVOICE_STATUS.to_rest(number) or ""
