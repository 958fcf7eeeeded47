"""A structure's services (departments): the rules of their code and name."""

from __future__ import annotations

import re
from dataclasses import replace

from chorus_platform.errors import NotFound

from chorus_structures.domain.details import NAME_MAX, Violation, clean, invalid, too_long
from chorus_structures.domain.structure import (
    RESERVED_PUBLIC_SERVICE_CODE,
    NewService,
    StructureKind,
    StructureService,
)

SERVICE_CODE_MAX = 30


def service_not_found() -> NotFound:
    return NotFound("SERVICE_NOT_FOUND", "Ce service n'existe pas dans la structure.")


def require_service(service: StructureService | None) -> StructureService:
    """NotFound SERVICE_NOT_FOUND for None."""
    if service is None:
        raise service_not_found()
    return service


_SERVICE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_.-]*")


def validate_new_service(
    code: str, name: str, engagement_required: bool, kind: StructureKind
) -> NewService:
    """A service to add: code (upper-cased, letters, digits, ``_ . -``, 30 at most, the
    reserved FACTURES_PUBLIQUES only on public structures) and name (required, 200 at most)."""
    violations: list[Violation] = []
    normal_code = "".join(code.split()).upper()
    if not normal_code:
        violations.append(
            Violation("code", "SERVICE_CODE_REQUIRED", "Saisissez le code du service.")
        )
    elif len(normal_code) > SERVICE_CODE_MAX or not _SERVICE_CODE.fullmatch(normal_code):
        violations.append(
            Violation(
                "code",
                "SERVICE_CODE_INVALID",
                f"Le code du service comporte au plus {SERVICE_CODE_MAX} caractères : lettres, "
                "chiffres, et _ . - (par exemple SERV-FIN).",
            )
        )
    elif normal_code == RESERVED_PUBLIC_SERVICE_CODE and kind is not StructureKind.PUBLIQUE:
        violations.append(
            Violation(
                "code",
                "SERVICE_CODE_RESERVED",
                f"Le code {RESERVED_PUBLIC_SERVICE_CODE} est réservé aux structures publiques.",
            )
        )
    clean_name = _checked_service_name(name, violations)
    if violations:
        raise invalid(violations)
    return NewService(code=normal_code, name=clean_name, engagement_required=engagement_required)


def apply_service_changes(
    current: StructureService,
    *,
    name: str | None,
    active: bool | None,
    engagement_required: bool | None,
) -> StructureService:
    """``current`` renamed, (de)activated or with its engagement flag changed."""
    updated = current
    if name is not None:
        violations: list[Violation] = []
        clean_name = _checked_service_name(name, violations)
        if violations:
            raise invalid(violations)
        updated = replace(updated, name=clean_name)
    if active is not None:
        updated = replace(updated, active=active)
    if engagement_required is not None:
        updated = replace(updated, engagement_required=engagement_required)
    return updated


def _checked_service_name(name: str, violations: list[Violation]) -> str:
    clean_name = clean(name)
    if not clean_name:
        violations.append(
            Violation("name", "SERVICE_NAME_REQUIRED", "Saisissez le nom du service.")
        )
    elif len(clean_name) > NAME_MAX:
        violations.append(too_long("name", "SERVICE_NAME_TOO_LONG", NAME_MAX))
    return clean_name
