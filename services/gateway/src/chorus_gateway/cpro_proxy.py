"""The Chorus Pro-compatible API at the gateway's address: ``/api/oauth/token`` and
``/cpro/**`` relayed to cpro-api (``CHORUS_CPRO_API_URL``), so that on ``make run`` and in
compose an ERP is given one base address, ``http://127.0.0.1:8080``, as on PISTE.

Why a relay rather than one process serving both apps: the services never import each other
(the ``services-independent`` contract), cpro-api is its own Deployment in Kubernetes (where
the Ingress routes those paths to it directly and this relay only serves in-cluster callers),
and a relay is a few lines with no new infrastructure for ``make run``.

:class:`CproProxy` wraps the whole gateway, outside its body limits (cpro-api bounds its own
bodies: a flow is 22 MiB of JSON, above the gateway's 2 MiB default) and outside its
instrumentation (cpro-api traces its requests). A matching request is streamed both ways
without buffering: method, path, query string, body and end-to-end headers as sent (the
``Authorization`` and ``cpro-account`` credentials included), minus the hop-by-hop ones, the
``Host`` and the client's trace context; ``X-Forwarded-For`` gains the client's address,
``X-Forwarded-Proto`` and ``X-Forwarded-Host`` say what the client asked. When cpro-api does not
answer, the client gets 503 with ``Retry-After`` and the Chorus Pro envelope
(``codeRetour``/``libelle``), what its clients parse. Every other path goes to the gateway.
An empty ``CHORUS_CPRO_API_URL`` turns the relay off (the paths then answer the gateway's 404).
"""

from __future__ import annotations

import json
import logging

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

TOKEN_PATH = "/api/oauth/token"
API_PREFIX = "/cpro"

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
READ_SECONDS = 120.0
"""A flow of one invoice is checked (schema, schematron) before ``deposer/flux`` answers."""

UNAVAILABLE_MESSAGE = (
    "L'API compatible Chorus Pro est momentanément indisponible ; réessayez dans quelques instants."
)


def is_cpro_path(path: str) -> bool:
    """``/api/oauth/token`` (with or without a final slash) and ``/cpro`` and below."""
    return path.rstrip("/") == TOKEN_PATH or path == API_PREFIX or path.startswith(API_PREFIX + "/")


class CproProxy:
    """Relays the Chorus Pro-compatible paths to ``target`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, target: str) -> None:
        self.app = app
        self.target = target.rstrip("/")
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.target,
                timeout=httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS),
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._closing_on_shutdown(receive), send)
            return
        if scope["type"] != "http" or not self.target or not is_cpro_path(scope["path"]):
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
                "cpro-api did not answer", extra={"path": scope["path"], "error": repr(error)}
            )
            await _unavailable(send)
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


async def _unavailable(send: Send) -> None:
    body = json.dumps(
        {
            "codeRetour": 503,
            "libelle": UNAVAILABLE_MESSAGE,
            "erreur": {"raison": "SERVICE_INDISPONIBLE", "message": UNAVAILABLE_MESSAGE},
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"2"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
