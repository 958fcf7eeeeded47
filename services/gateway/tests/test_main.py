"""Settings and the uvicorn configuration."""

from __future__ import annotations

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
