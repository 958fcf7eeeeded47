"""The relay of the Chorus Pro-compatible paths to cpro-api (``chorus_gateway.cpro_proxy``),
against a real HTTP server on a socket standing for cpro-api."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json

import httpx
import pytest
import pytest_asyncio
import uvicorn
from chorus_devstack.ports import free_port
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from chorus_gateway.config import GatewaySettings
from chorus_gateway.cpro_proxy import is_cpro_path
from chorus_gateway.main import server_config

BIG = 3 * 1024 * 1024


async def echo(request: Request):
    body = await request.body()
    if request.url.path.endswith("/stream"):

        async def chunks():
            for _ in range(4):
                yield b"z" * 1_000_000

        return StreamingResponse(chunks(), media_type="application/octet-stream")
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": {k: v for k, v in request.headers.items()},
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
        },
        status_code=401 if request.url.path.endswith("/refuse") else 200,
        headers={"X-Upstream": "cpro-api", "Retry-After": "7"},
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def upstream():
    port = free_port()
    app = Starlette(routes=[Route("/{path:path}", echo, methods=["GET", "POST"])])
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


@contextlib.asynccontextmanager
async def gateway(cpro_api_url: str):
    served = server_config(GatewaySettings(cpro_api_url=cpro_api_url)).app
    transport = httpx.ASGITransport(app=served, client=("203.0.113.9", 4444))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as c:
        yield c


@pytest.mark.parametrize(
    ("path", "relayed"),
    [
        ("/api/oauth/token", True),
        ("/api/oauth/token/", True),
        ("/cpro", True),
        ("/cpro/factures/v1/deposer/flux", True),
        ("/cprox", False),
        ("/api/oauth", False),
        ("/api/v1/invoices", False),
        ("/", False),
    ],
)
def test_which_paths_are_relayed(path, relayed):
    assert is_cpro_path(path) is relayed


async def test_a_request_is_relayed_whole_and_its_answer_comes_back(upstream):
    payload = json.dumps({"fichierFlux": "A" * BIG}).encode()
    async with gateway(upstream) as client:
        response = await client.post(
            "/cpro/factures/v1/deposer/flux?trace=1",
            content=payload,
            headers={
                "Authorization": "Bearer app-token",
                "cpro-account": "bG9naW46cGFzc3dvcmQ=",
                "Content-Type": "application/json;charset=utf-8",
                "Idempotency-Key": "k-1",
                "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01",
                "X-Forwarded-For": "198.51.100.1",
            },
        )
    assert response.status_code == 200
    assert response.headers["x-upstream"] == "cpro-api"
    seen = response.json()
    assert (seen["method"], seen["path"], seen["query"]) == (
        "POST",
        "/cpro/factures/v1/deposer/flux",
        "trace=1",
    )
    assert (seen["size"], seen["sha256"]) == (len(payload), hashlib.sha256(payload).hexdigest())
    headers = seen["headers"]
    assert headers["authorization"] == "Bearer app-token"
    assert headers["cpro-account"] == "bG9naW46cGFzc3dvcmQ="
    assert headers["idempotency-key"] == "k-1"
    assert headers["content-type"] == "application/json;charset=utf-8"
    assert "traceparent" not in headers
    assert headers["x-forwarded-for"] == "198.51.100.1, 203.0.113.9"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "127.0.0.1:8080"


async def test_the_token_endpoint_a_refusal_and_a_streamed_answer_are_relayed(upstream):
    async with gateway(upstream) as client:
        token = await client.post(
            "/api/oauth/token",
            content=b"grant_type=client_credentials&client_id=a&client_secret=b",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        refused = await client.post("/cpro/refuse", json={})
        streamed = await client.get("/cpro/stream")
    assert token.json()["path"] == "/api/oauth/token"
    assert token.json()["size"] == 57
    assert (refused.status_code, refused.headers["retry-after"]) == (401, "7")
    assert streamed.status_code == 200
    assert len(streamed.content) == 4_000_000


async def test_other_paths_stay_with_the_gateway(upstream):
    async with gateway(upstream) as client:
        response = await client.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_cpro_api_down_is_a_503_in_the_chorus_pro_envelope():
    async with gateway(f"http://127.0.0.1:{free_port()}") as client:
        response = await client.post("/cpro/factures/v1/deposer/flux", json={})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    body = response.json()
    assert body["codeRetour"] == 503
    assert "indisponible" in body["libelle"]


async def test_without_a_cpro_api_url_nothing_is_relayed(upstream):
    async with gateway("") as client:
        response = await client.post("/cpro/factures/v1/deposer/flux", json={})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
