"""The rules of a structure's details: names, postal address, e-mail, VAT number.

Creation and changes apply the same rules. Each check appends what is wrong to a list of
violations rather than raising, so one answer lists every bad field; :func:`invalid` turns
the list into that answer (its reason is the first violation's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chorus_platform.errors import FieldViolation, InvalidArgument
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat

from chorus_structures.domain.identifiers import IdentifierType
from chorus_structures.domain.structure import Address

NAME_MAX = 200
ADDRESS_LINE_MAX = 200
CITY_MAX = 100
POSTAL_CODE_MAX = 20
EMAIL_MAX = 254
VAT_NUMBER_MAX = 30

_COUNTRY = re.compile(r"[A-Z]{2}")
_FRENCH_POSTAL_CODE = re.compile(r"[0-9]{5}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_POSTAL_CODE = re.compile(r"[A-Z0-9][A-Z0-9 -]*")


@dataclass(frozen=True)
class Violation:
    field: str
    reason: str
    message: str


def clean(value: str) -> str:
    """``value`` with runs of white space made single spaces, and trimmed."""
    return " ".join(value.split())


def too_long(field_name: str, reason: str, limit: int) -> Violation:
    return Violation(field_name, reason, f"Ce champ ne doit pas dépasser {limit} caractères.")


def checked_raison_sociale(value: str, violations: list[Violation]) -> str:
    raison_sociale = clean(value)
    if not raison_sociale:
        violations.append(
            Violation("raison_sociale", "RAISON_SOCIALE_REQUIRED", "Saisissez la raison sociale.")
        )
    elif len(raison_sociale) > NAME_MAX:
        violations.append(too_long("raison_sociale", "RAISON_SOCIALE_TOO_LONG", NAME_MAX))
    return raison_sociale


def checked_libelle(value: str, violations: list[Violation]) -> str:
    libelle = clean(value)
    if len(libelle) > NAME_MAX:
        violations.append(too_long("libelle", "LIBELLE_TOO_LONG", NAME_MAX))
    return libelle


def checked_email(value: str, violations: list[Violation]) -> str:
    email = value.strip()
    if email and (len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email)):
        violations.append(
            Violation(
                "email",
                "EMAIL_INVALID",
                "Saisissez une adresse électronique valide (par exemple contact@exemple.fr).",
            )
        )
    return email


def checked_address(address: Address, violations: list[Violation]) -> Address:
    line1, line2 = clean(address.line1), clean(address.line2)
    postal_code, city = clean(address.postal_code).upper(), clean(address.city)
    country = address.country.strip().upper()
    for name, value, label in (
        ("line1", line1, "la première ligne d'adresse (numéro et voie)"),
        ("postal_code", postal_code, "le code postal"),
        ("city", city, "la ville"),
        ("country", country, "le pays"),
    ):
        if not value:
            violations.append(
                Violation(f"address.{name}", "ADDRESS_INCOMPLETE", f"Saisissez {label}.")
            )
    for name, value, limit in (
        ("line1", line1, ADDRESS_LINE_MAX),
        ("line2", line2, ADDRESS_LINE_MAX),
        ("city", city, CITY_MAX),
    ):
        if len(value) > limit:
            violations.append(too_long(f"address.{name}", "ADDRESS_FIELD_TOO_LONG", limit))
    if country and not _COUNTRY.fullmatch(country):
        violations.append(
            Violation(
                "address.country",
                "COUNTRY_INVALID",
                "Indiquez le pays par son code ISO à deux lettres (par exemple FR, DE, BE).",
            )
        )
    if postal_code:
        if country == "FR" and not _FRENCH_POSTAL_CODE.fullmatch(postal_code):
            violations.append(
                Violation(
                    "address.postal_code",
                    "POSTAL_CODE_INVALID",
                    "Un code postal français comporte 5 chiffres.",
                )
            )
        elif len(postal_code) > POSTAL_CODE_MAX or not _POSTAL_CODE.fullmatch(postal_code):
            violations.append(
                Violation(
                    "address.postal_code",
                    "POSTAL_CODE_INVALID",
                    "Le code postal ne peut contenir que des lettres, des chiffres, des espaces "
                    f"et des tirets ({POSTAL_CODE_MAX} caractères au plus).",
                )
            )
    return Address(line1=line1, line2=line2, postal_code=postal_code, city=city, country=country)


@dataclass(frozen=True)
class AddressFilters:
    """Address criteria of a search, in the form addresses are stored in: postal code
    (upper-cased, single spaces), city (compared case- and accent-insensitively), country
    (ISO code). Empty: no filter."""

    postal_code: str = ""
    city: str = ""
    country: str = ""


def checked_address_filters(postal_code: str, city: str, country: str) -> AddressFilters:
    """Search criteria on the address, checked like an address's fields: POSTAL_CODE_INVALID,
    ADDRESS_FIELD_TOO_LONG (city), COUNTRY_INVALID; every bad one listed."""
    violations: list[Violation] = []
    code, town, iso = clean(postal_code).upper(), clean(city), country.strip().upper()
    if code and (len(code) > POSTAL_CODE_MAX or not _POSTAL_CODE.fullmatch(code)):
        violations.append(
            Violation(
                "postal_code",
                "POSTAL_CODE_INVALID",
                "Le code postal ne peut contenir que des lettres, des chiffres, des espaces "
                f"et des tirets ({POSTAL_CODE_MAX} caractères au plus).",
            )
        )
    if len(town) > CITY_MAX:
        violations.append(too_long("city", "ADDRESS_FIELD_TOO_LONG", CITY_MAX))
    if iso and not _COUNTRY.fullmatch(iso):
        violations.append(
            Violation(
                "country",
                "COUNTRY_INVALID",
                "Indiquez le pays par son code ISO à deux lettres (par exemple FR, DE, BE).",
            )
        )
    if violations:
        raise invalid(violations)
    return AddressFilters(postal_code=code, city=town, country=iso)


def checked_vat_number(
    identifier_type: IdentifierType | None, vat_number: str, violations: list[Violation]
) -> str:
    """An EU VAT number (checked, normalised) for SIRET and EU identifiers; otherwise any
    text up to 30 characters, upper-cased."""
    raw = vat_number.strip()
    if not raw:
        return ""
    if identifier_type in (IdentifierType.SIRET, IdentifierType.UE_HORS_FRANCE):
        try:
            return eu_vat.validate(raw)
        except stdnum_errors.ValidationError:
            violations.append(
                Violation(
                    "vat_number",
                    "VAT_NUMBER_INVALID",
                    "Le numéro de TVA intracommunautaire n'est pas valide : vérifiez le code du "
                    "pays et les chiffres (par exemple FR40303265045).",
                )
            )
            return ""
    value = clean(raw).upper()
    if len(value) > VAT_NUMBER_MAX:
        violations.append(too_long("vat_number", "VAT_NUMBER_INVALID", VAT_NUMBER_MAX))
    return value


def invalid(violations: list[Violation]) -> InvalidArgument:
    """One InvalidArgument for every violation, with the first one's reason."""
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
