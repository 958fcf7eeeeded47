"""Opaque bearer secrets (activation links, refresh tokens): random, stored only as SHA-256.

A token carries 256 random bits, so a plain SHA-256 (no salt, no slow hash) is enough to make a
stolen table useless while still allowing lookup by hash.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A fresh URL-safe token (32 random bytes)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 under which a token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()
