"""The relay of the portal's paths to the portal (``chorus_gateway.portal_proxy``): against a
real HTTP server standing for the portal, then against the portal itself (its app served by
uvicorn over the service doubles), whose per-IP limits must see the real client through the
relay."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re

import httpx
import pytest
import pytest_asyncio
import uvicorn
from chorus_devstack.ports import free_port
from chorus_platform.errors import Unauthenticated
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chorus_edge.security_headers import PAGE_CSP
from chorus_gateway.config import GatewaySettings
from chorus_gateway.main import server_config
from chorus_gateway.portal_proxy import is_portal_path
from chorus_portal.app import create_app as create_portal
from chorus_portal.config import PortalSettings

HTML = {"Accept": "text/html"}


async def echo(request: Request):
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers.items()),
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
        },
        headers={"X-Upstream": "portal", "Set-Cookie": "chorus_csrf=c; Path=/; HttpOnly"},
    )


@contextlib.asynccontextmanager
async def serving(app):
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def upstream():
    app = Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])
    async with serving(app) as url:
        yield url


@contextlib.asynccontextmanager
async def gateway(portal_url: str, **settings):
    served = server_config(
        GatewaySettings(portal_backend_url=portal_url, cpro_api_url="", **settings)
    ).app
    transport = httpx.ASGITransport(app=served, client=("203.0.113.9", 4444))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as c:
        yield c


@pytest.mark.parametrize(
    ("path", "relayed"),
    [
        ("/", True),
        ("/connexion", True),
        ("/factures/abc/completion", True),
        ("/static/portal.css", True),
        ("/apiculture", True),
        ("/api/v1/invoices", False),
        ("/api/v1/docs", False),
        ("/static/swagger-ui/swagger-ui.css", False),
        ("/static/api-docs/swagger-init.js", False),
        ("/api", False),
        ("/healthz", False),
        ("/readyz", False),
        ("/.well-known/jwks.json", False),
        ("/api/oauth/token", False),
        ("/cpro/factures/v1/deposer/flux", False),
    ],
)
def test_which_paths_are_relayed(path, relayed):
    assert is_portal_path(path) is relayed


async def test_a_portal_form_is_relayed_whole_and_its_answer_comes_back(upstream):
    form = "csrf_token=abc&login_email=marie%40exemple.fr&password=x" + "&n=" + "é" * 5000
    async with gateway(upstream) as client:
        response = await client.post(
            "/connexion?suite=%2Ffactures",
            content=form.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "chorus_session=s; chorus_csrf=abc",
                "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
                "X-Forwarded-For": "198.51.100.1",
            },
        )
    assert response.status_code == 200
    assert response.headers["x-upstream"] == "portal"
    assert response.headers["set-cookie"].startswith("chorus_csrf=c")
    seen = response.json()
    assert (seen["method"], seen["path"], seen["query"]) == (
        "POST",
        "/connexion",
        "suite=%2Ffactures",
    )
    body = form.encode()
    assert (seen["size"], seen["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
    headers = seen["headers"]
    assert headers["cookie"] == "chorus_session=s; chorus_csrf=abc"
    assert "traceparent" not in headers
    assert headers["x-forwarded-for"] == "198.51.100.1, 203.0.113.9"
    assert headers["x-forwarded-host"] == "127.0.0.1:8080"


async def test_the_relay_keeps_no_cookie_of_one_client_for_another(upstream):
    async with gateway(upstream) as client:
        # One browser gets a cookie from the portal (the echo sets chorus_csrf=c) ...
        answered = await client.get("/connexion", headers={"Cookie": "chorus_session=alice"})
        assert answered.headers["set-cookie"].startswith("chorus_csrf=c")
        assert answered.json()["headers"]["cookie"] == "chorus_session=alice"
        # ... then another browser, sending none, through the same gateway process (the test
        # client forgets what it was given): the portal must see no cookie at all.
        client.cookies.clear()
        seen = (await client.get("/factures")).json()["headers"]
    assert "cookie" not in seen


async def test_an_api_path_stays_with_the_gateway(upstream):
    async with gateway(upstream) as client:
        health = await client.get("/healthz")
        missing = await client.get("/api/v1/nothing-here")
        docs_asset = await client.get("/static/api-docs/swagger-init.js")
    assert health.json() == {"status": "ok"}
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "x-upstream" not in missing.headers
    assert docs_asset.status_code == 200 and "x-upstream" not in docs_asset.headers


async def test_the_portal_down_is_a_french_503_page():
    async with gateway(f"http://127.0.0.1:{free_port()}") as client:
        response = await client.get("/connexion", headers=HTML)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert '<html lang="fr">' in response.text
    assert "Portail momentanément indisponible" in response.text
    assert "<script" not in response.text and "style=" not in response.text


async def test_without_a_portal_url_nothing_is_relayed(upstream):
    async with gateway("") as client:
        response = await client.get("/connexion")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def test_the_real_portal_through_the_relay_limits_each_real_client(services):
    """The portal trusts the relay's hop (CHORUS_TRUSTED_PROXY_HOPS=1, as make run sets):
    a client hammering the login is refused, another client behind the same gateway is not."""
    services.identity.answer(
        "CreateSession", Unauthenticated("INVALID_CREDENTIALS", "Identifiants incorrects.")
    )
    addresses = {f"{d.name}_addr": f"127.0.0.1:{d.port}" for d in services.all()}
    portal_settings = PortalSettings(
        rate_limit_burst=2, rate_limit_per_minute=1, trusted_proxy_hops=1, **addresses
    )
    app = create_portal(portal_settings)
    async with serving(app) as portal_url, gateway(portal_url) as client:
        page = await client.get("/connexion", headers=HTML)
        assert page.status_code == 200 and '<html lang="fr">' in page.text
        csrf = csrf_of(page.text)
        form = {"csrf_token": csrf, "login_email": "marie@exemple.fr", "password": "x"}
        codes = [
            (await client.post("/connexion", data=form, headers=HTML)).status_code for _ in range(3)
        ]
        transport = httpx.ASGITransport(
            app=server_config(GatewaySettings(portal_backend_url=portal_url, cpro_api_url="")).app,
            client=("198.51.100.77", 5555),
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as c:
            c.cookies.update(client.cookies)
            other = await c.post("/connexion", data=form, headers=HTML)

    assert codes == [401, 401, 429]
    assert other.status_code == 401
    forwarded = {call.metadata["x-forwarded-for"] for call in services.identity.calls}
    assert forwarded == {"203.0.113.9", "198.51.100.77"}
