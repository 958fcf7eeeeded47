"""Portal settings: the shared ``CHORUS_*`` variables plus the HTTP side."""

from __future__ import annotations

from pydantic import Field

from chorus_edge.settings import EdgeSettings


class PortalSettings(EdgeSettings):
    """Settings of the web portal (no database of its own); the HTTP side it shares with the
    gateway is :class:`~chorus_edge.settings.EdgeSettings` (``CHORUS_PORTAL_URL``, trusted
    proxies, per-IP rate limits, health deadline)."""

    service_name: str = "portal"
    http_port: int = Field(8070, description="HTTP listen port of the web portal.")
