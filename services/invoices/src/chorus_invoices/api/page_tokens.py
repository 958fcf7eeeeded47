"""Opaque page tokens for keyset pagination on (created_at, id)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from chorus_invoices.domain.errors import invalid


def encode(cursor: tuple[datetime, str] | None) -> str:
    """The token of the page after ``cursor``; "" when there is none."""
    if cursor is None:
        return ""
    at, invoice_id = cursor
    raw = json.dumps({"at": at.isoformat(), "id": invoice_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str) -> tuple[datetime, str] | None:
    """The cursor inside ``token`` (None for ""); InvalidArgument PAGE_TOKEN_INVALID."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        at = datetime.fromisoformat(data["at"])
        invoice_id = str(uuid.UUID(data["id"]))
        if at.tzinfo is None:
            raise ValueError("naive time")
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise invalid(
            "PAGE_TOKEN_INVALID",
            "page_token",
            "Jeton de page invalide : recommencez la liste depuis la première page.",
        ) from None
    return at, invoice_id
