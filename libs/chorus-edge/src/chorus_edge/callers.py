"""Who is calling: the client's details as the services receive them, and the cookies the
portal keeps the caller's session and CSRF token in.

The REST API authenticates with a bearer token or the session cookie
(:mod:`chorus_gateway.api.security`); the portal reads the session cookie
(:mod:`chorus_portal.web.session`). Both start from :data:`AnonymousCaller` and reach the
services through :data:`Clients`. Tokens are never decoded here: services verify them.
"""

from __future__ import annotations

import re
from typing import Annotated

from chorus_platform import idempotency
from fastapi import Depends, Request

from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.problems import ProblemError

SESSION_COOKIE = "chorus_session"
CSRF_COOKIE = "chorus_csrf"

MAX_TOKEN_LENGTH = 8192
_TOKEN = re.compile(rf"[!-~]{{1,{MAX_TOKEN_LENGTH}}}")
_NOT_PRINTABLE_ASCII = re.compile(r"[^ -~]")


def usable_token(token: str | None) -> str | None:
    """``token`` when it can travel as gRPC metadata (visible ASCII, bounded), else ``None``:
    a token with any other character is no token the services could have issued."""
    return token if token and _TOKEN.fullmatch(token) else None


def printable_ascii(value: str) -> str:
    """``value`` with anything but printable ASCII replaced by ``?`` (gRPC metadata values
    are ASCII; a user agent is informative only)."""
    return _NOT_PRINTABLE_ASCII.sub("?", value)


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
        user_agent=printable_ascii(request.headers.get("user-agent", "")[:512]),
        idempotency_key=key or "",
        channel="api" if request.url.path.startswith("/api/") else "portal",
    )


Clients = Annotated[ServiceClients, Depends(get_clients)]
AnonymousCaller = Annotated[Caller, Depends(client_details)]
