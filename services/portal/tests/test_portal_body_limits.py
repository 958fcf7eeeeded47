"""The edge middlewares (``chorus_edge.body_limits``) as uvicorn runs the portal: the app
that ``server_config`` hands over, against the service doubles. Request bodies are async
generators that count what the portal pulled from them, so "refused before reading" is
measured (the REST API's side is services/gateway/tests/test_body_limits.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from chorus_edge import attachment_staging, body_limits
from chorus_portal.main import server_config

MiB = 1024 * 1024
CHUNK = 64 * 1024
MULTIPART = {"Content-Type": "multipart/form-data; boundary=limite"}
SESSION = {"Cookie": "chorus_session=tok"}
SENT_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{SENT_TRACE_ID}-00f067aa0ba902b7-01"


FILE_PART = (
    b'--limite\r\nContent-Disposition: form-data; name="file"; filename="f.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n"
)


class CountedBody:
    """An async body of ``total`` bytes in ``CHUNK`` pieces, by default one multipart file part
    that never ends; ``pulled`` is what was read."""

    def __init__(self, total: int, fill: bytes = b"x", head: bytes = FILE_PART) -> None:
        self.total = total
        self.fill = fill
        self.head = head
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.head:
            self.pulled += len(self.head)
            yield self.head
        while self.pulled < self.total:
            piece = self.fill * min(CHUNK, self.total - self.pulled)
            self.pulled += len(piece)
            yield piece


def _fastapi(app) -> FastAPI:
    while not isinstance(app, FastAPI):
        app = app.app
    return app


@asynccontextmanager
async def served(settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the app uvicorn would serve (edge included), its lifespan running."""
    app = server_config(settings).app
    inner = _fastapi(app)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with (
        inner.router.lifespan_context(inner),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


@pytest.fixture
async def edge(settings) -> AsyncIterator[httpx.AsyncClient]:
    async with served(settings) as client:
        yield client


def test_uvicorn_serves_the_portal_behind_the_edge(settings):
    app = server_config(settings).app
    assert isinstance(app, body_limits.TraceContextStripMiddleware)
    assert isinstance(app.app, body_limits.BodyLimitMiddleware)
    assert isinstance(app.app.app, FastAPI)


async def test_streamed_oversized_portal_deposit_is_the_french_413_page(
    edge, services, monkeypatch
):
    monkeypatch.setattr(attachment_staging, "MAX_REQUEST_BYTES", MiB)
    body = CountedBody(8 * MiB)
    response = await edge.post(
        "/factures/nouvelle/pdf", headers={**SESSION, **MULTIPART}, content=body
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "Envoi trop volumineux" in response.text
    assert "retirez ou compressez" in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert MiB < body.pulled <= MiB + CHUNK
    assert services.invoices.calls == []


@pytest.mark.parametrize(
    "path", ["/factures/nouvelle/pdf", "/factures/nouvelle", "/factures/abc/completion"]
)
async def test_a_portal_deposit_without_session_goes_to_login_before_reading(edge, services, path):
    body = CountedBody(4 * MiB)
    response = await edge.post(path, headers=MULTIPART, content=body)
    assert (response.status_code, response.headers["location"]) == (303, "/connexion")
    assert body.pulled == 0
