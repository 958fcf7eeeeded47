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

CPRO_CLIENT_AUDIENCE = "chorus-cpro"
"""The ``aud`` claim of the tokens identity issues to API applications (OAuth2 client
credentials at ``/api/oauth/token``): only the Chorus Pro-compatible API accepts them; the
services, which verify :data:`AUDIENCE`, refuse them."""

TECHNICAL_STRUCTURE_CLAIM = "tst"
"""Claim of a technical account's access token: the one structure it acts for."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of the current request."""

    user_id: str
    session_id: str
    token: str
    technical_structure_id: str = ""
    """Set for a technical account (Chorus Pro API): the only structure it acts for, in
    modification mode on that structure's open spaces, without manager rights."""

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC metadata forwarding this caller's token to another service."""
        return (("authorization", f"Bearer {self.token}"),)


def decode_public_key(x: str) -> Ed25519PublicKey:
    """An Ed25519 key from its base64url JWK ``x`` value."""
    raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)
