"""The two credentials of every ``/cpro/**`` call (design §2), checked before the body is
read:

1. ``Authorization: Bearer <token>``: an API application's token from ``/api/oauth/token``,
   verified here (signature with identity's keys, audience ``chorus-cpro``, expiry, and the
   deny-list: a revoked application's tokens are refused at once). Its ``sub`` (the
   application) draws one request from the application's rate-limit bucket.
2. ``cpro-account: base64(login:password)``: the technical account, authenticated by identity
   (``AuthenticateTechnicalAccount``), which answers the account's own access token; that token
   is what the services see (``Caller``), so they apply the technical account's rights (its
   structure only). The answer is reused for at most ``cpro_account_cache_seconds`` (60 s),
   keyed by a SHA-256 of the header, never the header itself; a reused token whose session was
   revoked since (rotation, revocation) is dropped at once. A header holding ``:`` is read as
   ``login:password`` unencoded (base64 never contains ``:``).

Each refusal is 401 with the envelope and ``erreur{credential, raison, message}`` saying which
credential failed and why: ``MISSING``, ``MALFORMED``, ``UNKNOWN``, ``EXPIRED``, ``REVOKED``,
``INVALID_PASSWORD``, ``PASSWORD_EXPIRED``. Neither credential is ever logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import grpc
import jwt
from chorus_platform.access_tokens import AUDIENCE
from chorus_platform.auth import TokenVerifier
from chorus_platform.errors import Unauthenticated
from chorus_platform.revocation import RevocationList
from chorus_platform.rpc_status import from_rpc_error as read_rpc_error
from fastapi import Depends, Request

from chorus_cpro_api.clients.caller import Caller
from chorus_cpro_api.clients.identity import IdentityClient
from chorus_cpro_api.edge.envelope import (
    REQUEST_INVALID,
    TOO_MANY_REQUESTS,
    CproError,
    credential_refusal,
    from_rpc_error,
)
from chorus_cpro_api.edge.rate_limits import RateLimiter

log = logging.getLogger(__name__)

CPRO_ACCOUNT_HEADER = "cpro-account"
MAX_CACHED_ACCOUNTS = 10_000
TOKEN_MARGIN_SECONDS = 30.0
"""A technical account's token is not reused when it expires within this margin."""
MAX_IDEMPOTENCY_KEY = 200

TOKEN_URL_HINT = "obtenez-en un par POST /api/oauth/token (client_credentials)"

BEARER_MESSAGES = {
    "MISSING": "en-tête Authorization: Bearer <jeton> absent ; " + TOKEN_URL_HINT + ".",
    "MALFORMED": "l'en-tête Authorization doit être « Bearer <jeton> » avec un jeton JWT "
    "lisible ; " + TOKEN_URL_HINT + ".",
    "UNKNOWN": "jeton inconnu (signature invalide ou jeton émis pour une autre API) ; "
    + TOKEN_URL_HINT
    + " avec les identifiants de votre application API.",
    "EXPIRED": "jeton expiré ; demandez-en un nouveau par POST /api/oauth/token.",
    "REVOKED": "l'application API de ce jeton a été révoquée ; créez une nouvelle application "
    "dans le portail (Mon compte > Applications API).",
}
USER_TOKEN_MESSAGE = (
    "ce jeton est celui d'un utilisateur de l'API /api/v1, pas d'une application API ; "
    + TOKEN_URL_HINT
    + "."
)

ACCOUNT_MESSAGES = {
    "MISSING": "en-tête cpro-account absent : envoyez base64(« login:motdepasse ») du compte "
    "technique de votre structure (portail, page de la structure > Comptes techniques).",
    "MALFORMED": "l'en-tête cpro-account doit être base64(« login:motdepasse »), par exemple "
    "« bG9naW46cGFzc3dvcmQ= ».",
}

ACCOUNT_REASONS = {
    "TECHNICAL_ACCOUNT_UNKNOWN": "UNKNOWN",
    "TECHNICAL_PASSWORD_INVALID": "INVALID_PASSWORD",
    "TECHNICAL_PASSWORD_EXPIRED": "PASSWORD_EXPIRED",
    "TECHNICAL_ACCOUNT_REVOKED": "REVOKED",
}
ACCOUNT_DEFAULT_MESSAGES = {
    "UNKNOWN": "compte technique inconnu : vérifiez le login de l'en-tête cpro-account.",
    "INVALID_PASSWORD": "mot de passe du compte technique incorrect.",
    "PASSWORD_EXPIRED": "le mot de passe du compte technique a expiré : un gestionnaire de la "
    "structure doit le renouveler dans le portail.",
    "REVOKED": "ce compte technique a été révoqué : un gestionnaire de la structure doit en "
    "activer un autre dans le portail.",
}


