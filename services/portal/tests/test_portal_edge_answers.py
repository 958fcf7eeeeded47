"""What every portal answer carries: security headers and the strict CSP, relative redirects,
a French 503 page with ``Retry-After`` when a service cannot answer, and the French 500 page
with only a correlation id for anything unexpected (the REST API's side is
services/gateway/tests/test_edge_answers.py)."""

from __future__ import annotations

import re
import socket

import httpx

from chorus_edge.security_headers import PAGE_CSP
from chorus_portal.app import create_app

from .test_portal import HTML, csrf_of


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_always(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


async def test_portal_pages_keep_their_csp(api):
    response = await api.get("/connexion", headers=HTML)

    assert_always(response)
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert "script-src" not in PAGE_CSP and "unsafe-inline" not in PAGE_CSP
    assert response.headers["cache-control"] == "no-store"


async def test_static_assets_may_be_cached_but_not_sniffed(api):
    response = await api.get("/static/portal.css")

    assert response.status_code == 200
    assert_always(response)
    assert "cache-control" not in response.headers


async def test_the_host_header_is_never_reflected_in_a_redirect(api):
    response = await api.get("/factures/", headers={**HTML, "Host": "evil.example"})

    assert response.status_code in (303, 307)
    assert "evil.example" not in response.headers["location"]
    assert response.headers["location"].startswith("/")


async def test_a_service_down_is_the_french_503_page_with_retry_after(gateway, services):
    settings = services.settings(identity_addr=f"127.0.0.1:{unused_port()}")

    async with gateway(settings) as client:
        cookie_page = await client.get(
            "/mon-compte", headers={**HTML, "Cookie": "chorus_session=t"}
        )
        csrf = csrf_of((await client.get("/connexion", headers=HTML)).text)
        portal = await client.post(
            "/connexion",
            data={"csrf_token": csrf, "login_email": "a@b.fr", "password": "x"},
            headers=HTML,
        )

    assert portal.headers["retry-after"] == "2"
    for page in (cookie_page, portal):
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "indisponible" in page.text
        assert "Traceback" not in page.text


def failing_app(settings):
    """The real app with one extra route that fails the way a bug would."""
    app = create_app(settings)

    @app.get("/boum")
    async def boom() -> None:
        raise KeyError("secret internal detail")

    return app


async def test_an_unexpected_error_on_the_portal_is_the_french_page_with_its_reference(settings):
    transport = httpx.ASGITransport(app=failing_app(settings), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/boum", headers=HTML)

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Erreur interne" in response.text
    assert re.search(r"<code>[0-9a-f]{32}</code>", response.text)
    assert "secret" not in response.text
    assert response.headers["content-security-policy"] == PAGE_CSP
