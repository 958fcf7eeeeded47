"""``POST /api/oauth/token``: OAuth 2.0 client credentials as PISTE takes them.

Client authentication in the body (``client_id``, ``client_secret``) or by HTTP Basic
(RFC 6749 §2.3.1: each part form-urlencoded, then ``base64(id:secret)``), not both with
different values. The body is read leniently: chorus-api (PY-CA) builds it with an f-string
without URL-encoding, so each value is tried as sent when its form-decoding differs (a secret
holding ``+`` or ``%``). ``scope`` is optional (``openid`` when absent, echoed otherwise).

Refusals follow RFC 6749 §5.2: ``{"error": "invalid_client", "error_description": "..."}``,
401 for a client that does not authenticate (with ``WWW-Authenticate: Basic`` when it used
Basic), 400 ``invalid_request`` / ``unsupported_grant_type``; ``error_description`` holds only
the ASCII the RFC allows (French without accents).
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import unquote, unquote_plus

from fastapi.responses import JSONResponse

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
DEFAULT_SCOPE = "openid"
MAX_VALUE = 1000


def ascii_text(text: str) -> str:
    """``text`` with accents dropped and only RFC 6749 ``error_description`` characters."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain if 0x20 <= ord(c) <= 0x7E and c not in '"\\')


@dataclass
class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer."""

    status: int
    error: str
    description: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.description)

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": ascii_text(self.description)},
            status_code=self.status,
            headers={**NO_STORE, **self.headers},
        )


@dataclass(frozen=True)
class TokenRequest:
    grant_type: str
    client_id: str
    secrets: tuple[str, ...]
    """The secret as decoded, then as sent when that differs (PY-CA does not encode)."""
    scope: str
    basic: bool


def _pairs(raw: bytes) -> dict[str, tuple[str, str]]:
    """name -> (form-decoded value, value as sent) of an ``a=b&c=d`` body; the first wins."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OAuthError(
            400, "invalid_request", "Le corps de la requete doit etre encode en UTF-8."
        ) from None
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError:
            raise OAuthError(400, "invalid_request", "Corps JSON illisible.") from None
        if not isinstance(document, dict):
            raise OAuthError(400, "invalid_request", "Corps JSON : un objet est attendu.")
        return {str(k): (str(v), str(v)) for k, v in document.items() if isinstance(v, str | int)}
    found: dict[str, tuple[str, str]] = {}
    for part in stripped.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        key = unquote_plus(name).strip()
        if key and key not in found:
            found[key] = (unquote_plus(value), value)
    return found


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise OAuthError(
            401,
            "invalid_client",
            "En-tete Authorization: Basic illisible (base64 de client_id:client_secret attendu).",
            {"WWW-Authenticate": 'Basic realm="chorus"'},
        ) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError(
            401,
            "invalid_client",
            "En-tete Authorization: Basic sans « : » entre client_id et client_secret.",
            {"WWW-Authenticate": 'Basic realm="chorus"'},
        )
    # RFC 6749 §2.3.1: each part is form-urlencoded before base64; a raw one reads the same.
    return unquote_plus(client_id), unquote(secret) if "%" in secret else secret


def parse_token_request(raw: bytes, authorization: str | None) -> TokenRequest:
    """The token request of a body and an ``Authorization`` header; OAuthError otherwise."""
    pairs = _pairs(raw)
    for name, (value, _) in pairs.items():
        if len(value) > MAX_VALUE or any(ord(c) < 32 for c in value):
            raise OAuthError(400, "invalid_request", f"Parametre {ascii_text(name)} invalide.")
    grant_type = pairs.get("grant_type", ("", ""))[0].strip()
    if not grant_type:
        raise OAuthError(
            400, "invalid_request", "Parametre grant_type absent : client_credentials attendu."
        )
    if grant_type != "client_credentials":
        raise OAuthError(
            400,
            "unsupported_grant_type",
            "Seul grant_type=client_credentials est accepte.",
        )
    basic = _basic(authorization)
    body_id = pairs.get("client_id", ("", ""))[0].strip()
    body_secret, raw_secret = pairs.get("client_secret", ("", ""))
    if basic is not None:
        client_id, secret = basic
        if (body_id and body_id != client_id) or (body_secret and body_secret != secret):
            raise OAuthError(
                400,
                "invalid_request",
                "Identifiants du client a la fois dans l'en-tete Basic et dans le corps, "
                "differents : n'en envoyez qu'un.",
            )
        secrets: tuple[str, ...] = (secret,)
    else:
        client_id, secrets = body_id, tuple(dict.fromkeys((body_secret, raw_secret)))
    if not client_id or not any(secrets):
        raise OAuthError(
            401,
            "invalid_client",
            "Authentification du client absente : client_id et client_secret dans le corps ou "
            "en-tete Authorization: Basic.",
            {"WWW-Authenticate": 'Basic realm="chorus"'} if basic is not None else {},
        )
    scope = pairs.get("scope", ("", ""))[0].strip()
    return TokenRequest(
        grant_type=grant_type,
        client_id=client_id,
        secrets=tuple(s for s in secrets if s),
        scope=scope,
        basic=basic is not None,
    )
