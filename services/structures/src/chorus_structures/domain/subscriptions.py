"""Space subscriptions: a simple user asks to use an open space in a mode; a manager decides.

Managers need none (they use every open space). The manager activities are for managers
only; the account area is open to every member. A subscription to the issued invoices is
validated at once. A validated subscription replaces the previous one of the same space
(which becomes ``RESILIEE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from chorus_platform.errors import FailedPrecondition, NotFound

from chorus_structures.domain.access import Role
from chorus_structures.domain.spaces import (
    ALWAYS_OPEN,
    MANAGERS_ONLY,
    OPEN_TO_EVERY_MEMBER,
    AccessMode,
    Space,
    mode_grants,
)


class SubscriptionStatus(StrEnum):
    EN_COURS_DE_VALIDATION = "EN_COURS_DE_VALIDATION"
    VALIDEE = "VALIDEE"
    REFUSEE = "REFUSEE"
    RESILIEE = "RESILIEE"


@dataclass(frozen=True)
class Subscription:
    id: UUID
    structure_id: UUID
    user_id: UUID
    space: Space
    mode: AccessMode
    status: SubscriptionStatus
    decision_comment: str
    decided_by: UUID | None
    requested_at: datetime
    decided_at: datetime | None

    @property
    def pending(self) -> bool:
        return self.status is SubscriptionStatus.EN_COURS_DE_VALIDATION


def subscription_not_found() -> NotFound:
    return NotFound("SUBSCRIPTION_NOT_FOUND", "Cet abonnement est introuvable.")


def check_subscribable(
    role: Role,
    space: Space,
    space_open: bool,
    validated_mode: AccessMode | None,
    requested: AccessMode,
) -> None:
    """Whether ``role`` may ask for ``space`` in ``requested`` mode now."""
    if role.is_manager:
        raise FailedPrecondition(
            "MANAGER_HAS_ACCESS",
            "En tant que gestionnaire, vous avez déjà accès à tous les espaces ouverts de la "
            "structure.",
        )
    if space in MANAGERS_ONLY:
        raise FailedPrecondition(
            "SPACE_MANAGERS_ONLY", "Cet espace est réservé aux gestionnaires de la structure."
        )
    if space in OPEN_TO_EVERY_MEMBER:
        raise FailedPrecondition(
            "ALREADY_SUBSCRIBED", "Cet espace est ouvert à tous les membres de la structure."
        )
    if not space_open:
        raise FailedPrecondition(
            "SPACE_CLOSED",
            "Cet espace n'est pas ouvert pour la structure : demandez à un gestionnaire de "
            "l'ouvrir.",
        )
    if validated_mode is not None and mode_grants(validated_mode, requested):
        raise FailedPrecondition(
            "ALREADY_SUBSCRIBED", "Vous êtes déjà abonné à cet espace avec ce mode d'accès."
        )


def check_pending(subscription: Subscription) -> None:
    if not subscription.pending:
        raise FailedPrecondition(
            "SUBSCRIPTION_ALREADY_DECIDED",
            f"Cet abonnement n'est plus en attente (statut {subscription.status}) : il ne peut "
            "plus être traité.",
        )


def check_closable(space: Space) -> None:
    if space in ALWAYS_OPEN:
        raise FailedPrecondition(
            "SPACE_ALWAYS_OPEN", "Cet espace ne peut pas être fermé : il est toujours ouvert."
        )
