"""The invoice status machine: one table of statuses and one table of transitions.

Every status change in the service goes through :func:`transition`; nothing else decides
whether a move is allowed. Who may trigger a transition is a :class:`Party`; the API turns
parties into access checks (supplier = ``FACTURES_EMISES``, recipient = ``FACTURES_RECUES``).

Lifecycle codes of the 2026 reform, exposed beside each status. The mapping is the official
one: AIFE's external specification for Chorus Pro in the reform (DSE "Chorus Pro" v1.1, 2026,
tables 8, 11 and 12), as ``DESIGN.md`` §4 lists it. Several statuses give the same code, so
the history says which one did: "<code> <reform label> — <Chorus status>", e.g.
"204 Prise en charge — service fait" (the Chorus part is left out when it says the same).

==================================  ========  ====================  ===========================
status                              code      reform label          Chorus status (history)
==================================  ========  ====================  ===========================
``BROUILLON``                       none      —                     not yet in the lifecycle (0)
``DEPOSEE``                         200       Déposée               déposée
``EN_COURS_ACHEMINEMENT``           201       Émise                 en cours d'acheminement
``MISE_A_DISPOSITION``              203       Mise à disposition    mise à disposition
``PRISE_EN_COMPTE_DESTINATAIRE``    204       Prise en charge       prise en compte
``SERVICE_FAIT``                    204       Prise en charge       service fait
``MANDATEE``                        204       Prise en charge       mandatée
``MISE_A_DISPOSITION_COMPTABLE``    204       Prise en charge       mise à disposition comptable
``COMPTABILISEE``                   204       Prise en charge       comptabilisée
``MISE_EN_PAIEMENT``                211, 212  Paiement transmis,    mise en paiement
                                              Encaissée
``SUSPENDUE``                       208       Suspendue             suspendue
``COMPLETEE``                       209       Complétée             complétée
``A_RECYCLER``                      210       Refusée               à recycler
``REJETEE``                         210       Refusée               rejetée
==================================  ========  ====================  ===========================

- 204 *Prise en charge* is the recipient's whole processing before payment: taken up,
  service certified done, payment ordered, handed to the public accountant, booked. 205
  *Approuvée* is not one of them: it belongs to the validation circuits of A9/A12 invoices
  (``VALIDEE_1/2``: 205 Approuvée, 206 Approuvée partiellement; A12 visa: 214 Visée, A12
  refusal: 210), which Chorus does not model (yet).
- ``MISE_EN_PAIEMENT`` gives 211 *Paiement transmis*; for historic B2G invoices Chorus also
  produces 212 *Encaissée* on the supplier's behalf. Every invoice Chorus holds is historic
  B2G (its suppliers deposit on Chorus itself, portal, API or EDI; there is no partner
  platform channel), so the ``MISE_EN_PAIEMENT`` history entry carries both: 211, the
  status's code, then "212 Encaissée — mise en paiement (B2G historique)". A structure that
  does not report payment status never reaches ``MISE_EN_PAIEMENT``, so never produces 212.
- ``A_RECYCLER`` (misaddressed, to be re-deposited with the same number) has no code of its
  own: the reform abolishes it on the platform channel and the DSE maps it, like the
  recipient's refusal ``REJETEE``, to 210 *Refusée*.
- 213 *Rejetée* is a file refused by a functional check at deposit: such a file never becomes
  an invoice here (the deposit is answered with the error), so no status gives 213. 202
  *Reçue* is for reporting to a supplier's platform, which Chorus does not have.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from chorus_invoices.domain.errors import (
    PaymentStatusNotReported,
    TransitionNotAllowed,
    invalid,
)


class Status(StrEnum):
    BROUILLON = "BROUILLON"
    DEPOSEE = "DEPOSEE"
    EN_COURS_ACHEMINEMENT = "EN_COURS_ACHEMINEMENT"
    MISE_A_DISPOSITION = "MISE_A_DISPOSITION"
    PRISE_EN_COMPTE_DESTINATAIRE = "PRISE_EN_COMPTE_DESTINATAIRE"
    SERVICE_FAIT = "SERVICE_FAIT"
    MANDATEE = "MANDATEE"
    MISE_A_DISPOSITION_COMPTABLE = "MISE_A_DISPOSITION_COMPTABLE"
    COMPTABILISEE = "COMPTABILISEE"
    MISE_EN_PAIEMENT = "MISE_EN_PAIEMENT"
    SUSPENDUE = "SUSPENDUE"
    COMPLETEE = "COMPLETEE"
    A_RECYCLER = "A_RECYCLER"
    REJETEE = "REJETEE"


class Party(StrEnum):
    """Who triggers a transition."""

    SUPPLIER = "SUPPLIER"
    RECIPIENT = "RECIPIENT"
    SYSTEM = "SYSTEM"


# The reform's codes Chorus uses or names, with their labels (DSE "Chorus Pro" v1.1, tables
# 8, 11 and 12; DESIGN.md §4).
REFORM_LABELS: dict[int, str] = {
    200: "Déposée",
    201: "Émise",
    202: "Reçue",
    203: "Mise à disposition",
    204: "Prise en charge",
    205: "Approuvée",
    206: "Approuvée partiellement",
    208: "Suspendue",
    209: "Complétée",
    210: "Refusée",
    211: "Paiement transmis",
    212: "Encaissée",
    213: "Rejetée",
    214: "Visée",
}


@dataclass(frozen=True)
class StatusInfo:
    lifecycle_code: int | None
    label: str
    visible_to_recipient: bool
    """False until the invoice has been made available (mise à disposition) to the recipient."""
    also_produces: tuple[tuple[int, str], ...] = ()
    """Further reform codes Chorus produces on entering this status, each with why."""


STATUSES: dict[Status, StatusInfo] = {
    Status.BROUILLON: StatusInfo(None, "Brouillon", False),
    Status.DEPOSEE: StatusInfo(200, "Déposée", False),
    Status.EN_COURS_ACHEMINEMENT: StatusInfo(201, "En cours d'acheminement", False),
    Status.MISE_A_DISPOSITION: StatusInfo(203, "Mise à disposition", True),
    # 204 Prise en charge, whichever step of the recipient's processing (DSE table 8).
    Status.PRISE_EN_COMPTE_DESTINATAIRE: StatusInfo(204, "Prise en compte", True),
    Status.SERVICE_FAIT: StatusInfo(204, "Service fait", True),
    Status.MANDATEE: StatusInfo(204, "Mandatée", True),
    Status.MISE_A_DISPOSITION_COMPTABLE: StatusInfo(204, "Mise à disposition comptable", True),
    Status.COMPTABILISEE: StatusInfo(204, "Comptabilisée", True),
    # 211 Paiement transmis; for historic B2G (every invoice here) Chorus also produces 212.
    Status.MISE_EN_PAIEMENT: StatusInfo(
        211, "Mise en paiement", True, also_produces=((212, "B2G historique"),)
    ),
    Status.SUSPENDUE: StatusInfo(208, "Suspendue", True),
    Status.COMPLETEE: StatusInfo(209, "Complétée", True),
    # 210 Refusée for both: the reform has no code of its own for misaddressed invoices.
    Status.A_RECYCLER: StatusInfo(210, "À recycler", True),
    Status.REJETEE: StatusInfo(210, "Rejetée", True),
}


@dataclass(frozen=True)
class LifecycleCode:
    """One reform code as an invoice's status gives it."""

    code: int
    label: str
    """The reform's label, e.g. "Prise en charge"."""
    description: str
    """The code, its label and the Chorus status that gave it, e.g.
    "204 Prise en charge — service fait"."""


