"""One JSON access-log line per HTTP request of an edge app (the gateway, cpro-api): method,
path, status, duration, client address.

Never the query string (it can carry secrets, such as an activation link's token), the
headers (bearer tokens, the ``cpro-account`` credentials) nor the body (client secrets,
files); uvicorn's own access log, which prints the full target, is switched off by the apps.
A plain ASGI middleware: ``app.add_middleware(AccessLogMiddleware, logger="<app>.access")``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PROBES = ("/healthz", "/readyz")


class AccessLogMiddleware:
    """Logs method, path, status, duration and client IP of every HTTP request to ``logger``
    (probes at DEBUG, the rest at INFO)."""

    def __init__(self, app: ASGIApp, logger: str) -> None:
        self.app = app
        self.log = logging.getLogger(logger)

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
            self.log.log(
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
