"""One JSON access-log line per HTTP request: method, path, status, duration, client address.

Never the query string, the headers (the bearer token, the ``cpro-account`` credentials) nor
the body (client secrets, files)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("chorus_cpro_api.access")

_PROBES = ("/healthz", "/readyz")


class AccessLogMiddleware:
    """Logs method, path, status, duration and client IP of every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture_status)
        finally:
            path = scope["path"]
            client = scope.get("client")
            log.log(
                logging.DEBUG if path in _PROBES else logging.INFO,
                "%s %s %s",
                scope["method"],
                path,
                status,
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "client_ip": client[0] if client else "",
                },
            )
