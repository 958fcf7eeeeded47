"""The edge: request bodies bounded before routing and parsing, inbound trace context dropped.

:class:`BodyLimitMiddleware` bounds each request body by its path (:func:`bound_for`): a flow
(``deposer/flux``: a 15 MB file in base64 in JSON) :data:`FLOW_BYTES`; a PDF or an attachment
in base64 (``deposer/pdf``, ``soumettre``, ``completer``, ``ajouter/fichier``)
:data:`FILE_BYTES`; the token endpoint :data:`TOKEN_BYTES`; anything else
:data:`DEFAULT_BYTES`. A declared ``Content-Length`` beyond the bound is refused without reading
the body; a chunked body as soon as it crosses it: 413 with the envelope, ``codeRetour`` 20001
(Chorus Pro's own code for a file too large). Nothing is buffered here. Credentials are checked
before any route reads its body (the routes' dependency), so an anonymous client never makes
the API read 22 MB.

:class:`TraceContextStripMiddleware` removes ``traceparent``, ``tracestate`` and ``baggage``:
a client on the internet must not choose the trace ids of logs and events.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chorus_cpro_api.edge.envelope import FILE_TOO_LARGE, CproError

log = logging.getLogger(__name__)

MiB = 1024 * 1024
FLOW_BYTES = 22 * MiB
"""A flow of 15 MiB (the largest the invoices service takes) is 20 MiB in base64."""
FILE_BYTES = 15 * MiB
"""A 10 MB PDF or attachment is 13.4 MiB in base64."""
TOKEN_BYTES = 64 * 1024
DEFAULT_BYTES = 1 * MiB

FILE_PATHS = frozenset(
    {
        "/cpro/factures/v1/deposer/pdf",
        "/cpro/factures/v1/soumettre",
        "/cpro/factures/v1/completer",
        "/cpro/transverses/v1/ajouter/fichier",
    }
)

TRACE_CONTEXT_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})


def bound_for(path: str) -> int:
    normalized = path.rstrip("/")
    if normalized == "/cpro/factures/v1/deposer/flux":
        return FLOW_BYTES
    if normalized in FILE_PATHS:
        return FILE_BYTES
    if normalized == "/api/oauth/token":
        return TOKEN_BYTES
    return DEFAULT_BYTES


def _too_large(bound: int) -> CproError:
    megabytes = bound / MiB
    shown = f"{megabytes:g} Mo" if megabytes >= 1 else f"{bound // 1024} Ko"
    return CproError(
        FILE_TOO_LARGE,
        f"Requête trop volumineuse : {shown} au plus à cette adresse (un flux déposé est "
        "limité à 15 Mo avant encodage base64, une pièce jointe à 10 Mo) ; déposez vos "
        "factures en plusieurs flux.",
        "REQUETE_TROP_VOLUMINEUSE",
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class BodyTooLargeError(Exception):
    """The body went beyond its bound after the answer had begun: the connection is aborted."""


class BodyLimitMiddleware:
    """Bounds request bodies by path (see the module docstring); never buffers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bound = bound_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > bound:
            log.info("request refused at the edge: Content-Length %s > %s", declared, bound)
            await _too_large(bound).response()(scope, receive, send)
            return

        received = 0
        started = False
        refused = False

        async def bounded_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if received <= bound:
                return message
            log.info("request refused at the edge: body beyond %s", bound)
            if started:
                raise BodyTooLargeError(f"request body beyond {bound} bytes")
            refused = True
            await _too_large(bound).response()(scope, receive, send)
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
            log.debug("request refused at the edge ended the app with an error", exc_info=True)


class TraceContextStripMiddleware:
    """Drops the W3C trace context and baggage headers of incoming requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = scope["headers"]
            kept = [(k, v) for k, v in headers if k.lower() not in TRACE_CONTEXT_HEADERS]
            if len(kept) != len(headers):
                scope = {**scope, "headers": kept}
        await self.app(scope, receive, send)


def behind_edge_middlewares(app: ASGIApp) -> ASGIApp:
    """``app`` behind the edge middlewares, the trace context stripped first."""
    return TraceContextStripMiddleware(BodyLimitMiddleware(app))
