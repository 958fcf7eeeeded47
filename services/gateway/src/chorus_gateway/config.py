"""Gateway settings: the shared ``CHORUS_*`` variables plus the HTTP side."""

from __future__ import annotations

from pydantic import Field

from chorus_edge.settings import EdgeSettings


class GatewaySettings(EdgeSettings):
    """Settings of the REST gateway (no database of its own); the HTTP side it shares with the
    portal is :class:`~chorus_edge.settings.EdgeSettings`."""

    service_name: str = "gateway"
    http_port: int = Field(8080, description="HTTP listen port of the REST API.")
    cpro_api_url: str = Field(
        "http://127.0.0.1:8090",
        description="Where cpro-api (the Chorus Pro-compatible API) listens: /api/oauth/token "
        "and /cpro/** are relayed there, so both answer at the gateway's address. Empty: "
        "not relayed.",
    )
    portal_backend_url: str = Field(
        "http://127.0.0.1:8070",
        description="Where the web portal listens: every path the gateway does not own (not "
        "/api/**, the probes, /.well-known/** or the Chorus Pro paths) is relayed there, so "
        "the portal answers at the gateway's address. Empty: not relayed.",
    )
