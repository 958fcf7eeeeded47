"""Access tokens: short-lived EdDSA JWTs that every service verifies on its own.

Claims: iss "chorus-identity", aud "chorus", sub (user id), sid (session id), jti, iat, exp;
header kid names the signing key. A technical account's token adds "tst" (its structure);
an API application's token has aud "chorus-cpro" (only the Chorus Pro-compatible API takes
it), sub = sid = the application's id, and "scope".
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import jwt
from chorus_platform.access_tokens import AUDIENCE, ISSUER
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chorus_identity.domain.signing_keys import ALGORITHM


def sign_access_token(
    *,
    key: Ed25519PrivateKey,
    kid: str,
    user_id: str,
    session_id: str,
    now: datetime,
    ttl: timedelta,
    audience: str = AUDIENCE,
    extra_claims: dict[str, str] | None = None,
) -> str:
    """A signed access token for ``user_id`` in ``session_id``, valid ``ttl`` from ``now``,
    for ``audience``, with ``extra_claims`` (never overriding the standard ones)."""
    issued = int(now.timestamp())
    claims = {
        **(extra_claims or {}),
        "iss": ISSUER,
        "aud": audience,
        "sub": user_id,
        "sid": session_id,
        "jti": str(uuid.uuid4()),
        "iat": issued,
        "exp": issued + int(ttl.total_seconds()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
