"""The public-recipient directory file: its columns and the rules one row must follow.

A directory is a UTF-8 CSV file (comma-separated, RFC 4180 quoting, one header line), one
public structure per row::

    siret,raison_sociale,libelle,address_line1,address_line2,postal_code,city,country,email,
    service_code_required,engagement_required,service_or_engagement_required,
    payment_status_not_reported,active,services

Booleans are ``true``/``false`` (also ``1``/``0``, ``oui``/``non``; empty is false, except
``active`` which is true when empty). ``services`` is a JSON array of
``{"code", "name", "engagement_required"?, "active"?}`` (empty: no services).
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

from stdnum import exceptions as stdnum_errors
from stdnum.fr import siret as stdnum_siret

COLUMNS = (
    "siret",
    "raison_sociale",
    "libelle",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "country",
    "email",
    "service_code_required",
    "engagement_required",
    "service_or_engagement_required",
    "payment_status_not_reported",
    "active",
    "services",
)
REQUIRED_COLUMNS = ("siret", "raison_sociale", "address_line1", "postal_code", "city")

_FLAGS = {
    **dict.fromkeys(("true", "1", "oui", "yes", "vrai"), True),
    **dict.fromkeys(("false", "0", "non", "no", "faux"), False),
}
_SERVICE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_.-]{0,29}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_TEXT_MAX = 200


class RowInvalid(ValueError):
    """A directory row breaking a rule; the message says which and why (French)."""


# NamedTuples rather than frozen dataclasses: a directory makes hundreds of thousands of them.
class DirectoryService(NamedTuple):
    code: str
    name: str
    engagement_required: bool = False
    active: bool = True


class DirectoryRow(NamedTuple):
    siret: str
    raison_sociale: str
    libelle: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    country: str
    email: str
    service_code_required: bool
    engagement_required: bool
    service_or_engagement_required: bool
    payment_status_not_reported: bool
    active: bool
    services: tuple[DirectoryService, ...]


def check_header(header: list[str] | None) -> None:
    """RowInvalid unless the header names every required column (others may be missing,
    unknown ones are refused so a typo does not silently drop data)."""
    if not header:
        raise RowInvalid("le fichier est vide : la première ligne doit nommer les colonnes")
    names = [name.strip() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    unknown = [name for name in names if name not in COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append("colonnes manquantes : " + ", ".join(missing))
        if unknown:
            problems.append("colonnes inconnues : " + ", ".join(unknown))
        raise RowInvalid("en-tête invalide (" + " ; ".join(problems) + ")")


def _text(row: dict[str, str], name: str, required: bool = False) -> str:
    value = row.get(name) or ""
    if not value.isprintable() or "  " in value or value != value.strip():
        value = " ".join(value.split())
    if required and not value:
        raise RowInvalid(f"{name} est obligatoire")
    if len(value) > _TEXT_MAX:
        raise RowInvalid(f"{name} dépasse {_TEXT_MAX} caractères")
    return value


def _flag(row: dict[str, str], name: str, default: bool = False) -> bool:
    raw = row.get(name)
    if not raw:
        return default
    value = _FLAGS.get(raw) if raw in _FLAGS else _FLAGS.get(raw.strip().lower())
    if value is None:
        if not raw.strip():
            return default
        raise RowInvalid(f"{name} doit valoir true ou false (lu : {raw!r})")
    return value


def _services(raw: str) -> tuple[DirectoryService, ...]:
    if not raw.strip():
        return ()
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError:
        raise RowInvalid("services n'est pas un tableau JSON valide") from None
    if not isinstance(entries, list):
        raise RowInvalid("services doit être un tableau JSON")
    found: dict[str, DirectoryService] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise RowInvalid("chaque service est un objet {code, name}")
        code = str(entry.get("code", "")).strip().upper()
        name = str(entry.get("name", "")).strip()
        if "  " in name or not name.isprintable():
            name = " ".join(name.split())
        if not _SERVICE_CODE.fullmatch(code):
            raise RowInvalid(f"code de service invalide : {code!r}")
        if not name or len(name) > _TEXT_MAX:
            raise RowInvalid(f"nom du service {code} absent ou trop long")
        if code in found:
            raise RowInvalid(f"service {code} en double")
        found[code] = DirectoryService(
            code=code,
            name=name,
            engagement_required=bool(entry.get("engagement_required", False)),
            active=bool(entry.get("active", True)),
        )
    return tuple(found.values())


# Luhn: every second digit from the right is doubled, its digits added (2×7 = 14 → 5).
_DOUBLED = str.maketrans("0123456789", "0246813579")


def _luhn_valid(number: str) -> bool:
    digits = (number[-1::-2] + number[-2::-2].translate(_DOUBLED)).encode()
    return (sum(digits) - 48 * len(digits)) % 10 == 0


def _siret(raw: str) -> str:
    number = "".join(raw.split())
    # A directory holds hundreds of thousands of rows: the common case (both Luhn keys right)
    # is checked here, stdnum decides the others (La Poste's establishments are numbered
    # outside the Luhn rule).
    if (
        len(number) == 14
        and number.isascii()
        and number.isdigit()
        and _luhn_valid(number[:9])
        and _luhn_valid(number)
    ):
        return number
    try:
        return stdnum_siret.validate(number)
    except stdnum_errors.ValidationError:
        raise RowInvalid(f"SIRET invalide : {number!r}") from None


def parse_row(row: dict[str, str]) -> DirectoryRow:
    """One CSV row (column name → text) checked and normalised; RowInvalid otherwise."""
    siret = _siret(row.get("siret") or "")
    country = _text(row, "country").upper() or "FR"
    if not _COUNTRY.fullmatch(country):
        raise RowInvalid(f"pays invalide : {country!r} (code ISO à deux lettres)")
    return DirectoryRow(
        siret=siret,
        raison_sociale=_text(row, "raison_sociale", required=True),
        libelle=_text(row, "libelle"),
        address_line1=_text(row, "address_line1", required=True),
        address_line2=_text(row, "address_line2"),
        postal_code=_text(row, "postal_code", required=True).upper(),
        city=_text(row, "city", required=True),
        country=country,
        email=_text(row, "email"),
        service_code_required=_flag(row, "service_code_required"),
        engagement_required=_flag(row, "engagement_required"),
        service_or_engagement_required=_flag(row, "service_or_engagement_required"),
        payment_status_not_reported=_flag(row, "payment_status_not_reported"),
        active=_flag(row, "active", default=True),
        services=_services(row.get("services") or ""),
    )
