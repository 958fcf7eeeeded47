"""Structure identifiers: one validation rule per identifier type, and their normal form.

A structure is known by (identifier type, identifier). Each type has its own format; a bad
identifier is refused with a stable reason and a French message saying what to fix, as a
field violation on ``identifier``. Identifiers are stored in their normal form (no spaces,
upper case where letters are case-insensitive) so that lookups and uniqueness do not depend on
how the user typed them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from chorus_platform.errors import FieldViolation, InvalidArgument
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.fr import siret

FIELD = "identifier"

_SIRET = re.compile(r"[0-9]{14}")
_RIDET = re.compile(r"[0-9]{9,10}")
_TAHITI = re.compile(r"[A-Z0-9]{9}")
_HORS_UE = re.compile(r"[A-Z0-9][A-Z0-9./-]{1,16}[A-Z0-9]")
_WHITESPACE = re.compile(r"\s+")
FREE_IDENTIFIER_MAX = 80


class IdentifierType(StrEnum):
    SIRET = "SIRET"
    UE_HORS_FRANCE = "UE_HORS_FRANCE"
    HORS_UE = "HORS_UE"
    RIDET = "RIDET"
    TAHITI = "TAHITI"
    PARTICULIER = "PARTICULIER"
    AUTRE = "AUTRE"


@dataclass(frozen=True)
class Identifier:
    """A valid identifier in normal form."""

    type: IdentifierType
    value: str


class IdentifierInvalid(InvalidArgument):
    """An identifier that breaks its type's rule (always a violation on ``identifier``)."""

    def __init__(self, reason: str, message: str, field: str = FIELD) -> None:
        super().__init__(reason, message, [FieldViolation(field, message)])


def validate_identifier(
    identifier_type: IdentifierType | None, raw: str, *, creating: bool = False
) -> Identifier:
    """The identifier in normal form; :class:`IdentifierInvalid` when it breaks its type's rule.

    ``creating``: the identifier of a new structure, which must also not be a SIRET or SIREN
    under a free type (AUTRE, PARTICULIER: IDENTIFIER_SIRENE_SHAPED). Look-ups accept them, so
    that structures registered so before the rule can still be found."""
    if identifier_type is None:
        raise IdentifierInvalid(
            "IDENTIFIER_TYPE_REQUIRED",
            "Choisissez le type d'identifiant de la structure (SIRET, TVA intracommunautaire, "
            "hors UE, RIDET, TAHITI, particulier ou autre).",
            field="identifier_type",
        )
    if not raw or not raw.strip():
        raise IdentifierInvalid("IDENTIFIER_REQUIRED", "Saisissez l'identifiant de la structure.")
    value = (_CREATION_RULES if creating else _RULES)[identifier_type](raw)
    return Identifier(identifier_type, value)


def _without_spaces(raw: str) -> str:
    return _WHITESPACE.sub("", raw)


def _siret(raw: str) -> str:
    number = _without_spaces(raw)
    if not _SIRET.fullmatch(number):
        raise IdentifierInvalid(
            "SIRET_FORMAT_INVALID",
            "Le SIRET doit comporter exactement 14 chiffres (les espaces sont ignorés).",
        )
    try:
        # stdnum knows La Poste's establishments, numbered outside the Luhn rule.
        return siret.validate(number)
    except stdnum_errors.ValidationError:
        raise IdentifierInvalid(
            "SIRET_CHECKSUM_INVALID",
            "Ce SIRET n'existe pas : sa clé de contrôle est incorrecte. "
            "Vérifiez les 14 chiffres saisis.",
        ) from None


def _eu_vat(raw: str) -> str:
    try:
        number = eu_vat.validate(raw)
    except stdnum_errors.ValidationError:
        raise IdentifierInvalid(
            "EU_VAT_INVALID",
            "Saisissez un numéro de TVA intracommunautaire valide, précédé du code du pays "
            "(par exemple DE136695976).",
        ) from None
    if number.startswith("FR"):
        raise IdentifierInvalid(
            "EU_VAT_FRENCH_NUMBER",
            "Ce numéro de TVA est français : une structure établie en France s'identifie "
            "par son SIRET. Choisissez le type d'identifiant SIRET.",
        )
    return number


