"""Portal cookies: the session (access and refresh tokens) and the CSRF token, and who is
signed in.

The session cookies are HttpOnly (no script reads them) and SameSite. Forms are protected by
a double-submit token: a random value in the ``chorus_csrf`` cookie, repeated in a hidden
field (or, for API calls made with the cookie, in the ``X-CSRF-Token`` header), compared on
every POST. That cookie is not HttpOnly so a future portal script can copy it into the header.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import replace

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from chorus_edge.callers import CSRF_COOKIE, SESSION_COOKIE, usable_token
from chorus_edge.clients.caller import Caller

REFRESH_COOKIE = "chorus_refresh"


def csrf_token(request: Request) -> str:
    """The browser's CSRF token, or a new one when it has none."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_csrf_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(CSRF_COOKIE, token, secure=secure, httponly=False, samesite="lax")


def csrf_valid(request: Request, submitted: str) -> bool:
    """True when the submitted token matches the cookie (both present)."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    return bool(expected and submitted) and hmac.compare_digest(expected, submitted)


def session_token(request: Request) -> str | None:
    """The session cookie's access token; ``None`` without one, or for a value no issued
    token has (signed out, in effect)."""
    return usable_token(request.cookies.get(SESSION_COOKIE))


def refresh_token(request: Request) -> str | None:
    return request.cookies.get(REFRESH_COOKIE) or None


def start_session(
    response: Response, access_token: str, refresh: str, expires_in: int, *, secure: bool
) -> None:
    """Stores the token pair: access token for ``expires_in`` seconds, refresh for the visit."""
    response.set_cookie(
        SESSION_COOKIE,
        access_token,
        max_age=expires_in or None,
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    response.set_cookie(REFRESH_COOKIE, refresh, secure=secure, httponly=True, samesite="strict")


def end_session(response: Response, *, secure: bool) -> None:
    for name, samesite in ((SESSION_COOKIE, "lax"), (REFRESH_COOKIE, "strict")):
        response.delete_cookie(name, secure=secure, httponly=True, samesite=samesite)


def signed_in(request: Request, caller: Caller) -> Caller | None:
    """The caller with the session's access token; None when nobody is signed in."""
    token = session_token(request)
    return replace(caller, token=token) if token else None


def to_login() -> RedirectResponse:
    return RedirectResponse("/connexion", status_code=303)
