"""Structures (legal entities), their services and routing parameters; the creation rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from chorus_platform.errors import FieldViolation, InvalidArgument, PermissionDenied
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


@dataclass(frozen=True)
class StructureService:
    id: UUID
    code: str
    name: str
    active: bool = True
    engagement_required: bool = False


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
    vat_number = _checked_vat_number(draft, violations)
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


def _checked_vat_number(draft: StructureDraft, violations: list[_Violation]) -> str:
    raw = draft.vat_number.strip()
    if not raw:
        return ""
    if draft.identifier_type in (IdentifierType.SIRET, IdentifierType.UE_HORS_FRANCE):
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