def _hors_ue(raw: str) -> str:
    number = _without_spaces(raw).upper()
    if not _HORS_UE.fullmatch(number):
        raise IdentifierInvalid(
            "IDENTIFIER_FORMAT_INVALID",
            "L'identifiant d'une structure hors Union européenne doit comporter de 3 à 18 "
            "caractères : lettres, chiffres, et éventuellement . / - entre eux.",
        )
    return number


def _ridet(raw: str) -> str:
    number = _without_spaces(raw).replace(".", "")
    if not _RIDET.fullmatch(number):
        raise IdentifierInvalid(
            "RIDET_FORMAT_INVALID",
            "Le RIDET doit comporter 9 ou 10 chiffres (numéro d'entreprise suivi du numéro "
            "d'établissement).",
        )
    return number


def _tahiti(raw: str) -> str:
    number = _without_spaces(raw).upper()
    if not _TAHITI.fullmatch(number):
        raise IdentifierInvalid(
            "TAHITI_FORMAT_INVALID",
            "Le numéro TAHITI doit comporter 9 caractères (lettres ou chiffres) : "
            "le numéro d'entreprise suivi du numéro d'établissement.",
        )
    return number


# Separators a user types inside a SIRET or SIREN ("552 100 554 00013", "552.100.554").
_SIRENE_SEPARATORS = re.compile(r"[\s./-]+")
_SIRET_OR_SIREN = re.compile(r"[0-9]{14}|[0-9]{9}")


def sirene_shaped(raw: str) -> bool:
    """Whether ``raw`` looks like a SIRET (14 digits) or a SIREN (9 digits), spaces, dots and
    dashes ignored."""
    return bool(_SIRET_OR_SIREN.fullmatch(_SIRENE_SEPARATORS.sub("", raw)))


def _free_not_sirene(raw: str) -> str:
    """AUTRE and PARTICULIER: free text, but never a SIRET or a SIREN.

    A structure established in France is known by its SIRET; the same digits under a free
    type would be a second structure with the real company's number and name (an impostor
    that join requests could reach). A natural person has no SIRET or SIREN of their own
    either: one who has one acts as a business and uses the SIRET type.
    """
    if sirene_shaped(raw):
        raise IdentifierInvalid(
            "IDENTIFIER_SIRENE_SHAPED",
            "Cet identifiant a la forme d'un SIRET ou d'un SIREN : une structure établie en "
            "France s'identifie par son SIRET. Choisissez le type d'identifiant SIRET et "
            "saisissez les 14 chiffres du SIRET.",
        )
    return _free(raw)


def _free(raw: str) -> str:
    value = " ".join(raw.split())
    if len(value) > FREE_IDENTIFIER_MAX:
        raise IdentifierInvalid(
            "IDENTIFIER_TOO_LONG",
            f"L'identifiant ne doit pas dépasser {FREE_IDENTIFIER_MAX} caractères.",
        )
    return value


_RULES = {
    IdentifierType.SIRET: _siret,
    IdentifierType.UE_HORS_FRANCE: _eu_vat,
    IdentifierType.HORS_UE: _hors_ue,
    IdentifierType.RIDET: _ridet,
    IdentifierType.TAHITI: _tahiti,
    IdentifierType.PARTICULIER: _free,
    IdentifierType.AUTRE: _free,
}
# Stricter rules for a new structure than for looking one up: structures registered before
# a rule existed stay reachable under the identifier they were registered with.
_CREATION_RULES = {
    **_RULES,
    IdentifierType.PARTICULIER: _free_not_sirene,
    IdentifierType.AUTRE: _free_not_sirene,
}
