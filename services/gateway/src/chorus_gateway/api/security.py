"""Who is calling: the bearer token (or the portal's session cookie) and client details.

The token is not decoded here: services verify it. A missing token is refused at once with
401 ``UNAUTHENTICATED`` so no service is called for nothing. A request authenticated by the
portal cookie must also carry the CSRF token (header ``X-CSRF-Token``) on unsafe methods.
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from typing import Annotated

from chorus_platform import idempotency
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chorus_gateway.api.problems import ProblemError
from chorus_gateway.clients import ServiceClients
from chorus_gateway.clients.caller import Caller

SESSION_COOKIE = "chorus_session"
CSRF_COOKIE = "chorus_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="Jeton d'accès obtenu par `POST /api/v1/auth/token`.",
)


def get_clients(request: Request) -> ServiceClients:
    """The service clients opened at startup."""
    return request.app.state.clients


def client_details(request: Request) -> Caller:
    """The caller without credentials: IP address, user agent, idempotency key (422
    IDEMPOTENCY_KEY_INVALID when it could not travel as gRPC metadata; the service that owns
    the data honours it)."""
    key = request.headers.get("idempotency-key")
    if key is not None and not idempotency.is_valid_key(key):
        raise ProblemError(422, idempotency.KEY_INVALID, idempotency.KEY_INVALID_MESSAGE)
    return Caller(
        ip_address=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", "")[:512],
        idempotency_key=key or "",
    )


def _cookie_token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    if request.method not in SAFE_METHODS:
        expected = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not expected or not hmac.compare_digest(expected, sent):
            raise ProblemError(
                403,
                "CSRF_TOKEN_INVALID",
                "Jeton CSRF absent ou invalide : envoyez l'en-tête X-CSRF-Token "
                "avec la valeur du cookie chorus_csrf.",
            )
    return token


def authenticated_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Caller:
    """The caller with its token; 401 UNAUTHENTICATED when there is none."""
    token = credentials.credentials if credentials else _cookie_token(request)
    if not token:
        raise ProblemError(
            401,
            "UNAUTHENTICATED",
            "Authentification requise : envoyez l'en-tête Authorization: Bearer <jeton>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return replace(client_details(request), token=token)


Clients = Annotated[ServiceClients, Depends(get_clients)]
AnonymousCaller = Annotated[Caller, Depends(client_details)]
AuthenticatedCaller = Annotated[Caller, Depends(authenticated_caller)]
