"""Directory search: criteria rules and opaque keyset page tokens.

What a search may return: public structures (kind PUBLIQUE, the directory of recipients)
and the caller's own structures, by name, identifier prefix or plain listing; a private
structure of others only to an exact look-up, the request giving its identifier type and
full identifier (``exact``), as someone who knows the company's SIRET does to ask to join
it. Private structures are not a directory: nobody can list or probe them by prefix.

Without a name, results come in raison sociale order. With a name, each word must be found in
the raison sociale or libellé (case and accents ignored) or look like one of its words
(trigram word similarity at least ``NAME_SIMILARITY_THRESHOLD``: typos, missing letters).
Structures holding every word exactly rank first; the others follow, most similar first.

Two ways of paging. Keyset pages with opaque tokens (the portal and REST API): up to 100 a
page, an exact look-up alone on its page. Pages by number (``page_number``, the Chorus
Pro-compatible API's ``structures/v1/rechercher``): up to 1,000 a page with the total count;
every criterion then combines with the others (an exact identifier with a name, a postal
code...), an identifier type alone filters by type and an identifier alone is an exact
look-up across types. The visibility rule is the same in both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from uuid import UUID

from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_structures.domain.access import Caller
from chorus_structures.domain.details import AddressFilters, checked_address_filters
from chorus_structures.domain.identifiers import Identifier, IdentifierType, validate_identifier
from chorus_structures.domain.paging import NumberedPage, numbered_page
from chorus_structures.domain.structure import Structure, StructureKind, StructureStatus

IDENTIFIER_PREFIX_MIN = 3
# pg_trgm word similarity from which a name counts as a match: 0.5 lets "delises de savoi"
# find "Les Délices de Savoie" while unrelated names stay out.
NAME_SIMILARITY_THRESHOLD = 0.5
# Words of a name search beyond these are ignored (each is one indexed condition).
NAME_WORDS_MAX = 8
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Cursor:
    """Position after the last structure of a page, in (rank, sort key, id) order; the rank
    (a 4-decimal string) only exists for name searches."""

    sort_key: str
    id: UUID
    rank: str = ""


@dataclass(frozen=True)
class SearchCriteria:
    identifier_prefix: str
    name_words: tuple[str, ...]
    kind: StructureKind | None
    page_size: int
    after: Cursor | None = None
    status: StructureStatus | None = None
    # An exact look-up: the one structure with this identifier, private or not.
    exact: Identifier | None = None
    # Address filters (postal code, city, country).
    address: AddressFilters = field(default_factory=AddressFilters)
    # Pages by number (the Chorus Pro search); None: keyset pages with tokens.
    numbered: NumberedPage | None = None
    # Numbered searches only: an identifier type alone filters by type; an identifier alone
    # is an exact look-up across types (compared as stored, spaces ignored, upper-cased).
    identifier_type: IdentifierType | None = None
    identifier_key: str = ""

    @property
    def ranked(self) -> bool:
        """Name searches are ranked (exact words first, then look-alikes)."""
        return bool(self.name_words)

    @property
    def exact_lookup(self) -> bool:
        """The search names one full identifier: it may find a private structure of others."""
        return self.exact is not None or bool(self.identifier_key)

    @property
    def limit(self) -> int:
        """How many structures a page shows."""
        return self.numbered.size if self.numbered else self.page_size

    def name_query(self) -> str:
        return " ".join(self.name_words)

    @property
    def fingerprint(self) -> str:
        """Ties a page token to the criteria it was issued for."""
        exact = [self.exact.type, self.exact.value] if self.exact else []
        address = [self.address.postal_code, self.address.city, self.address.country]
        raw = json.dumps(
            [
                self.identifier_prefix,
                self.name_words,
                self.kind or "",
                self.status or "",
                *exact,
                *([address] if any(address) else []),
            ]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def identifier_pattern(self) -> str | None:
        """LIKE pattern matching identifiers that start with the prefix."""
        if not self.identifier_prefix:
            return None
        return like_escape(self.identifier_prefix) + "%"

    def name_patterns(self) -> list[str]:
        """LIKE patterns, one per word, each to be folded the way the search text is."""
        return ["%" + like_escape(word) + "%" for word in self.name_words]


def search_criteria(
    *,
    identifier_prefix: str,
    name: str,
    kind: StructureKind | None,
    page_size: int,
    page_token: str,
    status: StructureStatus | None = None,
    identifier_type: IdentifierType | None = None,
    identifier: str = "",
    postal_code: str = "",
    city: str = "",
    country: str = "",
    page_number: int = 0,
) -> SearchCriteria:
    """Checked criteria: SEARCH_TOO_SHORT, PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID,
    POSTAL_CODE_INVALID, ADDRESS_FIELD_TOO_LONG (city), COUNTRY_INVALID.

    Keyset pages (``page_number`` 0): ``page_size`` 0 means 20, more than 100 means 100; an
    exact look-up (``identifier_type`` and/or ``identifier`` given) has the identifier rules'
    reasons (IDENTIFIER_TYPE_REQUIRED, IDENTIFIER_REQUIRED, SIRET_FORMAT_INVALID, …) and is
    SEARCH_CRITERIA_CONFLICT with a prefix or a name.

    Numbered pages (``page_number`` ≥ 1, the Chorus Pro search): ``page_size`` 1 to 1000
    (PAGE_SIZE_INVALID), no page token (PAGING_CONFLICT); every criterion combines with the
    others; ``identifier_type`` alone filters by type, ``identifier`` alone is an exact
    look-up across types, both an exact look-up checked by the identifier rules.
    """
    if page_number < 0:
        numbered_page(page_number, page_size)  # raises PAGE_NUMBER_INVALID
    if page_number > 0:
        return _numbered_criteria(
            identifier_prefix=identifier_prefix,
            name=name,
            kind=kind,
            page=numbered_page(page_number, page_size),
            page_token=page_token,
            status=status,
            identifier_type=identifier_type,
            identifier=identifier,
            address=checked_address_filters(postal_code, city, country),
        )
    exact = _exact_identifier(identifier_type, identifier, identifier_prefix, name)
    prefix = _checked_prefix(identifier_prefix)
    if page_size < 0:
        message = "Le nombre de résultats par page doit être positif."
        raise InvalidArgument("PAGE_SIZE_INVALID", message, [FieldViolation("page_size", message)])
    criteria = SearchCriteria(
        identifier_prefix=prefix,
        name_words=_words(name),
        kind=kind,
        status=status,
        page_size=min(page_size or PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX),
        exact=exact,
        address=checked_address_filters(postal_code, city, country),
    )
    if not page_token:
        return criteria
    return replace(criteria, after=decode_page_token(page_token, criteria.fingerprint))


def _numbered_criteria(
    *,
    identifier_prefix: str,
    name: str,
    kind: StructureKind | None,
    page: NumberedPage,
    page_token: str,
    status: StructureStatus | None,
    identifier_type: IdentifierType | None,
    identifier: str,
    address: AddressFilters,
) -> SearchCriteria:
    if page_token:
        message = "Indiquez soit un numéro de page, soit un jeton de page, pas les deux."
        raise InvalidArgument("PAGING_CONFLICT", message, [FieldViolation("page_token", message)])
    exact, type_filter, key = None, identifier_type, ""
    if identifier.strip():
        if identifier_type is not None:
            exact, type_filter = validate_identifier(identifier_type, identifier), None
        else:
            key = _WHITESPACE.sub("", identifier).upper()
    return SearchCriteria(
        identifier_prefix=_checked_prefix(identifier_prefix),
        name_words=_words(name),
        kind=kind,
        status=status,
        page_size=page.size,
        exact=exact,
        address=address,
        numbered=page,
        identifier_type=type_filter,
        identifier_key=key,
    )


def _words(name: str) -> tuple[str, ...]:
    return tuple(name.split()[:NAME_WORDS_MAX])


def _checked_prefix(identifier_prefix: str) -> str:
    prefix = _WHITESPACE.sub("", identifier_prefix).upper()
    if prefix and len(prefix) < IDENTIFIER_PREFIX_MIN:
        message = (
            f"Saisissez au moins {IDENTIFIER_PREFIX_MIN} caractères de l'identifiant "
            "pour lancer la recherche."
        )
        raise InvalidArgument(
            "SEARCH_TOO_SHORT", message, [FieldViolation("identifier_prefix", message)]
        )
    return prefix


def _exact_identifier(
    identifier_type: IdentifierType | None, identifier: str, prefix: str, name: str
) -> Identifier | None:
    if identifier_type is None and not identifier:
        return None
    if prefix.strip() or name.strip():
        message = (
            "Recherchez soit un identifiant exact (type et identifiant complet), soit un nom "
            "ou un début d'identifiant, pas les deux."
        )
        raise InvalidArgument(
            "SEARCH_CRITERIA_CONFLICT", message, [FieldViolation("identifier", message)]
        )
    return validate_identifier(identifier_type, identifier)


def may_find(structure: Structure, caller: Caller, *, member: bool) -> bool:
    """Whether ``caller`` may find ``structure`` by search or by its (guessable) integer id:
    a public structure, anyone; a private one, its members (``member``), and a technical
    account its own structure only (its user's memberships do not count)."""
    if structure.kind is StructureKind.PUBLIQUE:
        return True
    if caller.is_technical:
        return structure.id == caller.technical_structure_id
    return member


def anonymous_view(structure: Structure) -> Structure | None:
    """What a caller without a token may read of ``structure``: a public structure is public
    directory data (the recipients' directory Chorus Pro publishes), answered with its
    services and routing parameters but not its e-mail (a contact for its users, not
    something to hand to whoever asks); a private structure, nothing (None: answered exactly
    as an unknown one)."""
    if structure.kind is not StructureKind.PUBLIQUE:
        return None
    return replace(structure, email="")


def like_escape(text: str) -> str:
    """``text`` matched literally by LIKE (backslash is PostgreSQL's default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def encode_page_token(criteria: SearchCriteria, cursor: Cursor) -> str:
    payload = {
        "f": criteria.fingerprint,
        "k": cursor.sort_key,
        "i": str(cursor.id),
        "r": cursor.rank,
    }
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, fingerprint: str) -> Cursor:
    """The cursor of a token issued for the same criteria; PAGE_TOKEN_INVALID otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        if payload["f"] != fingerprint:
            raise ValueError("criteria changed")
        return Cursor(
            sort_key=str(payload["k"]), id=UUID(payload["i"]), rank=str(payload.get("r", ""))
        )
    except (binascii.Error, ValueError, KeyError, TypeError):
        message = (
            "Ce jeton de page n'est pas valide pour cette recherche : "
            "relancez la recherche depuis la première page."
        )
        raise InvalidArgument(
            "PAGE_TOKEN_INVALID", message, [FieldViolation("page_token", message)]
        ) from None
