"""The edge middlewares (``chorus_edge.body_limits``) as uvicorn runs them: the app that
``server_config`` hands over, against the service doubles. Request bodies are async generators
that count what the gateway pulled from them, so "refused before reading" is measured."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from chorus_edge import attachment_staging, body_limits
from chorus_gateway import main
from chorus_gateway.cpro_proxy import CproProxy
from chorus_gateway.main import server_config
from chorus_gateway.portal_proxy import PortalProxy

from .test_api_invoice_pdf import METADATA, PDF, deposited, staged
from .test_api_invoices import AUTH, SUPPLIER_ID, create_body, invoice

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


def test_uvicorn_serves_the_app_behind_the_edge(settings):
    relay = server_config(settings).app
    assert isinstance(relay, CproProxy)  # the Chorus Pro-compatible paths, relayed first
    assert isinstance(relay.app, PortalProxy)  # then every path the gateway does not own
    app = relay.app.app
    assert isinstance(app, body_limits.TraceContextStripMiddleware)
    assert isinstance(app.app, body_limits.BodyLimitMiddleware)
    assert isinstance(app.app.app, FastAPI)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v1/invoices/pdf", attachment_staging.MAX_REQUEST_BYTES),
        ("POST", "/api/v1/invoices/abc/completion", attachment_staging.MAX_REQUEST_BYTES),
        ("POST", "/factures/nouvelle/pdf", attachment_staging.MAX_REQUEST_BYTES),
        ("POST", "/factures/abc/completion", attachment_staging.MAX_REQUEST_BYTES),
        ("POST", "/api/v1/invoices/xml", 16 * MiB),
        ("POST", "/api/v1/invoices/batch", 16 * MiB),
        ("POST", "/factures/nouvelle/fichier", 16 * MiB),
        ("POST", "/api/v1/invoices", body_limits.ENTRY_BYTES),
        ("POST", "/factures/nouvelle", body_limits.ENTRY_BYTES),
        ("POST", "/api/v1/accounts", body_limits.DEFAULT_BYTES),
        ("POST", "/factures/abc/statut", body_limits.DEFAULT_BYTES),
        ("PATCH", "/api/v1/invoices/pdf", body_limits.DEFAULT_BYTES),
        ("POST", "/api/v1/invoices/pdf/", body_limits.DEFAULT_BYTES),
    ],
)
def test_bounds_by_route(method, path, expected):
    multipart = "multipart/form-data; boundary=x"
    assert body_limits.bound_for(method, path, multipart).max_bytes == expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("multipart/form-data; boundary=x", attachment_staging.MAX_REQUEST_BYTES),
        ("Multipart/Form-Data;boundary=x", attachment_staging.MAX_REQUEST_BYTES),
        ("application/json", body_limits.DEFAULT_BYTES),
        ("application/x-www-form-urlencoded", body_limits.DEFAULT_BYTES),
        ("", body_limits.DEFAULT_BYTES),
    ],
)
def test_file_routes_are_large_for_multipart_bodies_only(content_type, expected):
    """Other bodies are read into memory: they keep the default bound (and need credentials)."""
    bound = body_limits.bound_for("POST", "/api/v1/invoices/abc/completion", content_type)
    assert (bound.max_bytes, bound.credentials) == (expected, True)


def test_the_largest_entered_invoice_fits_its_bound():
    """1000 lines of 1000 accented characters, JSON-escaped the way Python clients send it."""
    body = create_body(lines=[{**create_body()["lines"][0], "description": "é" * 1000}] * 1000)
    size = len(json.dumps(body).encode())
    assert 6 * MiB > size > 5 * MiB
    assert size < body_limits.ENTRY_BYTES
    assert len(json.dumps(create_body()).encode()) < body_limits.DEFAULT_BYTES


async def test_declared_oversized_upload_is_413_without_reading(edge, services):
    body = CountedBody(2 * MiB)
    declared = attachment_staging.MAX_REQUEST_BYTES + 1
    response = await edge.post(
        "/api/v1/invoices/pdf",
        headers={**AUTH, **MULTIPART, "Content-Length": str(declared)},
        content=body,
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem["status"]) == ("REQUEST_TOO_LARGE", 413)
    assert "136 Mo" in problem["detail"] and "pièces jointes" in problem["detail"]
    assert body.pulled == 0
    assert services.invoices.calls == []


async def test_streamed_oversized_upload_is_413_after_the_bound(edge, services, monkeypatch):
    """Chunked (no Content-Length): read up to the bound and one chunk, then refused."""
    monkeypatch.setattr(attachment_staging, "MAX_REQUEST_BYTES", MiB)
    body = CountedBody(8 * MiB)
    response = await edge.post("/api/v1/invoices/pdf", headers={**AUTH, **MULTIPART}, content=body)
    assert response.status_code == 413
    assert response.json()["code"] == "REQUEST_TOO_LARGE"
    assert MiB < body.pulled <= MiB + CHUNK
    assert services.invoices.calls == []


async def test_a_structured_file_beyond_16_mb_is_refused_before_parsing(edge, services):
    body = CountedBody(20 * MiB)
    response = await edge.post("/api/v1/invoices/xml", headers={**AUTH, **MULTIPART}, content=body)
    assert response.status_code == 413
    assert "15 Mo" in response.json()["detail"]
    assert 16 * MiB < body.pulled <= 16 * MiB + CHUNK


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Cookie": "chorus_session="},
        {"Cookie": "chorus_csrf=abc"},
    ],
)
async def test_an_upload_without_credentials_is_401_before_reading(edge, services, headers):
    body = CountedBody(4 * MiB)
    response = await edge.post(
        "/api/v1/invoices/pdf", headers={**headers, **MULTIPART}, content=body
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert body.pulled == 0
    assert services.invoices.calls == []


async def test_a_normal_upload_with_attachments_still_deposits(edge, services):
    services.invoices.answer("StageAttachment", staged)
    services.invoices.answer("DepositPdfInvoice", deposited())
    attachment = b"%PDF-1.4 " + b"a" * (3 * MiB)
    response = await edge.post(
        "/api/v1/invoices/pdf",
        headers={**AUTH, "traceparent": TRACEPARENT},
        files=[
            ("file", ("facture.pdf", PDF, "application/pdf")),
            ("attachments[]", ("annexe.pdf", attachment, "application/pdf")),
        ],
        data={"metadata": json.dumps(METADATA)},
    )
    assert response.status_code == 201, response.text
    [stage] = services.invoices.calls_to("StageAttachment")
    assert stage.request.file.content == attachment
    [deposit] = services.invoices.calls_to("DepositPdfInvoice")
    assert deposit.metadata["authorization"] == "Bearer tok"
    assert "traceparent" not in deposit.metadata


async def test_the_portal_session_cookie_counts_as_credentials(edge, services):
    """Let through by the edge: the route itself then checks the CSRF token."""
    response = await edge.post(
        "/api/v1/invoices/xml",
        headers=SESSION,
        files={"file": ("facture.xml", b"<Invoice/>", "application/xml")},
        data={"supplier_structure_id": SUPPLIER_ID},
    )
    assert (response.status_code, response.json()["code"]) == (403, "CSRF_TOKEN_INVALID")


@pytest.mark.parametrize("declared", [True, False])
async def test_a_small_bound_route_refuses_a_3_mb_json(edge, services, declared):
    body = CountedBody(3 * MiB, fill=b" ", head=b"")
    headers = {"Content-Type": "application/json"}
    if declared:
        headers["Content-Length"] = str(body.total)
    response = await edge.post("/api/v1/accounts", headers=headers, content=body)
    assert response.status_code == 413
    problem = response.json()
    assert problem["code"] == "REQUEST_TOO_LARGE"
    assert "2 Mo" in problem["detail"]
    assert body.pulled == (0 if declared else 2 * MiB + CHUNK)
    assert services.identity.calls == []


async def test_a_3_mb_json_completion_is_refused_at_the_default_bound(edge, services):
    body = CountedBody(3 * MiB, fill=b" ", head=b"")
    response = await edge.post(
        "/api/v1/invoices/3f2b8d4c-7a61-4e1b-8d0e-5c9a2f1e7b33/completion",
        headers={**AUTH, "Content-Type": "application/json"},
        content=body,
    )
    assert (response.status_code, response.json()["code"]) == (413, "REQUEST_TOO_LARGE")
    assert body.pulled == 2 * MiB + CHUNK
    assert services.invoices.calls == []


async def test_a_1000_line_entry_passes_the_edge(edge, services):
    services.invoices.answer("CreateInvoice", pb.CreateInvoiceResponse(invoice=invoice()))
    lines = [{**create_body()["lines"][0], "description": "Prestation " + "x" * 900}] * 1000
    response = await edge.post("/api/v1/invoices", headers=AUTH, json=create_body(lines=lines))
    assert response.status_code == 201, response.text
    [call] = services.invoices.calls_to("CreateInvoice")
    assert len(call.request.lines) == 1000


async def test_trace_context_headers_never_reach_the_app():
    seen = {}

    async def app(scope, receive, send):
        seen.update(dict(scope["headers"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    transport = httpx.ASGITransport(app=body_limits.TraceContextStripMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(
            "/",
            headers={
                "traceparent": TRACEPARENT,
                "TraceState": "vendor=value",
                "baggage": "user=admin",
                "x-kept": "yes",
            },
        )
    assert response.status_code == 204
    assert {b"traceparent", b"tracestate", b"baggage"}.isdisjoint(seen)
    assert seen[b"x-kept"] == b"yes"


async def test_the_server_span_starts_its_own_trace(settings, services, monkeypatch):
    """With tracing on, the client's traceparent would make the request span join its trace
    (shown on the bare app); behind the edge the span starts a trace of its own."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument = main.FastAPIInstrumentor.instrument_app

    def instrument_with_test_provider(app, **kwargs):
        instrument(app, tracer_provider=provider, **kwargs)

    monkeypatch.setattr(main.telemetry, "configured", lambda: True)
    monkeypatch.setattr(main.FastAPIInstrumentor, "instrument_app", instrument_with_test_provider)
    config = server_config(settings)
    inner = _fastapi(config.app)

    def server_trace_ids() -> set[str]:
        return {
            format(span.context.trace_id, "032x")
            for span in exporter.get_finished_spans()
            if span.kind.name == "SERVER"
        }

    async with inner.router.lifespan_context(inner):
        for app in (inner, config.app):  # bare, then as served
            exporter.clear()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get(
                    "/api/v1/me", headers={"traceparent": TRACEPARENT, "baggage": "a=b"}
                )
            assert response.status_code == 401
            ids = server_trace_ids()
            assert len(ids) == 1
            if app is inner:
                assert ids == {SENT_TRACE_ID}
            else:
                assert ids != {SENT_TRACE_ID}
    main.FastAPIInstrumentor.uninstrument_app(inner)
