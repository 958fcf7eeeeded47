"""Security headers on every answer, and redirects that never name a host.

:class:`SecurityHeadersMiddleware` completes each response's headers (a header a route set
itself is kept, e.g. the JWKS' ``Cache-Control: public``):

- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (the activation and
  reset pages' URLs hold tokens), ``X-Frame-Options: DENY``, on everything;
- ``Content-Security-Policy``: :data:`PAGE_CSP` for HTML (the portal's pages and the API
  documentation, which loads nothing from elsewhere and runs no inline script), and
  :data:`API_CSP` (nothing may load, nothing may frame) for any other answer;
- ``Cache-Control: no-store`` on everything but the static assets (``/static/``), so no
  shared cache or browser keeps an API answer, a token or a page with personal data.

``Location`` headers are made relative: ``http://<Host>/factures`` becomes ``/factures``, so
the ``Host`` header a client sent (Starlette's trailing-slash redirects build absolute URLs
from it) is never reflected, and ``//evil.example`` cannot become a protocol-relative
redirect either.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
"""HTML: scripts, styles, fonts and fetches from the gateway itself only, no inline script;
images also as ``data:`` URIs (the API documentation's icons)."""

API_CSP = "default-src 'none'; frame-ancestors 'none'"

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

STATIC_PREFIX = "/static/"

_LEADING_SLASHES = re.compile(r"^[/\\]+")


def relative_location(location: str) -> str:
    """The path, query and fragment of ``location``, starting with exactly one ``/``."""
    parts = urlsplit(location)
    path = _LEADING_SLASHES.sub("/", parts.path or "/")
    if not path.startswith("/"):
        path = "/" + path
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return path + query + fragment


class SecurityHeadersMiddleware:
    """Completes every HTTP response's headers (see the module docstring); pure ASGI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault("Content-Security-Policy", PAGE_CSP if html else API_CSP)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
                if "location" in headers:
                    headers["Location"] = relative_location(headers["location"])
            await send(message)

        await self.app(scope, receive, send_with_headers)
