"""Portal: what the detail page offers to process an invoice, from what the invoices service
says, never from a lifecycle of its own.

The service's table (ListStatusTransitions out of the invoice's status) says which moves are
the next sensible ones (``suggested``), which need a reason (``reason_required``) and which
end the lifecycle (``terminal``); GetInvoice's ``allowed_actions`` says which of them this
reader may make now. The page shows a button for each suggested move the reader may make, and
one form with a reason (a code of the reform's list and a comment) for the moves sending the
invoice back; a move to a terminal status goes through a confirmation page first. Whatever
is posted, the service still decides (a skipped step is refused there, with its message).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb

from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.invoices import INVOICE_STATUS
from chorus_portal.web import formats

# What each button says (the verb of the move), by target status.
BUTTON_LABELS = {
    "PRISE_EN_COMPTE_DESTINATAIRE": "Prendre en compte",
    "SERVICE_FAIT": "Constater le service fait",
    "MANDATEE": "Mandater",
    "MISE_A_DISPOSITION_COMPTABLE": "Mettre à disposition du comptable",
    "COMPTABILISEE": "Comptabiliser",
    "MISE_EN_PAIEMENT": "Mettre en paiement",
    "SUSPENDUE": "Suspendre",
    "A_RECYCLER": "Renvoyer à recycler",
    "REJETEE": "Rejeter",
}

# Reason codes of the reform's lifecycle (with 208 Suspendue / 210 Refusée), as DESIGN.md §4
# names them (Chorus Pro's EJ_ERR is CMD_ERR, MARCHE_TERM is CONTRAT_TERM).
REASON_CODES = {
    "DOUBLON": "Facture en doublon",
    "DEST_INC": "Destinataire inconnu",
    "DEST_ERR": "Erreur de destinataire",
    "CODE_ROUTAGE_ERR": "Code service erroné",
    "CMD_ERR": "N° d'engagement (bon de commande) erroné ou absent",
    "CONTRAT_TERM": "Contrat ou marché terminé",
    "MONTANTTOTAL_ERR": "Montant total erroné",
    "CALCUL_ERR": "Erreur de calcul",
    "TX_TVA_ERR": "Taux de TVA erroné",
    "COORD_BANC_ERR": "Coordonnées bancaires erronées",
    "JUSTIF_ABS": "Pièce justificative manquante",
    "LIVR_INCOMP": "Livraison incomplète",
    "NON_CONFORME": "Facture non conforme",
    "AUTRE": "Autre motif",
}

CONFIRMED = "oui"


@dataclass(frozen=True)
class Move:
    target: str
    """The status name, e.g. ``SERVICE_FAIT``."""
    label: str
    """What the button says."""
    status_label: str
    terminal: bool
    reason_required: bool


@dataclass(frozen=True)
class Offer:
    """What the page offers: the next steps (buttons) and the ways back (one form)."""

    next: tuple[Move, ...] = ()
    send_back: tuple[Move, ...] = ()
    unavailable: bool = False
    """The table could not be read: the page says so instead of guessing."""
    live: bool = True
    """Some move leaves the current status: the page follows it (live refresh)."""


def _move(transition: pb.StatusTransition) -> Move:
    target = INVOICE_STATUS.to_rest(transition.target) or ""
    return Move(
        target=target,
        label=BUTTON_LABELS.get(target, formats.status(target)),
        status_label=formats.status(target),
        terminal=transition.terminal,
        reason_required=transition.reason_required,
    )


async def transitions(
    clients: ServiceClients, caller: Caller, status: int
) -> list[pb.StatusTransition] | None:
    """The table's moves out of ``status``; None when the service does not answer."""
    try:
        return await clients.invoices.list_status_transitions(status, caller)
    except grpc.aio.AioRpcError:
        return None


def offer(found: list[pb.StatusTransition] | None, allowed_actions: list[str]) -> Offer:
    """The recipient's moves the reader may make now: suggested ones as buttons, those
    needing a reason in the send-back form; skipping ahead is not offered."""
    if found is None:
        return Offer(unavailable=any(a.startswith("MARK_") for a in allowed_actions))
    allowed = set(allowed_actions)
    mine = [
        t
        for t in found
        if t.party == pb.LIFECYCLE_PARTY_RECIPIENT and t.action in allowed and t.action
    ]
    return Offer(
        next=tuple(_move(t) for t in mine if t.suggested and not t.reason_required),
        send_back=tuple(_move(t) for t in mine if t.reason_required),
        live=bool(found),
    )


def find_move(found: list[pb.StatusTransition] | None, target: str) -> Move | None:
    """The table's move to ``target`` out of the current status, None if there is none."""
    for transition in found or ():
        move = _move(transition)
        if move.target == target:
            return move
    return None


def reason_text(code: str, comment: str) -> str:
    """What the service keeps as the reason: "CODE — libellé", then the comment."""
    comment = comment.strip()
    label = REASON_CODES.get(code)
    if label is None:
        return comment
    return f"{code} — {label}" + (f" : {comment}" if comment else "")
