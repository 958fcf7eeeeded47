"""The portal's probes: /healthz and /livez (the process answers), /readyz (200 while serving,
the backends' health in the body, 503 while draining), and its server configuration."""

from __future__ import annotations

import socket

from chorus_platform import http_drain

from chorus_portal.config import PortalSettings
from chorus_portal.main import server_config

SERVICES = ("identity", "structures", "invoices", "notifications")


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_healthz_and_livez_are_ok_even_without_a_backend(gateway, services):
    settings = services.settings(identity_addr=f"127.0.0.1:{unused_port()}")
    async with gateway(settings) as client:
        answers = [await client.get(path) for path in ("/healthz", "/livez")]

    for response in answers:
        assert (response.status_code, response.json()) == (200, {"status": "ok"})
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_readyz_is_200_when_every_service_is_serving(api):
    response = await api.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "services": {name: "SERVING" for name in SERVICES},
        "not_ready": [],
    }


async def test_readyz_stays_200_naming_the_services_not_ready(gateway, services):
    await services.structures.set_serving(False)
    settings = services.settings(identity_addr=f"127.0.0.1:{unused_port()}")

    async with gateway(settings) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["not_ready"] == ["identity", "structures"]
    assert body["services"]["identity"] == "UNREACHABLE"
    assert body["services"]["structures"] == "NOT_SERVING"


async def test_readyz_is_503_while_draining(api, monkeypatch):
    monkeypatch.setattr(http_drain, "_draining", True)
    response = await api.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "draining"
    assert response.headers["Retry-After"]
    assert (await api.get("/healthz")).status_code == 200


async def test_the_api_is_not_the_portal_s(api):
    response = await api.get("/api/v1/invoices", headers={"Accept": "application/json"})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_settings_defaults_and_server():
    settings = PortalSettings()
    assert (settings.service_name, settings.http_port, settings.metrics_port) == (
        "portal",
        8070,
        9467,
    )
    config = server_config(settings)
    assert config.port == 8070
    assert config.access_log is False and config.proxy_headers is False
    assert config.server_header is False
