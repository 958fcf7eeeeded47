"""What the structure pages show besides the structure: the notice after an action, the French
404 page for a structure that is not the caller's, the page answering a failed read, and the
service's field errors under the forms' names.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from chorus_edge.problems import TITLES, ProblemError
from chorus_portal.web.pages import render
from chorus_portal.web.refusals import field_errors
from chorus_portal.web.session import to_login

# Notices shown after a redirect (``?avis=``): fixed texts, nothing from the URL is echoed.
NOTICES = {
    "creee": "Structure créée : vous en êtes le gestionnaire principal.",
    "demande": "Demande de rattachement envoyée : un gestionnaire de la structure va l'examiner.",
    "rattache-direct": "Demande de rattachement acceptée : vous êtes rattaché à la structure.",
    "rattache-principal": (
        "Demande de rattachement acceptée : vous êtes rattaché à la structure et, comme elle "
        "n'avait pas de gestionnaire, vous en êtes le gestionnaire principal."
    ),
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
    "abonnement": "Demande d'abonnement envoyée : un gestionnaire de la structure va l'examiner.",
    "abonnement-accepte": "Abonnement accepté : vous avez accès à l'espace.",
    "abonnement-decide": "Demande d'abonnement traitée.",
    "modifiee": "Structure mise à jour.",
    "statut": "Statut de la structure mis à jour.",
    "service-modifie": "Service mis à jour.",
}


def not_found(request: Request) -> HTMLResponse:
    return render(
        request,
        "erreur.html",
        {
            "title": "Structure introuvable",
            "message": "Cette structure n'existe pas, ou vous n'en êtes pas membre.",
        },
        status_code=404,
    )


def hidden(problem: ProblemError) -> bool:
    """A refusal meaning "this structure is not yours to see": the 404 page, not a message."""
    return problem.status == 404 or problem.code == "NOT_A_MEMBER"


def failure_page(request: Request, problem: ProblemError) -> Response:
    if problem.status == 401:
        return to_login()
    if hidden(problem):
        return not_found(request)
    title = TITLES.get(problem.status, "Erreur")
    return render(
        request, "erreur.html", {"title": title, "message": problem.detail}, problem.status
    )


def form_errors(problem: ProblemError) -> dict[str, str]:
    """Errors by form field: the service's ``address.city`` is the form's ``city``."""
    return {k.removeprefix("address."): v for k, v in field_errors(problem).items()}
