"""What the gateway's and the portal's settings share: the HTTP side of an edge process."""

from __future__ import annotations

import ipaddress

from chorus_platform.settings import ChorusSettings
from pydantic import Field, field_validator


class EdgeSettings(ChorusSettings):
    """The shared ``CHORUS_*`` variables plus what an HTTP process facing clients needs
    (``chorus_gateway.config.GatewaySettings``, ``chorus_portal.config.PortalSettings``)."""

    http_host: str = Field("127.0.0.1", description="HTTP listen address; containers set 0.0.0.0.")
    portal_url: str = Field(
        "http://127.0.0.1:8080",
        description="Public URL of the portal; an https:// URL makes the cookies Secure.",
    )
    trusted_proxies: str = Field(
        "",
        description="Addresses or networks (comma-separated, e.g. 10.0.0.0/8) of the proxies "
        "in front of the process: their X-Forwarded-For entries are believed, and the client "
        "is the right-most hop outside them. Empty (default): the client is the socket peer.",
    )
    trusted_proxy_hops: int = Field(
        0,
        ge=0,
        le=10,
        description="Number of proxies in front of the process, each appending to "
        "X-Forwarded-For (instead of, or with, CHORUS_TRUSTED_PROXIES); 0 (default): none.",
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

    @field_validator("trusted_proxies")
    @classmethod
    def _networks_readable(cls, value: str) -> str:
        networks_of(value)
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return networks_of(self.trusted_proxies)

    @property
    def secure_cookies(self) -> bool:
        """Cookies get the Secure flag when the portal is served over HTTPS."""
        return self.portal_url.startswith("https://")


def networks_of(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``"10.0.0.0/8, 192.0.2.7"`` -> networks (a bare address is a /32 or /128); ValueError
    naming the first entry that is neither."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or network: {entry!r}") from None
    return tuple(networks)
