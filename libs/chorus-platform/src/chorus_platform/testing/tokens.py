"""Signs access tokens the way identity does, for service-level tests without identity.

End-to-end tests always use the real identity service; this is for one service's own
integration tests, where a verifier needs keys and a caller needs a token.
"""

from __future__ import annotations

import base64
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from chorus_platform.auth import AUDIENCE, ISSUER, TokenVerifier
from chorus_platform.revocation import RevocationList


class TestSigner:
    """An Ed25519 key pair issuing tokens and serving its public key to a TokenVerifier."""

    __test__ = False  # not a pytest test class

    def __init__(self, kid: str = "test-key") -> None:
        self.kid = kid
        self._key = Ed25519PrivateKey.generate()

    def token(self, user_id: str | None = None, *, ttl: int = 900, **claims: object) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id or str(uuid.uuid4()),
            "sid": str(uuid.uuid4()),
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + ttl,
            **claims,
        }
        return jwt.encode(payload, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    def metadata(self, user_id: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(user_id)}"),)

    @property
    def public_x(self) -> str:
        raw = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    async def fetch_keys(self) -> dict[str, Ed25519PublicKey]:
        return {self.kid: self._key.public_key()}

    def verifier(
        self, revoked: RevocationList | None = None, *, audience: str = AUDIENCE
    ) -> TokenVerifier:
        """A verifier of this signer's tokens (refusing the sessions ``revoked`` lists)."""
        return TokenVerifier(self.fetch_keys, revoked=revoked, audience=audience)
