"""Changing a structure: what a manager asks to change, and the rules the result must pass."""

from __future__ import annotations

from dataclasses import dataclass, replace

from chorus_platform.errors import FailedPrecondition, PermissionDenied

from chorus_structures.domain.details import (
    Violation,
    checked_address,
    checked_email,
    checked_libelle,
    checked_raison_sociale,
    checked_vat_number,
    invalid,
)
from chorus_structures.domain.structure import (
    Address,
    Structure,
    StructureKind,
    StructureStatus,
)


@dataclass(frozen=True)
class StructureChanges:
    """What a manager asks to change; None leaves a field as it is."""

    raison_sociale: str | None = None
    libelle: str | None = None
    address: Address | None = None
    email: str | None = None
    vat_number: str | None = None
    status: StructureStatus | None = None
    service_code_required: bool | None = None
    engagement_required: bool | None = None
    service_or_engagement_required: bool | None = None
    payment_status_not_reported: bool | None = None

    def routing_changes(self) -> dict[str, bool]:
        return {
            name: value
            for name in (
                "service_code_required",
                "engagement_required",
                "service_or_engagement_required",
                "payment_status_not_reported",
            )
            if (value := getattr(self, name)) is not None
        }


def apply_changes(current: Structure, changes: StructureChanges, *, principal: bool) -> Structure:
    """``current`` with ``changes`` applied, checked like at creation.

    Routing parameters only exist on public structures (FailedPrecondition
    ROUTING_PARAMETERS_PUBLIC_ONLY); only the principal manager changes the status
    (PermissionDenied PRINCIPAL_MANAGER_REQUIRED). Field errors as in validate_new_structure.
    """
    routing = changes.routing_changes()
    if routing and current.kind is not StructureKind.PUBLIQUE:
        raise FailedPrecondition(
            "ROUTING_PARAMETERS_PUBLIC_ONLY",
            "Les paramètres de réception des factures ne concernent que les structures publiques.",
        )
    if changes.status is not None and changes.status is not current.status and not principal:
        raise PermissionDenied(
            "PRINCIPAL_MANAGER_REQUIRED",
            "Seul le gestionnaire principal peut activer ou désactiver la structure.",
        )
    violations: list[Violation] = []
    updated = current
    if changes.raison_sociale is not None:
        raison_sociale = checked_raison_sociale(changes.raison_sociale, violations)
        updated = replace(updated, raison_sociale=raison_sociale)
    if changes.libelle is not None:
        updated = replace(updated, libelle=checked_libelle(changes.libelle, violations))
    if changes.address is not None:
        updated = replace(updated, address=checked_address(changes.address, violations))
    if changes.email is not None:
        updated = replace(updated, email=checked_email(changes.email, violations))
    if changes.vat_number is not None:
        vat_number = checked_vat_number(current.identifier.type, changes.vat_number, violations)
        updated = replace(updated, vat_number=vat_number)
    if violations:
        raise invalid(violations)
    if changes.status is not None:
        updated = replace(updated, status=changes.status)
    if routing:
        updated = replace(updated, routing=replace(current.routing, **routing))
    return updated