@dataclass(frozen=True)
class TechnicalAccount:
    """A technical account authenticated by identity: the structure it acts for and its
    access token (what the services are called with)."""

    access_token: str
    structure_id: str
    user_id: str
    session_id: str
    password_expires_at: float | None
    """Epoch seconds; None when identity did not say."""
    token_expires_at: float
    """Epoch seconds."""


@dataclass(frozen=True)
class TechnicalCaller:
    """Who a ``/cpro/**`` request acts as: the API application and the technical account."""

    application_id: str
    account: TechnicalAccount
    caller: Caller

    @property
    def structure_id(self) -> str:
        return self.account.structure_id


def _bearer(header: str | None) -> str:
    if not header or not header.strip():
        raise credential_refusal("bearer", "MISSING", BEARER_MESSAGES["MISSING"])
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise credential_refusal("bearer", "MALFORMED", BEARER_MESSAGES["MALFORMED"])
    return token


def decode_account_header(header: str | None) -> tuple[str, str]:
    """(login, password) of a ``cpro-account`` header; 401 MISSING / MALFORMED."""
    if header is None or not header.strip():
        raise credential_refusal("cpro-account", "MISSING", ACCOUNT_MESSAGES["MISSING"])
    value = header.strip()
    if ":" in value:
        text = value
    else:
        standard = value.replace("-", "+").replace("_", "/").rstrip("=")
        try:
            raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise credential_refusal(
                "cpro-account", "MALFORMED", ACCOUNT_MESSAGES["MALFORMED"]
            ) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    login, colon, password = text.partition(":")
    if not colon or not login.strip() or not password:
        raise credential_refusal("cpro-account", "MALFORMED", ACCOUNT_MESSAGES["MALFORMED"])
    if any(ord(c) < 32 for c in login + password):
        raise credential_refusal("cpro-account", "MALFORMED", ACCOUNT_MESSAGES["MALFORMED"])
    return login.strip(), password


def _unverified_claims(token: str) -> dict:
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}


def _timestamp_seconds(value) -> float | None:
    if value is None or (value.seconds == 0 and value.nanos == 0):
        return None
    return value.seconds + value.nanos / 1e9


