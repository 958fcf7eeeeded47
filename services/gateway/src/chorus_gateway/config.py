"""Gateway settings: the shared ``CHORUS_*`` variables plus the HTTP side."""

from __future__ import annotations

from chorus_platform.settings import ChorusSettings
from pydantic import Field


class GatewaySettings(ChorusSettings):
    """Settings of the REST gateway and web portal (no database of its own)."""

    service_name: str = "gateway"
    http_host: str = Field("127.0.0.1", description="HTTP listen address; containers set 0.0.0.0.")
    http_port: int = Field(8080, description="HTTP listen port of the API and the portal.")
    portal_url: str = Field(
        "http://127.0.0.1:8080",
        description="Public URL of the portal; an https:// URL makes the cookies Secure.",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies whose X-Forwarded-For is trusted for the client IP ('*' = any).",
    )
    health_timeout_seconds: float = Field(
        1.0, description="Deadline of each downstream health check behind /readyz."
    )
    rate_limit_burst: int = Field(
        10,
        ge=1,
        description="Requests one client IP may make at once to each of login, second factor, "
        "password reset and activation resend before 429.",
    )
    rate_limit_per_minute: float = Field(
        10.0, gt=0, description="Refill rate of those per-IP buckets, requests per minute."
    )

    @property
    def secure_cookies(self) -> bool:
        """Cookies get the Secure flag when the portal is served over HTTPS."""
        return self.portal_url.startswith("https://")
