"""A streaming HTTP relay in front of the gateway: the paths another process serves are sent
there as they come, the others go to the gateway (:mod:`~chorus_gateway.cpro_proxy` for
cpro-api, :mod:`~chorus_gateway.portal_proxy` for the portal).

A matching request is streamed both ways without buffering: method, path, query string, body
and end-to-end headers as sent (credentials and cookies included), minus the hop-by-hop ones,
the ``Host`` and the client's trace context; ``X-Forwarded-For`` gains the client's address,
``X-Forwarded-Proto`` and ``X-Forwarded-Host`` say what the client asked. When the target does
not answer, ``unavailable`` answers instead (a 503 the target's clients understand). An empty
target turns the relay off.

The relay's one HTTP client serves every browser: it keeps no cookie (a jar whose policy
refuses them all). httpx would otherwise store the ``Set-Cookie`` of one user's answer and send
it with the next user's requests — one user's session handed to everyone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


def no_cookie_jar() -> CookieJar:
    """A jar that stores nothing: its policy allows no domain."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"traceparent",
        b"tracestate",
        b"baggage",
    }
)
RESPONSE_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"upgrade",
        b"trailer",
        b"proxy-authenticate",
        b"server",
        b"date",
    }
)

CONNECT_SECONDS = 5.0

Unavailable = Callable[[Scope, Send], Awaitable[None]]


class Relay:
    """Relays the paths ``matches`` accepts to ``target`` (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        target: str,
        *,
        matches: Callable[[str], bool],
        unavailable: Unavailable,
        name: str,
        read_seconds: float,
    ) -> None:
        self.app = app
        self.target = target.rstrip("/")
        self.matches = matches
        self.unavailable = unavailable
        self.name = name
        self.read_seconds = read_seconds
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.target,
                timeout=httpx.Timeout(self.read_seconds, connect=CONNECT_SECONDS),
                follow_redirects=False,
                trust_env=False,
                cookies=no_cookie_jar(),
            )
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._closing_on_shutdown(receive), send)
            return
        if scope["type"] != "http" or not self.target or not self.matches(scope["path"]):
            await self.app(scope, receive, send)
            return
        await self._relay(scope, receive, send)

    def _closing_on_shutdown(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown" and self._client is not None:
                client, self._client = self._client, None
                await client.aclose()
            return message

        return wrapped

    async def _relay(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        client = scope.get("client")
        forwarded = [v for k, v in scope["headers"] if k.lower() == b"x-forwarded-for"]
        headers = [(k, v) for k, v in headers if k.lower() != b"x-forwarded-for"]
        chain = b", ".join([*forwarded, *([client[0].encode()] if client else [])])
        if chain:
            headers.append((b"x-forwarded-for", chain))
        host = next((v for k, v in scope["headers"] if k.lower() == b"host"), b"")
        if host:
            headers.append((b"x-forwarded-host", host))
        headers.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))

        async def body():
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    return

        path = scope.get("raw_path") or scope["path"].encode()
        url = path.decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        http = self._http()
        request = http.build_request(scope["method"], url, headers=headers, content=body())
        try:
            response = await http.send(request, stream=True)
        except httpx.HTTPError as error:
            log.warning(
                "%s did not answer",
                self.name,
                extra={"path": scope["path"], "error": repr(error)},
            )
            await self.unavailable(scope, send)
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (k, v)
                        for k, v in response.headers.raw
                        if k.lower() not in RESPONSE_HOP_BY_HOP
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()
