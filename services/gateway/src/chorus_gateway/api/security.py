"""Who is calling the REST API: the bearer token (or the portal's session cookie) and client
details.

The token is not decoded here: services verify it. A missing token is refused at once with
401 ``UNAUTHENTICATED`` so no service is called for nothing. A request authenticated by the
portal cookie must also carry the CSRF token (header ``X-CSRF-Token``) on unsafe methods.
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chorus_edge.callers import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    client_details,
    usable_token,
)
from chorus_edge.clients.caller import Caller
from chorus_edge.problems import ProblemError

CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="Jeton d'accès obtenu par `POST /api/v1/auth/token`.",
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
    """The caller with its token; 401 UNAUTHENTICATED when there is none, 401 TOKEN_INVALID
    when it holds characters no issued token has (it could not even travel to a service)."""
    token = credentials.credentials if credentials else _cookie_token(request)
    if not token:
        raise ProblemError(
            401,
            "UNAUTHENTICATED",
            "Authentification requise : envoyez l'en-tête Authorization: Bearer <jeton>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if usable_token(token) is None:
        raise ProblemError(
            401,
            "TOKEN_INVALID",
            "Jeton d'accès invalide : reconnectez-vous.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return replace(client_details(request), token=token)


AuthenticatedCaller = Annotated[Caller, Depends(authenticated_caller)]
