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
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, replace
from uuid import UUID

from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_structures.domain.access import Caller
from chorus_structures.domain.identifiers import Identifier, IdentifierType, validate_identifier
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

    @property
    def ranked(self) -> bool:
        """Name searches are ranked (exact words first, then look-alikes)."""
        return bool(self.name_words)

    def name_query(self) -> str:
        return " ".join(self.name_words)

    @property
    def fingerprint(self) -> str:
        """Ties a page token to the criteria it was issued for."""
        exact = [self.exact.type, self.exact.value] if self.exact else []
        raw = json.dumps(
            [self.identifier_prefix, self.name_words, self.kind or "", self.status or "", *exact]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def admits(self, structure: Structure) -> bool:
        """Whether ``structure`` passes the kind and status filters (exact look-ups)."""
        return (self.kind is None or structure.kind is self.kind) and (
            self.status is None or structure.status is self.status
        )

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
) -> SearchCriteria:
    """Checked criteria: SEARCH_TOO_SHORT, PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID; for an
    exact look-up (``identifier_type`` and/or ``identifier`` given) the identifier rules'
    reasons (IDENTIFIER_TYPE_REQUIRED, IDENTIFIER_REQUIRED, SIRET_FORMAT_INVALID, …) and
    SEARCH_CRITERIA_CONFLICT with a prefix or a name."""
    exact = _exact_identifier(identifier_type, identifier, identifier_prefix, name)
    prefix = _WHITESPACE.sub("", identifier_prefix).upper()
    if prefix and len(prefix) < IDENTIFIER_PREFIX_MIN:
        message = (
            f"Saisissez au moins {IDENTIFIER_PREFIX_MIN} caractères de l'identifiant "
            "pour lancer la recherche."
        )
        raise InvalidArgument(
            "SEARCH_TOO_SHORT", message, [FieldViolation("identifier_prefix", message)]
        )
    if page_size < 0:
        message = "Le nombre de résultats par page doit être positif."
        raise InvalidArgument("PAGE_SIZE_INVALID", message, [FieldViolation("page_size", message)])
    criteria = SearchCriteria(
        identifier_prefix=prefix,
        name_words=tuple(name.split()[:NAME_WORDS_MAX]),
        kind=kind,
        status=status,
        page_size=min(page_size or PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX),
        exact=exact,
    )
    if not page_token:
        return criteria
    return replace(criteria, after=decode_page_token(page_token, criteria.fingerprint))


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
