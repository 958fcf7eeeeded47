"""The edge of the gateway and the portal: request bodies bounded and credentials present
before any byte is read, inbound trace context dropped.

:func:`behind_edge_middlewares` wraps the whole application (each service's
``main.server_config``), outside the OpenTelemetry
middleware, routing and body parsing:

- :class:`BodyLimitMiddleware` bounds each request body by its route (:func:`bound_for`): the
  deposits with attachments get :data:`~chorus_edge.attachment_staging.MAX_REQUEST_BYTES`,
  the structured file deposits a 15 MB file and its form (both as ``multipart/form-data`` only),
  an entered invoice (1000 lines at most) :data:`ENTRY_BYTES`, everything else
  :data:`DEFAULT_BYTES`. A declared ``Content-Length``
  beyond the bound is refused (413 ``REQUEST_TOO_LARGE``) without reading the body; a body
  streamed beyond it (chunked) is refused as soon as the message crossing the bound arrives, or
  the connection aborted when the answer has already begun. Nothing is buffered: messages pass
  through as they come. The routes allowed a large body also refuse at once a request that
  carries neither a bearer token nor the portal session cookie (401 ``UNAUTHENTICATED``, or a
  redirect to ``/connexion`` for portal pages), so no anonymous client makes a process read
  130 MB. The table holds both the REST API's routes and the portal's: each process only
  receives its own (the gateway relays the portal's paths before this middleware). A portal
  page refused here is rendered by the ``page`` the portal passes (its French error page); the
  gateway passes none and answers problem+json. Tokens are not decoded here (the services
  verify them): presence is the cheap check.
- :class:`TraceContextStripMiddleware` removes ``traceparent``, ``tracestate`` and ``baggage``
  from incoming requests: a client on the internet must not choose the trace ids written in
  logs and events, nor send baggage to every service.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import cookie_parser
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chorus_edge import attachment_staging, sollicitations, uploads
from chorus_edge.callers import SESSION_COOKIE
from chorus_edge.problems import ProblemError

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_BYTES = 2 * MiB
"""Any JSON or form body but the ones below (the largest, an account or structure form, is a
few kilobytes)."""
ENTRY_BYTES = 8 * MiB
"""An invoice entered field by field (``POST /api/v1/invoices``, ``POST /factures/nouvelle``):
1000 lines of 1000 characters (the service's limits) weigh 1.1 MB in ASCII, about 6.2 MB when
every character is accented and escaped (``\\u00e9`` in JSON, ``%C3%A9`` in a form)."""

API_PREFIX = "/api/v1"
"""The REST API's prefix (``chorus_gateway.api.API_PREFIX``; a lib imports no service)."""

TRACE_CONTEXT_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})

UNAUTHENTICATED_DETAIL = (
    "Authentification requise : envoyez l'en-tête Authorization: Bearer <jeton>."
)


@dataclass(frozen=True)
class Bound:
    """How many bytes a request body may hold, what to tell beyond, whether the route needs
    credentials before its body is read."""

    max_bytes: int
    detail: str
    credentials: bool


def _megabytes(size: int) -> int:
    return size // MiB


def _upload_bound() -> Bound:
    # Read at each request: the module's bounds are the reference (and tests lower them).
    size = attachment_staging.MAX_REQUEST_BYTES
    return Bound(
        size,
        f"La requête dépasse {_megabytes(size)} Mo : le fichier de la facture est limité à "
        f"{_megabytes(uploads.MAX_UPLOAD_BYTES)} Mo et ses pièces jointes à "
        f"{_megabytes(attachment_staging.MAX_ATTACHMENTS_BYTES)} Mo au total ; retirez ou "
        "compressez des pièces jointes.",
        credentials=True,
    )


def _document_bound() -> Bound:
    size = uploads.MAX_UPLOAD_BYTES + attachment_staging.FORM_OVERHEAD_BYTES
    return Bound(
        size,
        f"La requête dépasse {_megabytes(size)} Mo : le fichier déposé est limité à "
        f"{_megabytes(uploads.MAX_UPLOAD_BYTES)} Mo ; compressez-le ou "
        "déposez vos factures en plusieurs lots.",
        credentials=True,
    )


def _sollicitation_bound() -> Bound:
    size = sollicitations.MAX_ATTACHMENTS_BYTES + attachment_staging.FORM_OVERHEAD_BYTES
    return Bound(
        size,
        f"La requête dépasse {_megabytes(size)} Mo : les pièces jointes d'un message sont "
        f"limitées à {_megabytes(sollicitations.MAX_ATTACHMENTS_BYTES)} Mo au total.",
        credentials=True,
    )


def _entry_bound() -> Bound:
    return Bound(
        ENTRY_BYTES,
        f"La requête dépasse {_megabytes(ENTRY_BYTES)} Mo : une facture compte 1000 lignes au "
        "plus, de 1000 caractères de description chacune ; raccourcissez-la.",
        credentials=True,
    )


def _default_bound(*, credentials: bool = False) -> Bound:
    return Bound(
        DEFAULT_BYTES,
        f"La requête dépasse {_megabytes(DEFAULT_BYTES)} Mo, la taille maximale à cette "
        "adresse : vérifiez le contenu envoyé.",
        credentials=credentials,
    )