@dataclass(frozen=True)
class Transition:
    source: Status | None
    """``None`` for the creation of the invoice."""
    target: Status
    party: Party
    action: str
    """Name shown in ``allowed_actions`` (``SUBMIT``) and used by the RPC that performs it."""
    comment_required: bool = False
    suggested: bool = False
    """One of the next sensible moves out of ``source`` (what a screen offers first): the
    next processing step, completing, recycling. Skipping ahead and sending back stay
    allowed but are not suggested."""


# Recipient processing, in order; an invoice only moves forward and may skip steps.
PROCESSING = (
    Status.PRISE_EN_COMPTE_DESTINATAIRE,
    Status.SERVICE_FAIT,
    Status.MANDATEE,
    Status.MISE_A_DISPOSITION_COMPTABLE,
    Status.COMPTABILISEE,
    Status.MISE_EN_PAIEMENT,
)
# Statuses in which the recipient holds the invoice and may still send it back.
_BEFORE_MANDATE = (
    Status.MISE_A_DISPOSITION,
    Status.COMPLETEE,
    Status.PRISE_EN_COMPTE_DESTINATAIRE,
    Status.SERVICE_FAIT,
)
_SEND_BACK = (Status.SUSPENDUE, Status.A_RECYCLER, Status.REJETEE)


def _processing_moves() -> list[Transition]:
    moves = []
    for source in (Status.MISE_A_DISPOSITION, Status.COMPLETEE, *PROCESSING):
        start = PROCESSING.index(source) + 1 if source in PROCESSING else 0
        for offset, target in enumerate(PROCESSING[start:]):
            moves.append(
                Transition(source, target, Party.RECIPIENT, f"MARK_{target}", suggested=offset == 0)
            )
    return moves


def _send_back_moves() -> list[Transition]:
    return [
        Transition(source, target, Party.RECIPIENT, f"MARK_{target}", comment_required=True)
        for source in _BEFORE_MANDATE
        for target in _SEND_BACK
    ]