class Authenticator:
    """Checks both credentials of a request (see the module docstring)."""

    def __init__(
        self,
        *,
        verifier: TokenVerifier,
        identity: IdentityClient,
        limiter: RateLimiter,
        revoked: RevocationList | None,
        cache_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = verifier
        self._identity = identity
        self._limiter = limiter
        self._revoked = revoked
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._accounts: OrderedDict[str, tuple[TechnicalAccount, float]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[TechnicalAccount]] = {}

    async def application(self, authorization: str | None) -> str:
        """The API application (its id) of a valid bearer token; 401 otherwise."""
        token = _bearer(authorization)
        try:
            jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise credential_refusal("bearer", "MALFORMED", BEARER_MESSAGES["MALFORMED"]) from None
        try:
            claims = await self._verifier.verify_claims(token, expired_reason="TOKEN_EXPIRED")
        except Unauthenticated as refused:
            if refused.reason == "TOKEN_EXPIRED":
                raise credential_refusal("bearer", "EXPIRED", BEARER_MESSAGES["EXPIRED"]) from None
            if refused.reason == "SESSION_REVOKED":
                raise credential_refusal("bearer", "REVOKED", BEARER_MESSAGES["REVOKED"]) from None
            audience = _unverified_claims(token).get("aud")
            user_token = audience == AUDIENCE or (
                isinstance(audience, list) and AUDIENCE in audience
            )
            message = USER_TOKEN_MESSAGE if user_token else BEARER_MESSAGES["UNKNOWN"]
            raise credential_refusal("bearer", "UNKNOWN", message) from None
        return str(claims["sub"])

    def throttle(self, application_id: str) -> None:
        """One request from the application's bucket; 429 with ``Retry-After`` when empty."""
        wait = self._limiter.acquire(f"app:{application_id}")
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise CproError(
                TOO_MANY_REQUESTS,
                f"Trop de requêtes pour cette application API : réessayez dans {seconds} secondes.",
                "TROP_DE_REQUETES",
                headers={"Retry-After": str(seconds)},
            )

    async def technical_account(self, header: str | None, caller: Caller) -> TechnicalAccount:
        """The technical account of a ``cpro-account`` header (cached, see the module)."""
        login, password = decode_account_header(header)
        key = hashlib.sha256(header.strip().encode("utf-8", "replace")).hexdigest()  # type: ignore[union-attr]
        cached = self._cached(key)
        if cached is not None:
            return cached
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[TechnicalAccount] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            account = await self._authenticate(login, password, caller)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            self._pending.pop(key, None)
        future.set_result(account)
        self._remember(key, account)
        return account

    def forget(self, header: str | None) -> None:
        """Drops a cached account (a service refused its token)."""
        if header:
            self._accounts.pop(
                hashlib.sha256(header.strip().encode("utf-8", "replace")).hexdigest(), None
            )

    def _cached(self, key: str) -> TechnicalAccount | None:
        entry = self._accounts.get(key)
        if entry is None:
            return None
        account, until = entry
        now = self._clock()
        revoked = self._revoked is not None and self._revoked.is_revoked(account.session_id)
        if now >= until or now >= account.token_expires_at - TOKEN_MARGIN_SECONDS or revoked:
            self._accounts.pop(key, None)
            return None
        return account

    def _remember(self, key: str, account: TechnicalAccount) -> None:
        if self._cache_seconds <= 0:
            return
        until = min(self._clock() + self._cache_seconds, account.token_expires_at)
        self._accounts[key] = (account, until)
        self._accounts.move_to_end(key)
        while len(self._accounts) > MAX_CACHED_ACCOUNTS:
            self._accounts.popitem(last=False)

    async def _authenticate(self, login: str, password: str, caller: Caller) -> TechnicalAccount:
        try:
            answer = await self._identity.authenticate_technical_account(login, password, caller)
        except grpc.RpcError as err:
            remote = read_rpc_error(err)
            raison = ACCOUNT_REASONS.get(remote.reason)
            if raison is not None:
                message = remote.message or ACCOUNT_DEFAULT_MESSAGES[raison]
                raise credential_refusal("cpro-account", raison, message) from None
            if remote.reason == "ACCOUNT_LOCKED":
                seconds = remote.metadata.get("retry_after_seconds", "")
                raise CproError(
                    TOO_MANY_REQUESTS,
                    "Compte technique (en-tête cpro-account) verrouillé : "
                    + (remote.message or "trop d'échecs d'authentification ; réessayez plus tard."),
                    "LOCKED",
                    headers={"Retry-After": seconds} if seconds.isdigit() else {},
                    erreur={
                        "credential": "cpro-account",
                        "raison": "LOCKED",
                        "message": remote.message
                        or "trop d'échecs d'authentification ; réessayez plus tard.",
                    },
                ) from None
            if remote.code == grpc.StatusCode.UNAUTHENTICATED:
                raise credential_refusal(
                    "cpro-account", "UNKNOWN", ACCOUNT_DEFAULT_MESSAGES["UNKNOWN"]
                ) from None
            if remote.code == grpc.StatusCode.INVALID_ARGUMENT:
                raise credential_refusal(
                    "cpro-account", "MALFORMED", remote.message or ACCOUNT_MESSAGES["MALFORMED"]
                ) from None
            raise from_rpc_error(err) from None
        claims = _unverified_claims(answer.access_token)
        now = self._clock()
        expires_at = float(claims.get("exp") or now + max(answer.expires_in, 0))
        return TechnicalAccount(
            access_token=answer.access_token,
            structure_id=answer.structure_id,
            user_id=answer.user_id,
            session_id=str(claims.get("sid") or ""),
            password_expires_at=_timestamp_seconds(answer.password_expires_at)
            if answer.HasField("password_expires_at")
            else None,
            token_expires_at=expires_at,
        )


def idempotency_key(request: Request) -> str:
    """The ``Idempotency-Key`` header (1–200 visible ASCII characters), "" when absent."""
    value = request.headers.get("idempotency-key")
    if value is None:
        return ""
    if not 0 < len(value) <= MAX_IDEMPOTENCY_KEY or not all(33 <= ord(c) <= 126 for c in value):
        raise CproError(
            REQUEST_INVALID,
            "Requête invalide : l'en-tête Idempotency-Key doit compter de 1 à 200 caractères "
            "ASCII visibles.",
            "IDEMPOTENCY_KEY_INVALID",
        )
    return value


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


async def technical_caller(request: Request) -> TechnicalCaller:
    """Dependency of every ``/cpro/**`` route: both credentials, then the rate limit."""
    authenticator: Authenticator = request.app.state.authenticator
    application_id = await authenticator.application(request.headers.get("authorization"))
    authenticator.throttle(application_id)
    base = Caller(ip_address=client_address(request), idempotency_key=idempotency_key(request))
    header = request.headers.get(CPRO_ACCOUNT_HEADER)
    account = await authenticator.technical_account(header, Caller(ip_address=base.ip_address))
    request.state.cpro_account_header = header
    return TechnicalCaller(
        application_id=application_id,
        account=account,
        caller=Caller(
            token=account.access_token,
            ip_address=base.ip_address,
            idempotency_key=base.idempotency_key,
        ),
    )


Technical = Annotated[TechnicalCaller, Depends(technical_caller)]
