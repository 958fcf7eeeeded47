"""Keyset pages of time-ordered lists (newest first): page sizes and opaque page tokens.

A token holds the (time, id) of the last item shown and a fingerprint of what was listed
(structure, filters), so it cannot be replayed on another list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from chorus_platform.errors import FieldViolation, InvalidArgument

PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100


@dataclass(frozen=True)
class Position:
    """After this (time, id) in newest-first order."""

    at: datetime
    id: UUID


@dataclass(frozen=True)
class Page:
    size: int
    after: Position | None
    scope: str

    def next_token(self, last: Position) -> str:
        payload = {"s": self.scope, "t": last.at.isoformat(), "i": str(last.id)}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def scope_of(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()[:16]


def page_request(page_size: int, page_token: str, *scope: object) -> Page:
    """A checked page request: PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID."""
    if page_size < 0:
        message = "Le nombre de résultats par page doit être positif."
        raise InvalidArgument("PAGE_SIZE_INVALID", message, [FieldViolation("page_size", message)])
    size = min(page_size or PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    fingerprint = scope_of(*scope)
    if not page_token:
        return Page(size, None, fingerprint)
    try:
        raw = base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4))
        payload = json.loads(raw)
        if payload["s"] != fingerprint:
            raise ValueError("another list")
        after = Position(datetime.fromisoformat(payload["t"]), UUID(payload["i"]))
    except (binascii.Error, ValueError, KeyError, TypeError):
        message = (
            "Ce jeton de page n'est pas valide pour cette liste : reprenez depuis la première page."
        )
        raise InvalidArgument(
            "PAGE_TOKEN_INVALID", message, [FieldViolation("page_token", message)]
        ) from None
    return Page(size, after, fingerprint)


# Pages by number (the Chorus Pro-compatible API): page sizes up to this many items.
NUMBERED_PAGE_SIZE_MAX = 1000


@dataclass(frozen=True)
class NumberedPage:
    """Page ``number`` (1-based) of ``size`` items."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def numbered_page(page_number: int, page_size: int) -> NumberedPage:
    """A checked page by number: ``page_number`` 0 is the first page, a negative one is
    PAGE_NUMBER_INVALID; ``page_size`` must be 1 to 1000 (PAGE_SIZE_INVALID): there is no
    default, so that a client never gets fewer results than it believes it asked for."""
    if page_number < 0:
        message = "Le numéro de page commence à 1."
        raise InvalidArgument(
            "PAGE_NUMBER_INVALID", message, [FieldViolation("page_number", message)]
        )
    if not 1 <= page_size <= NUMBERED_PAGE_SIZE_MAX:
        message = (
            f"Le nombre de résultats par page doit être compris entre 1 et "
            f"{NUMBERED_PAGE_SIZE_MAX}."
        )
        raise InvalidArgument("PAGE_SIZE_INVALID", message, [FieldViolation("page_size", message)])
    return NumberedPage(number=max(page_number, 1), size=page_size)
