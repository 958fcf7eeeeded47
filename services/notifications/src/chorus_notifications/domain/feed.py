"""The per-user event feed: items, and keyset pagination over (created_at, id), newest first."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from chorus_notifications.domain.errors import PageSizeInvalid, PageTokenInvalid

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class FeedItem:
    id: str
    user_id: str
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None

    @property
    def read(self) -> bool:
        return self.read_at is not None


@dataclass(frozen=True)
class Cursor:
    """Position after the last item of a page: the next page holds strictly older items."""

    created_at: datetime
    item_id: str

    @classmethod
    def after(cls, item: FeedItem) -> Cursor:
        return cls(item.created_at, item.id)

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.item_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The cursor of a page token; PageTokenInvalid when it was not made by encode."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            at, item_id = raw.split("|")
            created_at = datetime.fromisoformat(at)
            uuid.UUID(item_id)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise PageTokenInvalid() from None
        if created_at.tzinfo is None:
            raise PageTokenInvalid()
        return cls(created_at, item_id)


def page_size(requested: int) -> int:
    """0 means the default (20); above 100 is capped at 100; negative is invalid."""
    if requested < 0:
        raise PageSizeInvalid()
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)
