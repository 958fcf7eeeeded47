"""One rate limiter for every door, and the client address it counts: the portal's forms and
the REST API draw from the same per-(client, purpose) buckets; ``X-Forwarded-For`` is believed
only as the configured proxies set it."""

from __future__ import annotations

import ipaddress
import re

import pytest
from chorus_platform.errors import Unauthenticated
from pydantic import ValidationError

from chorus_edge.client_address import TrustedProxies, client_address
from chorus_edge.rate_limits import RateLimiter, bucket_client
from chorus_gateway.config import GatewaySettings

HTML = {"Accept": "text/html"}
LOGIN = {"login_email": "marie@example.fr", "password": "mauvais"}
PEER = "203.0.113.7"  # the ASGI transport's client (tests/conftest.py)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF field in the page"
    return match.group(1)


def refuse_logins(services) -> None:
    services.identity.answer(
        "CreateSession", Unauthenticated("INVALID_CREDENTIALS", "Identifiants incorrects.")
    )


async def portal_login(client, csrf: str, headers: dict[str, str] | None = None):
    return await client.post(
        "/connexion", data={**LOGIN, "csrf_token": csrf}, headers={**HTML, **(headers or {})}
    )


NETS = (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "client"),
    [
        # No proxy trusted (the default): the header is ignored.
        ("198.51.100.9", ["1.2.3.4"], TrustedProxies(), "198.51.100.9"),
        # The ingress appends the address it saw: the right-most untrusted hop.
        ("10.1.2.3", ["6.6.6.6, 198.51.100.9"], TrustedProxies(networks=NETS), "198.51.100.9"),
        (
            "10.1.2.3",
            ["6.6.6.6", "198.51.100.9, 10.9.9.9"],
            TrustedProxies(networks=NETS),
            "198.51.100.9",
        ),
        # A peer outside the trusted networks is the client, whatever it claims.
        ("198.51.100.9", ["1.2.3.4"], TrustedProxies(networks=NETS), "198.51.100.9"),
        # Hops: one proxy in front, whose address is unknown.
        ("192.0.2.1", ["6.6.6.6, 198.51.100.9"], TrustedProxies(hops=1), "198.51.100.9"),
        ("192.0.2.1", ["6.6.6.6, 198.51.100.9, 192.0.2.2"], TrustedProxies(hops=2), "198.51.100.9"),
        # Ports and brackets are read; an unreadable entry stops at the hop that wrote it.
        ("10.1.2.3", ["[2001:db8::7]:4711"], TrustedProxies(networks=NETS), "2001:db8::7"),
        ("10.1.2.3", ["198.51.100.9:4711"], TrustedProxies(networks=NETS), "198.51.100.9"),
        ("10.1.2.3", ["unknown"], TrustedProxies(networks=NETS), "10.1.2.3"),
        # Every hop trusted: the left-most one.
        ("10.1.2.3", ["10.0.0.5, 10.0.0.6"], TrustedProxies(networks=NETS), "10.0.0.5"),
        # Behind a trusted proxy without the header: the proxy itself.
        ("10.1.2.3", [], TrustedProxies(networks=NETS), "10.1.2.3"),
    ],
)
def test_the_client_is_the_right_most_untrusted_hop(peer, forwarded, proxies, client):
    assert client_address(peer, forwarded, proxies) == client


def test_trusted_proxies_must_be_addresses_or_networks():
    assert GatewaySettings(trusted_proxies="10.0.0.0/8, 192.0.2.7").trusted_proxy_networks == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
    )
    with pytest.raises(ValidationError, match="ingress"):
        GatewaySettings(trusted_proxies="10.0.0.0/8, ingress")


def test_by_default_no_proxy_is_trusted():
    settings = GatewaySettings()
    assert (settings.trusted_proxies, settings.trusted_proxy_hops) == ("", 0)


def test_an_ipv6_client_is_counted_by_its_64_prefix():
    assert bucket_client("2001:db8:1:2:aaaa::1") == bucket_client("2001:db8:1:2:bbbb::2")
    assert bucket_client("2001:db8:1:3::1") != bucket_client("2001:db8:1:2::1")
    assert bucket_client("198.51.100.9") == "198.51.100.9"


def test_buckets_refill_over_time():
    now = [0.0]
    limiter = RateLimiter(burst=1, per_minute=60, clock=lambda: now[0])
    assert limiter.acquire("1.2.3.4", "login") is None
    assert limiter.acquire("1.2.3.4", "login") == 1.0
    assert limiter.acquire("5.6.7.8", "login") is None
    now[0] += 1.0
    assert limiter.acquire("1.2.3.4", "login") is None


async def test_rotating_x_forwarded_for_without_a_trusted_proxy_changes_nothing(services, gateway):
    refuse_logins(services)
    settings = services.settings(rate_limit_burst=3, rate_limit_per_minute=1)
    async with gateway(settings) as api:
        codes = [
            (
                await api.post(
                    "/api/v1/auth/token", json=LOGIN, headers={"X-Forwarded-For": f"198.18.0.{i}"}
                )
            ).status_code
            for i in range(1, 6)
        ]

    assert codes == [401, 401, 401, 429, 429]
    assert len(services.identity.calls_to("CreateSession")) == 3
    assert {c.metadata["x-forwarded-for"] for c in services.identity.calls} == {PEER}


async def test_behind_a_trusted_proxy_rotating_the_client_part_changes_nothing(services, gateway):
    refuse_logins(services)
    settings = services.settings(
        rate_limit_burst=3, rate_limit_per_minute=1, trusted_proxies="203.0.113.0/24"
    )
    async with gateway(settings) as api:
        codes = [
            (
                await api.post(
                    "/api/v1/auth/token",
                    json=LOGIN,
                    # What the client wrote, then what the proxy appended (the real client).
                    headers={"X-Forwarded-For": f"198.18.0.{i}, 192.0.2.44"},
                )
            ).status_code
            for i in range(1, 6)
        ]

    assert codes == [401, 401, 401, 429, 429]
    assert {c.metadata["x-forwarded-for"] for c in services.identity.calls} == {"192.0.2.44"}


async def test_behind_a_trusted_proxy_each_real_client_has_its_own_bucket(services, gateway):
    refuse_logins(services)
    settings = services.settings(rate_limit_burst=1, rate_limit_per_minute=1, trusted_proxy_hops=1)
    async with gateway(settings) as api:
        first = await api.post(
            "/api/v1/auth/token", json=LOGIN, headers={"X-Forwarded-For": "192.0.2.1"}
        )
        again = await api.post(
            "/api/v1/auth/token", json=LOGIN, headers={"X-Forwarded-For": "192.0.2.1"}
        )
        other = await api.post(
            "/api/v1/auth/token", json=LOGIN, headers={"X-Forwarded-For": "192.0.2.2"}
        )

    assert (first.status_code, again.status_code, other.status_code) == (401, 429, 401)


REGISTRATION = {
    "login_email": "inscrite@exemple.fr",
    "first_name": "Inès",
    "last_name": "Martin",
    "terms_accepted": True,
}
