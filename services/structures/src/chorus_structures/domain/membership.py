"""Who may change whose membership: the rules of roles, transfer, detachment and leaving.

The principal manager has every right; a secondary manager every manager right except
touching the principal role; a simple user none. A structure that has a principal keeps
exactly one (the database enforces it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from chorus_platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

from chorus_structures.domain.access import Role

# Roles a manager may hand out; the principal role only moves by transfer.
GRANTABLE_ROLES = (Role.UTILISATEUR, Role.GESTIONNAIRE_SECONDAIRE)


@dataclass(frozen=True)
class Member:
    user_id: UUID
    role: Role
    # Services a simple user is limited to; empty means the whole structure.
    service_ids: frozenset[UUID]
    since: datetime


def member_not_found() -> NotFound:
    return NotFound("MEMBER_NOT_FOUND", "Cet utilisateur n'est pas rattaché à la structure.")


def require_member(role: Role | None) -> Role:
    """The caller's role; PermissionDenied NOT_A_MEMBER for a non-member."""
    if role is None:
        raise PermissionDenied(
            "NOT_A_MEMBER",
            "Vous n'êtes pas rattaché à cette structure : demandez votre rattachement à ses "
            "gestionnaires.",
        )
    return role


def require_manager(role: Role | None) -> Role:
    """The caller's role when a manager; PermissionDenied MANAGER_REQUIRED otherwise."""
    if role is None or not role.is_manager:
        raise PermissionDenied(
            "MANAGER_REQUIRED",
            "Seuls les gestionnaires de la structure peuvent faire cette action.",
        )
    return role


def require_manager_of_item(
    role: Role | None, *, concerns_caller: bool, not_found: NotFound
) -> Role:
    """The caller's role when a manager of the structure an item (attachment request,
    subscription) belongs to. Someone who is neither a member of that structure nor the person
    the item concerns learns nothing of it: ``not_found``, as for an unknown id (an item id
    alone must not tell a stranger that it exists). Other non-managers: MANAGER_REQUIRED."""
    if role is None and not concerns_caller:
        raise not_found
    return require_manager(role)


def require_principal(role: Role | None) -> Role:
    """PermissionDenied PRINCIPAL_MANAGER_REQUIRED unless the caller is the principal."""
    if role is not Role.GESTIONNAIRE_PRINCIPAL:
        raise PermissionDenied(
            "PRINCIPAL_MANAGER_REQUIRED",
            "Seul le gestionnaire principal de la structure peut faire cette action.",
        )
    return role


def grantable_role(role: Role | None, field: str = "role") -> Role:
    """The role to grant: UTILISATEUR by default; the principal role is never granted."""
    if role is None:
        return Role.UTILISATEUR
    if role not in GRANTABLE_ROLES:
        message = (
            "Le rôle attribué est UTILISATEUR ou GESTIONNAIRE_SECONDAIRE ; le rôle de "
            "gestionnaire principal se transmet par un transfert."
        )
        raise InvalidArgument("ROLE_NOT_GRANTABLE", message, [FieldViolation(field, message)])
    return role


def check_role_change(actor_role: Role | None, target: Member | None, new_role: Role) -> None:
    """A manager changes a member between UTILISATEUR and GESTIONNAIRE_SECONDAIRE; the
    principal's role is only changed by a transfer (PRINCIPAL_ROLE_PROTECTED)."""
    require_manager(actor_role)
    grantable_role(new_role)
    if target is None:
        raise member_not_found()
    if target.role is Role.GESTIONNAIRE_PRINCIPAL:
        raise FailedPrecondition(
            "PRINCIPAL_ROLE_PROTECTED",
            "Le rôle du gestionnaire principal ne peut pas être modifié : il doit d'abord "
            "transférer ce rôle à un autre membre.",
        )


def check_detach(actor_role: Role | None, target: Member | None) -> None:
    """Managers detach members, never the principal (PRINCIPAL_CANNOT_BE_DETACHED)."""
    require_manager(actor_role)
    if target is None:
        raise member_not_found()
    if target.role is Role.GESTIONNAIRE_PRINCIPAL:
        raise FailedPrecondition(
            "PRINCIPAL_CANNOT_BE_DETACHED",
            "Le gestionnaire principal ne peut pas être détaché de la structure : il doit "
            "d'abord transférer son rôle à un autre membre.",
        )


def check_leave(role: Role | None) -> None:
    """A member leaves; the principal only once they transferred the role."""
    require_member(role)
    if role is Role.GESTIONNAIRE_PRINCIPAL:
        raise FailedPrecondition(
            "PRINCIPAL_MUST_TRANSFER_FIRST",
            "Vous êtes le gestionnaire principal : transférez d'abord ce rôle à un autre "
            "membre avant de quitter la structure.",
        )


def check_transfer(actor_role: Role | None, actor_id: UUID, target: Member | None) -> None:
    """Only the principal transfers, to another member of the structure."""
    require_principal(actor_role)
    if target is None:
        raise member_not_found()
    if target.user_id == actor_id:
        raise FailedPrecondition(
            "ALREADY_PRINCIPAL", "Vous êtes déjà le gestionnaire principal de cette structure."
        )


def check_not_member(role: Role | None) -> None:
    """ALREADY_A_MEMBER when the user already belongs to the structure."""
    if role is not None:
        raise FailedPrecondition(
            "ALREADY_A_MEMBER", "Cet utilisateur est déjà rattaché à cette structure."
        )
