"""Portal cookies: the session (access and refresh tokens) and the CSRF token, and who is
signed in.

The session cookies are HttpOnly (no script reads them) and SameSite. Forms are protected by
a double-submit token: a random value in the ``chorus_csrf`` cookie, repeated in a hidden
field (or, for API calls made with the cookie, in the ``X-CSRF-Token`` header), compared on
every POST. That cookie is not HttpOnly so a future portal script can copy it into the header.

Deep links survive the login: a protected page asked for by a signed-out browser sends it to
``/connexion?suivant=<the page>`` (:func:`to_login`), and the login (and its second factor)
carries that return address through to the redirect that follows success
(:func:`safe_next`: only a same-site relative path, anything else goes to ``/``).
"""

from __future__ import annotations

import hmac
import secrets
from contextvars import ContextVar
from dataclasses import replace
from urllib.parse import urlencode, urlsplit

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


NEXT_PARAM = "suivant"
"""The login page's query parameter (and hidden field) holding the return address."""
NEXT_MAX_LENGTH = 2048
"""Longer return addresses are not kept (the login then leads home)."""

_page_asked: ContextVar[str | None] = ContextVar("chorus_portal_page_asked", default=None)


def safe_next(value: str | None) -> str:
    """``value`` when it is a same-site relative path to return to after the login, else
    ``/``: it must start with exactly one ``/`` (not ``//`` nor a slash and a backslash,
    which browsers read as another host), hold no backslash, no control character or space
    (browsers drop tabs and newlines, so ``/<tab>/evil.example`` would become
    ``//evil.example``), no scheme nor host, and be at most :data:`NEXT_MAX_LENGTH`
    characters."""
    if not value or len(value) > NEXT_MAX_LENGTH:
        return "/"
    if not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def login_url(next_path: str | None) -> str:
    """The login page, with ``next_path`` as its return address when that is a safe one
    other than the home page."""
    target = safe_next(next_path)
    if target == "/":
        return "/connexion"
    return "/connexion?" + urlencode({NEXT_PARAM: target})


def page_asked(request: Request) -> str | None:
    """The page a GET (or HEAD) asked for, path and query: where to return after the login;
    ``None`` for other methods (a form posted with an expired session is not replayed)."""
    if request.method not in ("GET", "HEAD"):
        return None
    path = request.url.path
    query = request.url.query
    return f"{path}?{query}" if query else path


async def remember_page_asked(request: Request) -> None:
    """Portal dependency: keeps the page asked for, for :func:`to_login` during this request."""
    _page_asked.set(page_asked(request))


def to_login(request: Request | None = None) -> RedirectResponse:
    """To the login page, with the page being answered (``request``'s, else the one
    :func:`remember_page_asked` kept) as the return address."""
    asked = page_asked(request) if request is not None else _page_asked.get()
    return RedirectResponse(login_url(asked), status_code=303)
