"""Access-token verification: EdDSA JWTs signed by identity, keys fetched over gRPC and cached.

Every service verifies the caller's token itself (the gateway only forwards it). The
:class:`AuthInterceptor` puts the verified :class:`Principal` in a context variable for the
handler; :func:`current_principal` reads it. A token whose session was revoked (its ``sid`` on
the service's deny-list, :mod:`chorus_platform.revocation`) is refused like an invalid one,
with reason ``SESSION_REVOKED``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from chorus_platform.access_tokens import AUDIENCE, ISSUER, TECHNICAL_STRUCTURE_CLAIM, Principal
from chorus_platform.errors import Unauthenticated

if TYPE_CHECKING:
    from chorus_platform.revocation import RevocationList

log = logging.getLogger(__name__)


_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "chorus_principal", default=None
)


def optional_principal() -> Principal | None:
    """The caller of the RPC being handled, or None for an anonymous call."""
    return _principal.get()


def current_principal() -> Principal:
    """The caller of the RPC being handled; Unauthenticated when there is none."""
    principal = _principal.get()
    if principal is None:
        raise Unauthenticated("UNAUTHENTICATED", "Authentification requise.")
    return principal


KeyFetcher = Callable[[], Awaitable[dict[str, Ed25519PublicKey]]]


class TokenVerifier:
    """Verifies access tokens against keys from ``fetch_keys``, cached for ``ttl_seconds``.

    An unknown ``kid`` triggers a refetch (at most every ``min_refetch_seconds``), so a key
    rotation is picked up at once. With ``revoked``, a token of a listed session is refused.
    """

    def __init__(
        self,
        fetch_keys: KeyFetcher,
        *,
        ttl_seconds: float = 300,
        min_refetch_seconds: float = 5,
        revoked: RevocationList | None = None,
        audience: str = AUDIENCE,
    ) -> None:
        self._fetch_keys = fetch_keys
        self._audience = audience
        self._revoked = revoked
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _key(self, kid: str) -> Ed25519PublicKey | None:
        now = time.monotonic()
        stale = now - self._fetched_at > self._ttl
        unknown = kid not in self._keys and now - self._fetched_at > self._min_refetch
        if stale or unknown:
            async with self._lock:
                if time.monotonic() - self._fetched_at > self._min_refetch or not self._keys:
                    try:
                        self._keys = await self._fetch_keys()
                        self._fetched_at = time.monotonic()
                    except Exception:
                        log.warning("could not fetch token keys", exc_info=True)
        return self._keys.get(kid)

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; Unauthenticated otherwise: reason TOKEN_INVALID
        (malformed, forged, expired, unknown key) or SESSION_REVOKED (its session is on the
        deny-list)."""
        claims = await self.verify_claims(token)
        return Principal(
            user_id=claims["sub"],
            session_id=claims["sid"],
            token=token,
            technical_structure_id=str(claims.get(TECHNICAL_STRUCTURE_CLAIM) or ""),
        )

    async def verify_claims(self, token: str, *, expired_reason: str = "TOKEN_INVALID") -> dict:
        """The claims of a valid token, as :meth:`verify` checks it; an expired token is
        refused with ``expired_reason`` (an edge may want to tell it apart)."""
        invalid = Unauthenticated("TOKEN_INVALID", "Jeton d'accès invalide ou expiré.")
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
        except jwt.PyJWTError:
            raise invalid from None
        key = await self._key(kid)
        if key is None:
            raise invalid
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                audience=self._audience,
                issuer=ISSUER,
                options={"require": ["sub", "exp", "iat", "jti", "sid"]},
            )
        except jwt.ExpiredSignatureError:
            if expired_reason == invalid.reason:
                raise invalid from None
            raise Unauthenticated(expired_reason, "Jeton d'accès expiré.") from None
        except jwt.PyJWTError:
            raise invalid from None
        if self._revoked is not None and self._revoked.is_revoked(claims["sid"]):
            raise Unauthenticated(
                "SESSION_REVOKED", "Session terminée ou révoquée. Reconnectez-vous."
            )
        return claims


def bearer_token(metadata: tuple[tuple[str, str | bytes], ...] | None) -> str | None:
    """The token of an ``authorization: Bearer <token>`` metadata entry, if any."""
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value.startswith("Bearer "):
            return value.removeprefix("Bearer ").strip()
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Verifies the bearer token of every RPC except ``public_methods`` and health/reflection.

    A valid token sets :func:`current_principal`; a missing or bad one (revoked session
    included: SESSION_REVOKED) on a protected method aborts with UNAUTHENTICATED. On public
    methods a valid token is still made available, a bad one is ignored.
    """

    _ALWAYS_PUBLIC = ("/grpc.health.v1.", "/grpc.reflection.")

    def __init__(self, verifier: TokenVerifier, public_methods: set[str]) -> None:
        self._verifier = verifier
        self._public = public_methods

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(self._ALWAYS_PUBLIC):
            return handler
        public = method in self._public
        token = bearer_token(handler_call_details.invocation_metadata)
        verifier = self._verifier

        async def authenticated(request, context):
            principal = None
            if token:
                try:
                    principal = await verifier.verify(token)
                except Unauthenticated:
                    if not public:
                        raise
            elif not public:
                raise Unauthenticated("UNAUTHENTICATED", "Authentification requise.")
            reset = _principal.set(principal)
            try:
                return await handler.unary_unary(request, context)
            finally:
                _principal.reset(reset)

        if handler.unary_unary is None:
            return handler
        return handler._replace(unary_unary=authenticated)
