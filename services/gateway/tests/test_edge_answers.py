"""What every answer carries: security headers, relative redirects, the API documentation
served from the gateway under the portal's CSP, 503 with ``Retry-After`` when a service
cannot answer, and a 500 with only a correlation id for anything unexpected (the French error
page on the portal)."""

from __future__ import annotations

import logging
import re
import socket

import httpx
import pytest
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.errors import Unavailable
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from chorus_edge.security_headers import API_CSP, PAGE_CSP, relative_location
from chorus_gateway.app import create_app

AUTH = {"Authorization": "Bearer tok"}


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_always(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


async def test_api_answers_are_never_stored_nor_sniffed(api, services):
    services.identity.answer("GetMe", pb.GetMeResponse(user=pb.User(id="u1")))

    answers = [
        await api.get("/api/v1/me", headers=AUTH),
        await api.get("/api/v1/me"),  # 401
        await api.get("/api/v1/nothing-here"),  # 404
        await api.get("/api/v1/openapi.json"),
        await api.get("/healthz"),
    ]

    for response in answers:
        assert_always(response)
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == API_CSP


async def test_a_route_s_own_cache_control_is_kept(api, services):
    services.identity.answer("GetPublicKeys", pb.GetPublicKeysResponse())

    response = await api.get("/.well-known/jwks.json")

    assert response.headers["cache-control"] == "public, max-age=300"


async def test_the_docs_load_nothing_from_elsewhere_and_run_nothing_inline(api):
    page = await api.get("/api/v1/docs")

    assert page.status_code == 200
    assert page.headers["content-security-policy"] == PAGE_CSP
    assert "http://" not in page.text and "https://" not in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "an inline script"
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/static/") for source in sources)
    for source in sources:
        asset = await api.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert "/api/v1/openapi.json" in page.text


@pytest.mark.parametrize(
    ("location", "relative"),
    [
        ("http://evil.example/factures", "/factures"),
        ("https://evil.example/a/b?c=1#d", "/a/b?c=1#d"),
        ("//evil.example/x", "/x"),
        ("/\\evil.example", "/evil.example"),
        ("/factures?avis=ok", "/factures?avis=ok"),
    ],
)
def test_locations_are_made_relative(location, relative):
    made = relative_location(location)
    assert made == relative
    assert not made.startswith("//")


async def test_a_database_outage_reported_by_a_service_keeps_its_retry_after(api, services):
    services.identity.answer(
        "GetMe",
        Unavailable(
            "DATABASE_UNAVAILABLE",
            "Base de données indisponible, réessayez.",
            metadata={"retry_after_seconds": "5"},
        ),
    )

    response = await api.get("/api/v1/me", headers=AUTH)

    assert (response.status_code, response.json()["code"]) == (503, "DATABASE_UNAVAILABLE")
    assert response.headers["retry-after"] == "5"


def failing_app(settings):
    """The real app with one extra route that fails the way a bug would."""
    app = create_app(settings)

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise KeyError("secret internal detail")

    return app


async def test_an_unexpected_error_is_500_with_only_a_correlation_id(settings, caplog):
    app = failing_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    provider = TracerProvider()
    caplog.set_level(logging.ERROR, logger="chorus_edge.error_handlers")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        with provider.get_tracer("test").start_as_current_span("request") as span:
            response = await client.get("/api/v1/boom")
        trace_id = format(span.get_span_context().trace_id, "032x")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "INTERNAL"
    assert problem["correlation_id"] == trace_id
    assert "secret" not in response.text and "KeyError" not in response.text
    logged = [r for r in caplog.records if getattr(r, "correlation_id", None) == trace_id]
    assert logged and logged[0].exc_info is not None
    assert not trace.get_current_span().get_span_context().is_valid
