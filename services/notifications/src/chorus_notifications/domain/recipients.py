"""Recipients: the local copy of what notifications needs to know about a user."""

from __future__ import annotations

from dataclasses import dataclass

SUPPORTED_LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"


def normalise_locale(value: str | None) -> str:
    """``"en-GB"`` → ``"en"``; empty or unsupported → French."""
    language = (value or "").strip().lower().replace("_", "-").split("-")[0]
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


@dataclass(frozen=True)
class Recipient:
    user_id: str
    contact_email: str
    first_name: str
    last_name: str
    locale: str = DEFAULT_LOCALE
