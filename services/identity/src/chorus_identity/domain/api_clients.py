"""API applications (PISTE side of the Chorus Pro-compatible API): a user's OAuth2 clients.

A connector authenticates at ``/api/oauth/token`` with ``client_id`` (a random UUID) and a
secret of 32 random bytes (base64url, shown once). Both are high entropy, so the secret is
stored as a plain SHA-256 and compared in constant time: no slow hash, the token endpoint
stays fast, and a stolen table is still useless.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from chorus_platform.errors import FieldViolation, InvalidArgument

NAME_MAX_LENGTH = 100
MAX_LIVE_CLIENTS_PER_USER = 20
"""Applications a user may hold unrevoked at once."""
DEFAULT_SCOPE = "openid"
SCOPE_MAX_LENGTH = 256
# RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*NQCHAR.
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$")


@dataclass(frozen=True)
class ApiClient:
    """An application, never with its secret."""

    id: str
    client_id: str
    owner_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def new_client_secret() -> str:
    """32 random bytes, base64url without padding (43 characters)."""
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str) -> str:
    """The hex SHA-256 stored for a secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def secret_matches(secret: str, stored_sha256: str) -> bool:
    """Whether ``secret`` is the one stored, compared in constant time."""
    return hmac.compare_digest(hash_client_secret(secret), stored_sha256)


def validate_name(raw: str) -> str:
    """The name with its spaces collapsed; InvalidArgument API_CLIENT_NAME_REQUIRED or
    API_CLIENT_NAME_TOO_LONG."""
    name = " ".join(raw.split())
    if not name:
        message = "Donnez un nom à l'application (par exemple « ERP comptabilité »)."
        raise InvalidArgument(
            "API_CLIENT_NAME_REQUIRED", message, [FieldViolation("name", message)]
        )
    if len(name) > NAME_MAX_LENGTH:
        message = f"Le nom de l'application compte {NAME_MAX_LENGTH} caractères au plus."
        raise InvalidArgument(
            "API_CLIENT_NAME_TOO_LONG", message, [FieldViolation("name", message)]
        )
    return name


def validate_scope(raw: str) -> str:
    """The scope to grant and echo: the request's (RFC 6749 syntax, spaces normalised) or
    ``openid`` when empty; InvalidArgument SCOPE_INVALID otherwise."""
    scope = " ".join(raw.split(" ")) if raw else ""
    scope = " ".join(part for part in scope.split(" ") if part)
    if not scope:
        return DEFAULT_SCOPE
    if len(scope) > SCOPE_MAX_LENGTH or not _SCOPE.match(scope):
        message = (
            "Portée (scope) invalide : des mots séparés par des espaces, sans guillemet ni "
            f"barre oblique inverse, {SCOPE_MAX_LENGTH} caractères au plus ; laissez-la vide "
            "si votre connecteur n'en demande pas."
        )
        raise InvalidArgument("SCOPE_INVALID", message, [FieldViolation("scope", message)])
    return scope
