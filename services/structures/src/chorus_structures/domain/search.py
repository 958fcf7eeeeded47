"""Directory search: criteria rules and opaque keyset page tokens."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from uuid import UUID

from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_structures.domain.structure import StructureKind

IDENTIFIER_PREFIX_MIN = 3
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Cursor:
    """Position after the last structure of a page, in (sort key, id) order."""

    sort_key: str
    id: UUID


@dataclass(frozen=True)
class SearchCriteria:
    identifier_prefix: str
    name_words: tuple[str, ...]
    kind: StructureKind | None
    page_size: int
    after: Cursor | None = None

    @property
    def fingerprint(self) -> str:
        """Ties a page token to the criteria it was issued for."""
        raw = json.dumps([self.identifier_prefix, self.name_words, self.kind or ""])
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
) -> SearchCriteria:
    """Checked criteria: SEARCH_TOO_SHORT, PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID."""
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
        name_words=tuple(name.split()),
        kind=kind,
        page_size=min(page_size or PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX),
    )
    if not page_token:
        return criteria
    return SearchCriteria(
        identifier_prefix=criteria.identifier_prefix,
        name_words=criteria.name_words,
        kind=criteria.kind,
        page_size=criteria.page_size,
        after=decode_page_token(page_token, criteria.fingerprint),
    )


def like_escape(text: str) -> str:
    """``text`` matched literally by LIKE (backslash is PostgreSQL's default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def encode_page_token(criteria: SearchCriteria, cursor: Cursor) -> str:
    payload = {"f": criteria.fingerprint, "k": cursor.sort_key, "i": str(cursor.id)}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, fingerprint: str) -> Cursor:
    """The cursor of a token issued for the same criteria; PAGE_TOKEN_INVALID otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        if payload["f"] != fingerprint:
            raise ValueError("criteria changed")
        return Cursor(sort_key=str(payload["k"]), id=UUID(payload["i"]))
    except (binascii.Error, ValueError, KeyError, TypeError):
        message = (
            "Ce jeton de page n'est pas valide pour cette recherche : "
            "relancez la recherche depuis la première page."
        )
        raise InvalidArgument(
            "PAGE_TOKEN_INVALID", message, [FieldViolation("page_token", message)]
        ) from None
