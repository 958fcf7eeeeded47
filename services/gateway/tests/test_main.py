"""Settings and the uvicorn configuration."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from chorus_gateway.config import GatewaySettings
from chorus_gateway.main import server_config


def test_http_port_and_host_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CHORUS_HTTP_PORT", "9090")
    monkeypatch.setenv("CHORUS_HTTP_HOST", "0.0.0.0")

    settings = GatewaySettings()

    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 9090)
    assert settings.service_name == "gateway"


def test_defaults_listen_locally_on_8080(monkeypatch):
    for name in ("CHORUS_HTTP_PORT", "CHORUS_HTTP_HOST", "CHORUS_PORTAL_URL"):
        monkeypatch.delenv(name, raising=False)

    settings = GatewaySettings()

    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.secure_cookies is False
    assert GatewaySettings(portal_url="https://chorus.example").secure_cookies is True


def test_uvicorn_keeps_our_logging_and_its_query_logging_access_log_off():
    config = server_config(GatewaySettings(http_port=18080))

    assert config.log_config is None
    assert config.access_log is False
    assert config.port == 18080


JSON = {"content-type": "application/json"}


def test_http_is_parsed_by_httptools_on_uvloop_unless_the_setting_turns_it_off():
    default = server_config(GatewaySettings(http_port=18080))
    plain = server_config(GatewaySettings(http_port=18080, event_loop="asyncio"))

    assert (default.loop, default.http) == ("uvloop", "httptools")
    assert (plain.loop, plain.http) == ("asyncio", "h11")


@pytest.mark.parametrize("event_loop", ["uvloop", "asyncio"])
async def test_chorus_gateway_serve_answers_and_stops_on_sigterm(event_loop):
    """The process as deployed (``chorus-gateway serve``, its loop from run_cli)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CHORUS_HTTP_PORT": str(port), "CHORUS_EVENT_LOOP": event_loop}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("chorus-gateway")),
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            async with asyncio.timeout(60):
                while True:
                    try:
                        response = await client.get("/healthz")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.2)
            assert response.status_code == 200
            assert response.json() == {"status": "ok"}
            refused = await client.post("/api/v1/invoices", content=b"{", headers=JSON)
            assert refused.status_code in (400, 401, 422)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    # uvicorn drains, then raises the signal it caught again: the exit status says SIGTERM
    assert process.returncode == -signal.SIGTERM, output.decode()
    assert b"Application shutdown complete" in output
    assert b"Traceback" not in output


async def test_sigterm_with_a_shutdown_delay_is_unready_at_once_and_serves_meanwhile():
    """CHORUS_SHUTDOWN_DELAY_SECONDS: /readyz 503 from SIGTERM on, requests still answered
    during the delay (the endpoints are being removed), then the usual drain."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CHORUS_HTTP_PORT": str(port), "CHORUS_SHUTDOWN_DELAY_SECONDS": "8"}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("chorus-gateway")),
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            async with asyncio.timeout(60):
                while True:
                    try:
                        ready = await client.get("/readyz")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.2)
            assert ready.status_code == 200  # no backend up: ready all the same (degraded)
            assert ready.json()["status"] == "degraded"

            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                while (ready := await client.get("/readyz")).status_code == 200:
                    await asyncio.sleep(0.05)
            assert (ready.status_code, ready.json()["status"]) == (503, "draining")
            assert (await client.get("/healthz")).status_code == 200  # still serving
            assert process.returncode is None
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == -signal.SIGTERM, output.decode()
    assert b"Application shutdown complete" in output
    assert b"Traceback" not in output
