"""Secrets that reach notifications sealed (the tokens of e-mailed links).

An e-mail needing one is rendered with :data:`PLACEHOLDER` where the secret goes and stored
with the sealed secret; the sender opens it only when sending (:func:`reveal`), so no plain
token ever lies in the ``emails`` table.
"""

from __future__ import annotations

from dataclasses import dataclass

PLACEHOLDER = "CHORUS-SEALED-SECRET"
"""Stands for the secret in stored bodies; URL- and HTML-safe, never a real token (tokens are
43 characters of base64url)."""


@dataclass(frozen=True)
class SealedSecret:
    """A sealed box and the context it was sealed with (see ``chorus_platform.sealing``)."""

    sealed: bytes
    context: bytes

    def __repr__(self) -> str:
        return f"SealedSecret({len(self.sealed)} bytes)"


def event_context(event_name: str, user_id: str) -> bytes:
    """The sealing context identity uses for a link event: ``<full event name>/<user id>``."""
    return f"{event_name}/{user_id}".encode()


def reveal(body: str, secret: str) -> str:
    """``body`` with the placeholder replaced by the opened secret."""
    return body.replace(PLACEHOLDER, secret)
