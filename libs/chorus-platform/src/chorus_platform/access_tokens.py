"""The access-token contract every service shares, free of any transport.

identity's domain signs tokens with these claims and :mod:`chorus_platform.auth` verifies
them on every RPC; a verified token becomes a :class:`Principal`, which use cases receive.
Nothing here imports gRPC, so pure domains and use cases can use it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ISSUER = "chorus-identity"
"""The ``iss`` claim of every access token."""

AUDIENCE = "chorus"
"""The ``aud`` claim of every access token."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of the current request."""

    user_id: str
    session_id: str
    token: str

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata forwarding this caller's token to another service."""
        return (("authorization", f"Bearer {self.token}"),)


def decode_public_key(x: str) -> Ed25519PublicKey:
    """An Ed25519 key from its base64url JWK ``x`` value."""
    raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)
