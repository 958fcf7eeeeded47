"""Who may act for a structure, in which space, with which mode.

The store gathers the facts about one (user, structure, space) in one query; the rules are
applied here, so the same decision serves CheckAccess, ListAccessibleStructures and the modes
shown by ListMyMemberships.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from chorus_platform.errors import PermissionDenied

from chorus_structures.domain.spaces import (
    MANAGERS_ONLY,
    OPEN_TO_EVERY_MEMBER,
    AccessMode,
    Space,
    mode_grants,
)
from chorus_structures.domain.structure import StructureService, StructureStatus


@dataclass(frozen=True)
class Caller:
    """Who makes a request: a person, or a technical account of the Chorus Pro-compatible API
    (its token's ``tst`` claim names the one structure it acts for)."""

    user_id: UUID
    technical_structure_id: UUID | None = None

    @property
    def is_technical(self) -> bool:
        return self.technical_structure_id is not None


class Role(StrEnum):
    GESTIONNAIRE_PRINCIPAL = "GESTIONNAIRE_PRINCIPAL"
    GESTIONNAIRE_SECONDAIRE = "GESTIONNAIRE_SECONDAIRE"
    UTILISATEUR = "UTILISATEUR"
    # A technical account of the Chorus Pro API in its structure: never stored as a
    # membership, given by the token's claim (see :func:`technical_role`).
    COMPTE_TECHNIQUE = "COMPTE_TECHNIQUE"

    @property
    def is_manager(self) -> bool:
        return self in (Role.GESTIONNAIRE_PRINCIPAL, Role.GESTIONNAIRE_SECONDAIRE)


def technical_role(caller: Caller, structure_id: UUID) -> Role | None:
    """A technical account's role: COMPTE_TECHNIQUE in the structure its token names, none
    anywhere else, whatever memberships its user id may have. Answered from the claim alone:
    nothing to synchronise, no delay after the account is activated."""
    if caller.technical_structure_id == structure_id:
        return Role.COMPTE_TECHNIQUE
    return None


def technical_account_not_allowed() -> PermissionDenied:
    return PermissionDenied(
        "TECHNICAL_ACCOUNT_NOT_ALLOWED",
        "Un compte technique agit seulement pour sa structure, au travers de l'API Chorus "
        "Pro : cette action demande un compte utilisateur.",
    )


def person(caller: Caller) -> UUID:
    """The caller's user id for what only people do (create a structure, ask to join one,
    subscribe to a space, leave...); PermissionDenied TECHNICAL_ACCOUNT_NOT_ALLOWED for a
    technical account."""
    if caller.is_technical:
        raise technical_account_not_allowed()
    return caller.user_id


def manager_candidate(caller: Caller) -> UUID:
    """The caller's user id for a manager's action, whose role the use case then checks; a
    technical account never has manager rights: PermissionDenied MANAGER_REQUIRED at once."""
    if caller.is_technical:
        raise PermissionDenied(
            "MANAGER_REQUIRED",
            "Seuls les gestionnaires de la structure peuvent faire cette action : un compte "
            "technique n'a pas les droits de gestionnaire.",
        )
    return caller.user_id


@dataclass(frozen=True)
class AccessFacts:
    """What the access rules look at for one member, structure and space.

    ``service_known`` is None when no service was asked about; ``service_granted`` says whether
    the member may act for that service (a simple user attached to some services only);
    ``service_ids`` are the services a simple user is limited to (empty: the whole structure).
    """

    role: Role
    structure_status: StructureStatus
    space_open: bool
    subscription_mode: AccessMode | None = None
    service_known: bool | None = None
    service_granted: bool = True
    space: Space | None = None
    service_ids: frozenset[UUID] = frozenset()
    service_codes: frozenset[str] = frozenset()

    @property
    def limited_to_services(self) -> frozenset[UUID]:
        """The services an allowed access is limited to; empty means every service."""
        return frozenset() if self.role.is_manager else self.service_ids

    @property
    def limited_to_service_codes(self) -> frozenset[str]:
        """The same services by code."""
        return frozenset() if self.role.is_manager else self.service_codes


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str = ""


ALLOWED = AccessDecision(True)


def access_subject(requested: UUID | None, caller: UUID) -> UUID:
    """Whom an access question is about: the caller only. None means the caller; anyone else
    is PermissionDenied ACCESS_CHECK_OTHER_USER (services ask on behalf of the user whose
    token they forward)."""
    if requested is None:
        return caller
    if requested != caller:
        raise PermissionDenied(
            "ACCESS_CHECK_OTHER_USER",
            "Vous ne pouvez vérifier que vos propres droits d'accès.",
        )
    return requested


def decide(facts: AccessFacts | None, requested: AccessMode) -> AccessDecision:
    """The decision for a request in mode ``requested``; ``facts`` is None for a non-member.

    Reasons, checked in this order: NOT_A_MEMBER, STRUCTURE_INACTIVE, SPACE_CLOSED,
    SERVICE_NOT_FOUND, SERVICE_NOT_ALLOWED, MANAGERS_ONLY (a simple user in the manager
    activities), SUBSCRIPTION_REQUIRED.
    """
    if facts is None:
        return AccessDecision(False, "NOT_A_MEMBER")
    if facts.structure_status is not StructureStatus.ACTIVE:
        return AccessDecision(False, "STRUCTURE_INACTIVE")
    if not facts.space_open:
        return AccessDecision(False, "SPACE_CLOSED")
    if facts.service_known is False:
        return AccessDecision(False, "SERVICE_NOT_FOUND")
    if facts.service_known and not facts.service_granted and not facts.role.is_manager:
        return AccessDecision(False, "SERVICE_NOT_ALLOWED")
    if facts.space in MANAGERS_ONLY and not facts.role.is_manager:
        return AccessDecision(False, "MANAGERS_ONLY")
    granted = granted_mode(facts.role, facts.subscription_mode, facts.space)
    if granted is None or not mode_grants(granted, requested):
        return AccessDecision(False, "SUBSCRIPTION_REQUIRED")
    return ALLOWED


def granted_mode(
    role: Role, subscription_mode: AccessMode | None, space: Space | None = None
) -> AccessMode | None:
    """The mode a member has in an open space: managers modify every open space (implied
    access), every member modifies their own account area, a technical account every open
    space but the managers' own, a simple user has what their validated subscription says,
    and nothing in the managers' own space."""
    if role.is_manager or space in OPEN_TO_EVERY_MEMBER:
        return AccessMode.MODIFICATION
    if space in MANAGERS_ONLY:
        return None
    if role is Role.COMPTE_TECHNIQUE:
        return AccessMode.MODIFICATION
    return subscription_mode


def space_accesses(
    role: Role,
    structure_status: StructureStatus,
    open_spaces: Sequence[Space],
    subscriptions: Mapping[Space, AccessMode],
) -> list[tuple[Space, AccessMode]]:
    """The spaces a member may use, with their mode (what ListMyMemberships shows)."""
    if structure_status is not StructureStatus.ACTIVE:
        return []
    accesses = []
    for space in open_spaces:
        mode = granted_mode(role, subscriptions.get(space), space)
        if mode is not None:
            accesses.append((space, mode))
    return accesses


def visible_services(
    role: Role, services: Sequence[StructureService], attached: Set[UUID]
) -> list[StructureService]:
    """Managers see every service; a simple user those attached to, or all if attached to none."""
    if role.is_manager or not attached:
        return list(services)
    return [service for service in services if service.id in attached]
