"""Structures (legal entities), their services and routing parameters; the creation rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from chorus_platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat

from chorus_structures.domain.identifiers import (
    Identifier,
    IdentifierInvalid,
    IdentifierType,
    validate_identifier,
)

NAME_MAX = 200
ADDRESS_LINE_MAX = 200
CITY_MAX = 100
POSTAL_CODE_MAX = 20
EMAIL_MAX = 254

_COUNTRY = re.compile(r"[A-Z]{2}")
_FRENCH_POSTAL_CODE = re.compile(r"[0-9]{5}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_POSTAL_CODE = re.compile(r"[A-Z0-9][A-Z0-9 -]*")


class StructureKind(StrEnum):
    PRIVEE = "PRIVEE"
    PUBLIQUE = "PUBLIQUE"


class StructureStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


@dataclass(frozen=True)
class Address:
    line1: str
    postal_code: str
    city: str
    country: str
    line2: str = ""


@dataclass(frozen=True)
class RoutingParameters:
    """What a public recipient demands on the invoices it receives."""

    service_code_required: bool = False
    engagement_required: bool = False
    service_or_engagement_required: bool = False
    payment_status_not_reported: bool = False


# The service public bodies receive other public bodies' invoices on: private suppliers may
# not address invoices to it.
RESERVED_PUBLIC_SERVICE_CODE = "FACTURES_PUBLIQUES"


@dataclass(frozen=True)
class StructureService:
    id: UUID
    code: str
    name: str
    active: bool = True
    engagement_required: bool = False

    @property
    def reserved_for_public_suppliers(self) -> bool:
        return self.code == RESERVED_PUBLIC_SERVICE_CODE


@dataclass(frozen=True)
class NewService:
    code: str
    name: str
    engagement_required: bool = False


@dataclass(frozen=True)
class Structure:
    id: UUID
    identifier: Identifier
    raison_sociale: str
    libelle: str
    kind: StructureKind
    status: StructureStatus
    address: Address
    email: str
    vat_number: str
    routing: RoutingParameters
    services: tuple[StructureService, ...]
    created_at: datetime


@dataclass(frozen=True)
class NewStructure:
    """A structure that passed the creation rules, not stored yet."""

    identifier: Identifier
    raison_sociale: str
    kind: StructureKind
    address: Address
    libelle: str = ""
    email: str = ""
    vat_number: str = ""
    routing: RoutingParameters = field(default_factory=RoutingParameters)
    services: tuple[NewService, ...] = ()


@dataclass(frozen=True)
class StructureDraft:
    """What a user asks to create, as typed."""

    identifier_type: IdentifierType | None
    identifier: str
    raison_sociale: str
    address: Address
    kind: StructureKind | None = None
    libelle: str = ""
    email: str = ""
    vat_number: str = ""


@dataclass(frozen=True)
class _Violation:
    field: str
    reason: str
    message: str


def validate_new_structure(draft: StructureDraft, *, allow_public: bool) -> NewStructure:
    """Applies the creation rules to ``draft``.

    Raises PermissionDenied ``PUBLIC_CREATION_DISABLED`` for a public structure when
    ``allow_public`` is off, and InvalidArgument with every field violation otherwise; its
    reason is the first violation's (the identifier's reason when the identifier is wrong).
    """
    kind = draft.kind or StructureKind.PRIVEE
    if kind is StructureKind.PUBLIQUE and not allow_public:
        raise PermissionDenied(
            "PUBLIC_CREATION_DISABLED",
            "La création de structures publiques est réservée à l'import de l'annuaire. "
            "Créez une structure privée ou contactez l'administrateur.",
        )
    violations: list[_Violation] = []
    identifier = _checked_identifier(draft, violations)
    if kind is StructureKind.PUBLIQUE and draft.identifier_type not in (
        None,
        IdentifierType.SIRET,
    ):
        violations.append(
            _Violation(
                "identifier_type",
                "PUBLIC_STRUCTURE_REQUIRES_SIRET",
                "Une structure publique s'identifie par son SIRET.",
            )
        )
    raison_sociale = _clean(draft.raison_sociale)
    if not raison_sociale:
        violations.append(
            _Violation("raison_sociale", "RAISON_SOCIALE_REQUIRED", "Saisissez la raison sociale.")
        )
    elif len(raison_sociale) > NAME_MAX:
        violations.append(_too_long("raison_sociale", "RAISON_SOCIALE_TOO_LONG", NAME_MAX))
    libelle = _clean(draft.libelle)
    if len(libelle) > NAME_MAX:
        violations.append(_too_long("libelle", "LIBELLE_TOO_LONG", NAME_MAX))
    address = _checked_address(draft.address, violations)
    email = draft.email.strip()
    if email and (len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email)):
        violations.append(
            _Violation(
                "email",
                "EMAIL_INVALID",
                "Saisissez une adresse électronique valide (par exemple contact@exemple.fr).",
            )
        )
    vat_number = _checked_vat_number(draft.identifier_type, draft.vat_number, violations)
    if violations:
        raise _invalid(violations)
    assert identifier is not None
    return NewStructure(
        identifier=identifier,
        raison_sociale=raison_sociale,
        libelle=libelle,
        kind=kind,
        address=address,
        email=email,
        vat_number=vat_number,
    )


def _clean(value: str) -> str:
    return " ".join(value.split())


def _too_long(field_name: str, reason: str, limit: int) -> _Violation:
    return _Violation(field_name, reason, f"Ce champ ne doit pas dépasser {limit} caractères.")


def _checked_identifier(draft: StructureDraft, violations: list[_Violation]) -> Identifier | None:
    try:
        return validate_identifier(draft.identifier_type, draft.identifier)
    except IdentifierInvalid as error:
        violations.append(_Violation(error.violations[0].field, error.reason, error.message))
        return None


def _checked_address(address: Address, violations: list[_Violation]) -> Address:
    line1, line2 = _clean(address.line1), _clean(address.line2)
    postal_code, city = _clean(address.postal_code).upper(), _clean(address.city)
    country = address.country.strip().upper()
    for name, value, label in (
        ("line1", line1, "la première ligne d'adresse (numéro et voie)"),
        ("postal_code", postal_code, "le code postal"),
        ("city", city, "la ville"),
        ("country", country, "le pays"),
    ):
        if not value:
            violations.append(
                _Violation(f"address.{name}", "ADDRESS_INCOMPLETE", f"Saisissez {label}.")
            )
    for name, value, limit in (
        ("line1", line1, ADDRESS_LINE_MAX),
        ("line2", line2, ADDRESS_LINE_MAX),
        ("city", city, CITY_MAX),
    ):
        if len(value) > limit:
            violations.append(_too_long(f"address.{name}", "ADDRESS_FIELD_TOO_LONG", limit))
    if country and not _COUNTRY.fullmatch(country):
        violations.append(
            _Violation(
                "address.country",
                "COUNTRY_INVALID",
                "Indiquez le pays par son code ISO à deux lettres (par exemple FR, DE, BE).",
            )
        )
    if postal_code:
        if country == "FR" and not _FRENCH_POSTAL_CODE.fullmatch(postal_code):
            violations.append(
                _Violation(
                    "address.postal_code",
                    "POSTAL_CODE_INVALID",
                    "Un code postal français comporte 5 chiffres.",
                )
            )
        elif len(postal_code) > POSTAL_CODE_MAX or not _POSTAL_CODE.fullmatch(postal_code):
            violations.append(
                _Violation(
                    "address.postal_code",
                    "POSTAL_CODE_INVALID",
                    "Le code postal ne peut contenir que des lettres, des chiffres, des espaces "
                    f"et des tirets ({POSTAL_CODE_MAX} caractères au plus).",
                )
            )
    return Address(line1=line1, line2=line2, postal_code=postal_code, city=city, country=country)


def _checked_vat_number(
    identifier_type: IdentifierType | None, vat_number: str, violations: list[_Violation]
) -> str:
    raw = vat_number.strip()
    if not raw:
        return ""
    if identifier_type in (IdentifierType.SIRET, IdentifierType.UE_HORS_FRANCE):
        try:
            return eu_vat.validate(raw)
        except stdnum_errors.ValidationError:
            violations.append(
                _Violation(
                    "vat_number",
                    "VAT_NUMBER_INVALID",
                    "Le numéro de TVA intracommunautaire n'est pas valide : vérifiez le code du "
                    "pays et les chiffres (par exemple FR40303265045).",
                )
            )
            return ""
    value = _clean(raw).upper()
    if len(value) > 30:
        violations.append(_too_long("vat_number", "VAT_NUMBER_INVALID", 30))
    return value


def require_structure(structure: Structure | None) -> Structure:
    """NotFound STRUCTURE_NOT_FOUND for None."""
    if structure is None:
        raise NotFound("STRUCTURE_NOT_FOUND", "Aucune structure ne correspond à cette demande.")
    return structure


def require_active(structure: Structure) -> Structure:
    """FailedPrecondition STRUCTURE_INACTIVE for an inactive structure."""
    if structure.status is not StructureStatus.ACTIVE:
        raise FailedPrecondition(
            "STRUCTURE_INACTIVE",
            "Cette structure est désactivée : elle n'accepte plus de demandes.",
        )
    return structure


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
    violations: list[_Violation] = []
    updated = current
    if changes.raison_sociale is not None:
        raison_sociale = _clean(changes.raison_sociale)
        if not raison_sociale:
            violations.append(
                _Violation(
                    "raison_sociale", "RAISON_SOCIALE_REQUIRED", "Saisissez la raison sociale."
                )
            )
        elif len(raison_sociale) > NAME_MAX:
            violations.append(_too_long("raison_sociale", "RAISON_SOCIALE_TOO_LONG", NAME_MAX))
        updated = replace(updated, raison_sociale=raison_sociale)
    if changes.libelle is not None:
        libelle = _clean(changes.libelle)
        if len(libelle) > NAME_MAX:
            violations.append(_too_long("libelle", "LIBELLE_TOO_LONG", NAME_MAX))
        updated = replace(updated, libelle=libelle)
    if changes.address is not None:
        updated = replace(updated, address=_checked_address(changes.address, violations))
    if changes.email is not None:
        email = changes.email.strip()
        if email and (len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email)):
            violations.append(
                _Violation(
                    "email",
                    "EMAIL_INVALID",
                    "Saisissez une adresse électronique valide (par exemple contact@exemple.fr).",
                )
            )
        updated = replace(updated, email=email)
    if changes.vat_number is not None:
        vat_number = _checked_vat_number(current.identifier.type, changes.vat_number, violations)
        updated = replace(updated, vat_number=vat_number)
    if violations:
        raise _invalid(violations)
    if changes.status is not None:
        updated = replace(updated, status=changes.status)
    if routing:
        updated = replace(updated, routing=replace(current.routing, **routing))
    return updated


SERVICE_CODE_MAX = 30
_SERVICE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_.-]*")


def validate_new_service(
    code: str, name: str, engagement_required: bool, kind: StructureKind
) -> NewService:
    """A service to add: code (upper-cased, letters, digits, ``_ . -``, 30 at most, the
    reserved FACTURES_PUBLIQUES only on public structures) and name (required, 200 at most)."""
    violations: list[_Violation] = []
    normal_code = "".join(code.split()).upper()
    if not normal_code:
        violations.append(
            _Violation("code", "SERVICE_CODE_REQUIRED", "Saisissez le code du service.")
        )
    elif len(normal_code) > SERVICE_CODE_MAX or not _SERVICE_CODE.fullmatch(normal_code):
        violations.append(
            _Violation(
                "code",
                "SERVICE_CODE_INVALID",
                f"Le code du service comporte au plus {SERVICE_CODE_MAX} caractères : lettres, "
                "chiffres, et _ . - (par exemple SERV-FIN).",
            )
        )
    elif normal_code == RESERVED_PUBLIC_SERVICE_CODE and kind is not StructureKind.PUBLIQUE:
        violations.append(
            _Violation(
                "code",
                "SERVICE_CODE_RESERVED",
                f"Le code {RESERVED_PUBLIC_SERVICE_CODE} est réservé aux structures publiques.",
            )
        )
    clean_name = _checked_service_name(name, violations)
    if violations:
        raise _invalid(violations)
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
        violations: list[_Violation] = []
        clean_name = _checked_service_name(name, violations)
        if violations:
            raise _invalid(violations)
        updated = replace(updated, name=clean_name)
    if active is not None:
        updated = replace(updated, active=active)
    if engagement_required is not None:
        updated = replace(updated, engagement_required=engagement_required)
    return updated


def _checked_service_name(name: str, violations: list[_Violation]) -> str:
    clean_name = _clean(name)
    if not clean_name:
        violations.append(
            _Violation("name", "SERVICE_NAME_REQUIRED", "Saisissez le nom du service.")
        )
    elif len(clean_name) > NAME_MAX:
        violations.append(_too_long("name", "SERVICE_NAME_TOO_LONG", NAME_MAX))
    return clean_name


def _invalid(violations: list[_Violation]) -> InvalidArgument:
    first = violations[0]
    if len(violations) == 1:
        message = first.message
    else:
        message = f"La demande contient {len(violations)} erreurs : " + " ".join(
            v.message for v in violations
        )
    return InvalidArgument(
        first.reason, message, [FieldViolation(v.field, v.message) for v in violations]
    )
