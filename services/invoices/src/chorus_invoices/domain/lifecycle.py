"""The invoice status machine: one table of statuses and one table of transitions.

Every status change in the service goes through :func:`transition`; nothing else decides
whether a move is allowed. Who may trigger a transition is a :class:`Party`; the API turns
parties into access checks (supplier = ``FACTURES_EMISES``, recipient = ``FACTURES_RECUES``).

Lifecycle codes of the 2026 reform, exposed beside each status:

==================================  ====  ======================  ============================
status                              code  reform label            why
==================================  ====  ======================  ============================
``BROUILLON``                       none  —                       not yet in the lifecycle (0)
``DEPOSEE``                         200   Déposée                 received by the platform
``EN_COURS_ACHEMINEMENT``           201   Émise                   checked, sent on its way
``MISE_A_DISPOSITION``              203   Mise à disposition      recipient can now see it
``PRISE_EN_COMPTE_DESTINATAIRE``    204   Prise en charge         recipient took it up
``SERVICE_FAIT``                    205   Approuvée               service certified done
``MANDATEE``                        205   Approuvée               payment ordered (still 205)
``MISE_A_DISPOSITION_COMPTABLE``    205   Approuvée               handed to the accountant
``COMPTABILISEE``                   205   Approuvée               booked, not yet paid
``MISE_EN_PAIEMENT``                211   Paiement transmis       payment sent
``SUSPENDUE``                       208   Suspendue               waiting for the supplier
``COMPLETEE``                       209   Complétée               supplier added what lacked
``A_RECYCLER``                      213   Rejetée                 misaddressed: re-route it
``REJETEE``                         210   Refusée                 recipient refuses it
==================================  ====  ======================  ============================

``A_RECYCLER`` is the reform's *rejet* (wrong routing data, to be re-deposited with the same
number) and ``REJETEE`` its *refus* (a business refusal, terminal), hence 213 and 210.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class StatusInfo:
    lifecycle_code: int | None
    label: str
    visible_to_recipient: bool
    """False until the invoice has been made available (mise à disposition) to the recipient."""


STATUSES: dict[Status, StatusInfo] = {
    Status.BROUILLON: StatusInfo(None, "Brouillon", False),
    Status.DEPOSEE: StatusInfo(200, "Déposée", False),
    Status.EN_COURS_ACHEMINEMENT: StatusInfo(201, "En cours d'acheminement", False),
    Status.MISE_A_DISPOSITION: StatusInfo(203, "Mise à disposition", True),
    Status.PRISE_EN_COMPTE_DESTINATAIRE: StatusInfo(204, "Prise en compte", True),
    Status.SERVICE_FAIT: StatusInfo(205, "Service fait", True),
    Status.MANDATEE: StatusInfo(205, "Mandatée", True),
    Status.MISE_A_DISPOSITION_COMPTABLE: StatusInfo(205, "Mise à disposition comptable", True),
    Status.COMPTABILISEE: StatusInfo(205, "Comptabilisée", True),
    Status.MISE_EN_PAIEMENT: StatusInfo(211, "Mise en paiement", True),
    Status.SUSPENDUE: StatusInfo(208, "Suspendue", True),
    Status.COMPLETEE: StatusInfo(209, "Complétée", True),
    Status.A_RECYCLER: StatusInfo(213, "À recycler", True),
    Status.REJETEE: StatusInfo(210, "Rejetée", True),
}


@dataclass(frozen=True)
class Transition:
    source: Status | None
    """``None`` for the creation of the invoice."""
    target: Status
    party: Party
    action: str
    """Name shown in ``allowed_actions`` (``SUBMIT``) and used by the RPC that performs it."""
    comment_required: bool = False


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
        for target in PROCESSING[start:]:
            moves.append(Transition(source, target, Party.RECIPIENT, f"MARK_{target}"))
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
    Transition(Status.BROUILLON, Status.DEPOSEE, Party.SUPPLIER, "SUBMIT"),
    Transition(Status.DEPOSEE, Status.EN_COURS_ACHEMINEMENT, Party.SYSTEM, "ROUTE"),
    Transition(Status.EN_COURS_ACHEMINEMENT, Status.MISE_A_DISPOSITION, Party.SYSTEM, "DELIVER"),
    *_processing_moves(),
    *_send_back_moves(),
    Transition(Status.SUSPENDUE, Status.COMPLETEE, Party.SUPPLIER, "COMPLETE"),
    Transition(Status.A_RECYCLER, Status.DEPOSEE, Party.SUPPLIER, "RECYCLE"),
)

_BY_MOVE = {(t.source, t.target): t for t in TRANSITIONS}


def lifecycle_code(status: Status) -> int | None:
    """The reform's code for ``status``; ``None`` for a draft."""
    return STATUSES[status].lifecycle_code


def transitions_from(status: Status | None) -> list[Transition]:
    """Every move out of ``status`` (``None``: the ways an invoice comes into being)."""
    return [t for t in TRANSITIONS if t.source == status]


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
