"""Rendering portal pages: Jinja2 templates, CSRF token and security headers on each page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from chorus_edge.problems import TITLES, ProblemError
from chorus_edge.security_headers import ALWAYS, PAGE_CSP
from chorus_portal.web import formats, session
from chorus_portal.web.field_labels import labelled

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=WEB_DIR / "templates")
templates.env.filters.update(formats.FILTERS)

# The middleware adds them to every answer too; pages answered before the app (body_limits)
# carry them themselves. no-referrer: the activation page's URL holds its token.
SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    **ALWAYS,
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


_NOT_PORTAL = ("/api/", "/static/", "/.well-known/", "/healthz", "/readyz")


def is_portal(request: Request) -> bool:
    """A portal page (not the REST API, the probes, the keys or a static asset)."""
    return not request.url.path.startswith(_NOT_PORTAL)


def error_page(request: Request, problem: ProblemError) -> Response | None:
    """The French page for a problem met on a portal page (``None`` elsewhere): the title of
    its status, its message, the fields it names, the reference of a 500, its headers
    (``Retry-After``); a 404 for a browser only (API clients get problem+json), a 401 the
    login page."""
    if problem.status == 404:
        return not_found(request)
    if not is_portal(request):
        return None
    if problem.status == 401:
        return session.to_login(request)
    context = {
        "title": TITLES.get(problem.status, "Erreur"),
        "message": problem.detail,
        # French field names only, never the service's (``issued_to``): see field_labels.
        "field_errors": [labelled(e.field, e.message) for e in problem.errors],
        "reference": problem.correlation_id,
    }
    response = render(request, "erreur.html", context, problem.status)
    response.headers.update(problem.headers)
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