TRANSITIONS: tuple[Transition, ...] = (
    Transition(None, Status.BROUILLON, Party.SUPPLIER, "CREATE_DRAFT"),
    Transition(None, Status.DEPOSEE, Party.SUPPLIER, "DEPOSIT"),
    Transition(Status.BROUILLON, Status.DEPOSEE, Party.SUPPLIER, "SUBMIT", suggested=True),
    Transition(Status.DEPOSEE, Status.EN_COURS_ACHEMINEMENT, Party.SYSTEM, "ROUTE", suggested=True),
    Transition(
        Status.EN_COURS_ACHEMINEMENT,
        Status.MISE_A_DISPOSITION,
        Party.SYSTEM,
        "DELIVER",
        suggested=True,
    ),
    *_processing_moves(),
    *_send_back_moves(),
    Transition(Status.SUSPENDUE, Status.COMPLETEE, Party.SUPPLIER, "COMPLETE", suggested=True),
    Transition(Status.A_RECYCLER, Status.DEPOSEE, Party.SUPPLIER, "RECYCLE", suggested=True),
)

_BY_MOVE = {(t.source, t.target): t for t in TRANSITIONS}


def lifecycle_code(status: Status) -> int | None:
    """The reform's code for ``status``; ``None`` for a draft."""
    return STATUSES[status].lifecycle_code


def lifecycle_codes(status: Status) -> tuple[LifecycleCode, ...]:
    """Every reform code entering ``status`` gives, its own first (211 then 212 for
    ``MISE_EN_PAIEMENT``); none for a draft."""
    info = STATUSES[status]
    if info.lifecycle_code is None:
        return ()
    wording = info.label[0].lower() + info.label[1:]
    own = REFORM_LABELS[info.lifecycle_code]
    says = "" if wording == own.lower() else f" — {wording}"
    codes = [LifecycleCode(info.lifecycle_code, own, f"{info.lifecycle_code} {own}{says}")]
    for code, why in info.also_produces:
        label = REFORM_LABELS[code]
        codes.append(LifecycleCode(code, label, f"{code} {label} — {wording} ({why})"))
    return tuple(codes)


def lifecycle_label(status: Status) -> str:
    """The reform's label of ``status``'s code ("Prise en charge"); "" for a draft."""
    codes = lifecycle_codes(status)
    return codes[0].label if codes else ""


def lifecycle_description(status: Status) -> str:
    """``status``'s code, its label and the status itself ("204 Prise en charge — service
    fait"); "" for a draft."""
    codes = lifecycle_codes(status)
    return codes[0].description if codes else ""


def transitions_from(status: Status | None) -> list[Transition]:
    """Every move out of ``status`` (``None``: the ways an invoice comes into being)."""
    return [t for t in TRANSITIONS if t.source == status]


def recipient_targets(status: Status, allowed_actions: Iterable[str]) -> list[Status]:
    """The statuses the recipient's moves among ``allowed_actions`` set from ``status`` (what
    ChangeInvoiceStatus may do for that caller now), in the table's order."""
    allowed = set(allowed_actions)
    return [
        t.target
        for t in transitions_from(status)
        if t.party is Party.RECIPIENT and t.action in allowed
    ]


def is_terminal(status: Status) -> bool:
    """No transition leaves ``status``."""
    return not transitions_from(status)


def transition(source: Status | None, target: Status, party: Party) -> Transition:
    """The allowed move from ``source`` to ``target`` by ``party``.

    Raises :class:`TransitionNotAllowed` (INVALID_STATUS_TRANSITION) otherwise.
    """
    move = _BY_MOVE.get((source, target))
    if move is None or move.party != party:
        raise TransitionNotAllowed(source, target)
    return move


# Not a status change: a draft is removed altogether, by its supplier.
DELETE_DRAFT = "DELETE"
# Not a status change either: the supplier acknowledges a rejection, once, REJETEE stays.
ACKNOWLEDGE_REJECTION = "ACKNOWLEDGE_REJECTION"


def recipient_move(
    source: Status, target: Status, reason: str, *, payment_status_not_reported: bool
) -> Transition:
    """The recipient's move from ``source`` to ``target``, checked against the table and its rules.

    TransitionNotAllowed (INVALID_STATUS_TRANSITION); REASON_REQUIRED when sending back
    without a reason; PaymentStatusNotReported when the structure does not report payment
    status and the target is ``MISE_EN_PAIEMENT``.
    """
    step = transition(source, target, Party.RECIPIENT)
    if step.comment_required and not reason.strip():
        raise invalid(
            "REASON_REQUIRED",
            "reason",
            f"Indiquez le motif du passage au statut {STATUSES[target].label}.",
        )
    if target is Status.MISE_EN_PAIEMENT and payment_status_not_reported:
        raise PaymentStatusNotReported()
    return step
