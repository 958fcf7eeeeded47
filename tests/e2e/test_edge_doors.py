"""The per-IP rate limits of the doors on the real stack: the REST API's (the gateway's
buckets) and the portal's forms (the portal's own buckets, reached through the gateway's
relay, which the portal trusts as one hop so it counts the real client); a client rotating its
own ``X-Forwarded-For`` gains nothing.

The stack trusts 127.0.0.1 as its proxy (conftest.E2E_ENV): the tests play a proxy that
appends the client's address to whatever ``X-Forwarded-For`` the client wrote.
"""

from __future__ import annotations

import re

import httpx
from e2e_support import client_ip, unique_email

BURST = 10  # CHORUS_RATE_LIMIT_BURST, the default
HTML = {"Accept": "text/html"}


def through_proxy(client: str, written_by_client: str = "") -> dict[str, str]:
    """The X-Forwarded-For a trusted proxy passes on: the client's own, then the client."""
    chain = f"{written_by_client}, {client}" if written_by_client else client
    return {"X-Forwarded-For": chain}


async def portal_login(portal: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    page = await portal.get("/connexion", headers={**HTML, **headers})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = {"csrf_token": csrf, "login_email": unique_email("porte"), "password": "Mauvais-1234"}
    return await portal.post("/connexion", data=form, headers={**HTML, **headers})


async def api_login(api: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    body = {"login_email": unique_email("porte"), "password": "Mauvais-1234"}
    return await api.post("/api/v1/auth/token", json=body, headers=headers)


async def test_the_portal_login_after_ten_portal_logins_is_limited(gateway_url):
    client = through_proxy(client_ip())
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        portal_codes = [(await portal_login(http, client)).status_code for _ in range(BURST)]
        eleventh = await portal_login(http, client)
        other_client = await portal_login(http, through_proxy(client_ip()))

    assert 429 not in portal_codes
    assert eleventh.status_code == 429
    assert "Trop de tentatives" in eleventh.text
    assert int(eleventh.headers["retry-after"]) >= 1
    assert other_client.status_code != 429


async def test_api_logins_after_ten_api_logins_are_limited(gateway_url):
    client = through_proxy(client_ip())
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        api_codes = [(await api_login(http, client)).status_code for _ in range(BURST)]
        eleventh = await api_login(http, client)

    assert 429 not in api_codes
    assert eleventh.status_code == 429
    assert eleventh.json()["code"] == "RATE_LIMITED"


async def test_rotating_x_forwarded_for_does_not_bypass_the_limit(gateway_url):
    client = client_ip()
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        api_codes = [
            (await api_login(http, through_proxy(client, client_ip()))).status_code
            for _ in range(BURST + 2)
        ]
        portal_codes = [
            (await portal_login(http, through_proxy(client, client_ip()))).status_code
            for _ in range(BURST + 1)
        ]

    assert 429 not in api_codes[:BURST]
    assert api_codes[BURST:] == [429, 429]
    assert 429 not in portal_codes[:BURST]
    assert portal_codes[BURST] == 429


async def test_api_answers_carry_the_security_headers(gateway_url):
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        answer = await http.get("/api/v1/me", headers=through_proxy(client_ip()))
        redirect = await http.get(
            "/factures/", headers={**HTML, "Host": "evil.example", **through_proxy(client_ip())}
        )

    assert answer.status_code == 401
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert redirect.is_redirect
    assert redirect.headers["location"].startswith("/")
    assert "evil.example" not in redirect.headers["location"]
