"""Ed25519 keys signing access tokens, and the window during which each one verifies.

A key signs from its creation until it is retired (by rotation); its public part keeps
verifying until every token it signed has expired: ``retired_at + access token lifetime``.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class NewSigningKey:
    kid: str
    private_key_pem: str
    public_x: str


@dataclass(frozen=True)
class VerificationKey:
    """The public half of a key whose tokens may still be valid."""

    kid: str
    public_x: str
    created_at: datetime
    retired_at: datetime | None

    def not_after(self, access_token_ttl: timedelta) -> datetime | None:
        """When the last token this key signed expires; None while it still signs."""
        return None if self.retired_at is None else self.retired_at + access_token_ttl


def public_x(key: Ed25519PrivateKey) -> str:
    """The JWK ``x`` value: base64url (unpadded) raw 32-byte public key."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def generate_signing_key(now: datetime) -> NewSigningKey:
    """A fresh key pair; the kid is sortable by creation time and unguessable."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    kid = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    return NewSigningKey(kid=kid, private_key_pem=pem, public_x=public_x(key))


def load_private_key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError("signing key is not Ed25519")
    return key
