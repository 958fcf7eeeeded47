"""Rendering portal pages: Jinja2 templates, CSRF token and security headers on each page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from chorus_gateway.web import formats, session

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=WEB_DIR / "templates")
templates.env.filters.update(formats.FILTERS)

# no-referrer: the activation page's URL holds its token and must not leak to other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """The page ``name`` with the CSRF token (cookie set when new) and security headers."""
    csrf = session.csrf_token(request)
    page_context = {
        "signed_in": session.session_token(request) is not None,
        "csrf_token": csrf,
        "errors": {},
        "values": {},
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, page_context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    if request.cookies.get(session.CSRF_COOKIE) != csrf:
        session.set_csrf_cookie(response, csrf, secure=request.app.state.settings.secure_cookies)
    return response


def wants_html(request: Request) -> bool:
    """A browser asking for a portal page (not an API client)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def not_found(request: Request) -> HTMLResponse | None:
    """The French 404 page for a browser; ``None`` for API clients (they get problem+json)."""
    if not wants_html(request):
        return None
    return render(
        request,
        "erreur.html",
        {"title": "Page introuvable", "message": "Cette page n'existe pas ou a été déplacée."},
        status_code=404,
    )