_API = re.escape(API_PREFIX)
_POST_ROUTES = (
    (re.compile(rf"{_API}/invoices/pdf"), _upload_bound),
    (re.compile(rf"{_API}/invoices/[^/]+/completion"), _upload_bound),
    (re.compile(r"/factures/nouvelle/pdf"), _upload_bound),
    (re.compile(r"/factures/[^/]+/completion"), _upload_bound),
    (re.compile(rf"{_API}/invoices/(xml|batch)"), _document_bound),
    (re.compile(r"/factures/nouvelle/fichier"), _document_bound),
    (re.compile(rf"{_API}/invoices"), _entry_bound),
    (re.compile(r"/factures/nouvelle"), _entry_bound),
    (re.compile(rf"{_API}/sollicitations(/[^/]+/replies)?"), _sollicitation_bound),
    (re.compile(r"/sollicitations/(nouvelle|[^/]+/reponse)"), _sollicitation_bound),
    # Every other portal invoice action needs a session too: refused before its form is read.
    (re.compile(r"/factures/.+"), lambda: _default_bound(credentials=True)),
)


_FILE_BOUNDS = (_upload_bound, _document_bound, _sollicitation_bound)


def bound_for(method: str, path: str, content_type: str) -> Bound:
    """The bound of a request to ``path``: only POSTs deposit files or invoices, and files come
    as ``multipart/form-data`` (whose file parts Starlette spools to disk); any other body is
    read into memory, so a file route given JSON keeps the default bound."""
    if method == "POST":
        for pattern, bound in _POST_ROUTES:
            if pattern.fullmatch(path):
                if bound in _FILE_BOUNDS and not _is_multipart(content_type):
                    return _default_bound(credentials=True)
                return bound()
    return _default_bound()


def _is_multipart(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == "multipart/form-data"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def has_credentials(scope: Scope) -> bool:
    """A bearer token or the portal session cookie is present (not verified: services do)."""
    scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return True
    return bool(cookie_parser(_header(scope, b"cookie") or "").get(SESSION_COOKIE))


def _is_portal(scope: Scope) -> bool:
    return not scope["path"].startswith("/api/")


ErrorPage = Callable[[str, str, bool], str]
"""The portal's error page: ``(title, message, signed_in)`` -> HTML."""

PAGE_TITLE = "Envoi trop volumineux"


def _too_large(
    scope: Scope, bound: Bound, page: ErrorPage | None, headers: dict[str, str]
) -> Response:
    """413: problem+json for the API, the French error page for the portal."""
    if page is not None and _is_portal(scope):
        html = page(PAGE_TITLE, bound.detail, has_credentials(scope))
        return HTMLResponse(html, status_code=413, headers=headers)
    return ProblemError(413, "REQUEST_TOO_LARGE", bound.detail).response()


def _unauthenticated(scope: Scope) -> Response:
    """401 for the API (as :func:`~chorus_gateway.api.security.authenticated_caller`), the
    login page for the portal (as its routes do when the session is missing)."""
    if _is_portal(scope):
        return RedirectResponse("/connexion", status_code=303)
    return ProblemError(
        401, "UNAUTHENTICATED", UNAUTHENTICATED_DETAIL, headers={"WWW-Authenticate": "Bearer"}
    ).response()


class BodyTooLargeError(Exception):
    """The body went beyond its bound after the answer had begun: the connection is aborted."""


class BodyLimitMiddleware:
    """Bounds request bodies by route and requires credentials on the large ones (see the
    module docstring); a pure ASGI middleware that never buffers the body."""

    def __init__(
        self,
        app: ASGIApp,
        page: ErrorPage | None = None,
        page_headers: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.page = page
        self.page_headers = dict(page_headers or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bound = bound_for(scope["method"], scope["path"], _header(scope, b"content-type") or "")
        if bound.credentials and not has_credentials(scope):
            self._refused(scope, 401, "no credentials")
            await _unauthenticated(scope)(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > bound.max_bytes:
            self._refused(scope, 413, f"Content-Length {declared} > {bound.max_bytes}")
            await _too_large(scope, bound, self.page, self.page_headers)(scope, receive, send)
            return

        received = 0
        started = False  # by the app
        refused = False  # by us: the app's later messages go nowhere

        async def bounded_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if received <= bound.max_bytes:
                return message
            self._refused(scope, 413, f"body beyond {bound.max_bytes}")
            if started:
                raise BodyTooLargeError(f"request body beyond {bound.max_bytes} bytes")
            refused = True
            await _too_large(scope, bound, self.page, self.page_headers)(scope, receive, send)
            # The app stops reading as if the client had gone; its answer is dropped.
            return {"type": "http.disconnect"}

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracked_send)
        except Exception:
            if not refused:
                raise
            # What the app made of the "disconnect" (a parsing error): the client has its 413.
            log.debug("request refused at the edge ended the app with an error", exc_info=True)

    @staticmethod
    def _refused(scope: Scope, status: int, why: str) -> None:
        client = scope.get("client")
        log.info(
            "%s %s refused at the edge: %s %s",
            scope["method"],
            scope["path"],
            status,
            why,
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "client_ip": client[0] if client else "",
            },
        )


class TraceContextStripMiddleware:
    """Drops the W3C trace context and baggage headers of incoming requests, so the server span
    starts a new trace instead of joining one chosen by the client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = scope["headers"]
            kept = [(k, v) for k, v in headers if k.lower() not in TRACE_CONTEXT_HEADERS]
            if len(kept) != len(headers):
                scope = {**scope, "headers": kept}
        await self.app(scope, receive, send)


def behind_edge_middlewares(
    app: ASGIApp,
    page: ErrorPage | None = None,
    page_headers: dict[str, str] | None = None,
) -> ASGIApp:
    """``app`` behind the edge middlewares, the trace context stripped first; ``page`` (and
    its ``page_headers``) render a portal page's 413 (the portal passes them)."""
    return TraceContextStripMiddleware(BodyLimitMiddleware(app, page, page_headers))
