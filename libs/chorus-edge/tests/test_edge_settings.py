"""EdgeSettings, what the gateway's and the portal's settings share, and the body limits'
page hook."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from chorus_edge import body_limits
from chorus_edge.settings import EdgeSettings, networks_of


def test_networks_are_read_and_a_bad_entry_is_named():
    assert networks_of("10.0.0.0/8, 192.0.2.7") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.0.2.7/32"),
    )
    with pytest.raises(ValueError, match="'pas-une-adresse'"):
        networks_of("10.0.0.0/8, pas-une-adresse")


def test_settings_refuse_unreadable_proxies_and_secure_cookies_follow_https():
    with pytest.raises(ValidationError):
        EdgeSettings(trusted_proxies="nimporte quoi")
    assert not EdgeSettings().secure_cookies
    assert EdgeSettings(portal_url="https://chorus.example.org").secure_cookies


async def _refuse_oversized(app, path: str) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [
            (b"content-length", str(body_limits.ENTRY_BYTES + 1).encode()),
            (b"cookie", b"chorus_session=t"),
            (b"authorization", b"Bearer t"),
        ],
    }

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


async def test_a_portal_413_uses_the_page_given_and_the_api_s_stays_problem_json():
    async def never(scope, receive, send):  # the app is not reached
        raise AssertionError("reached")

    def page(title: str, message: str, signed_in: bool) -> str:
        return f"<h1>{title}</h1><p>{message}</p><p>{signed_in}</p>"

    with_page = body_limits.behind_edge_middlewares(never, page, {"X-Frame-Options": "DENY"})
    status, headers, body = await _refuse_oversized(with_page, "/factures/nouvelle")
    assert status == 413
    assert headers["content-type"].startswith("text/html")
    assert headers["x-frame-options"] == "DENY"
    assert b"Envoi trop volumineux" in body and b"True" in body

    status, headers, body = await _refuse_oversized(with_page, "/api/v1/invoices")
    assert status == 413
    assert headers["content-type"] == "application/problem+json"

    without = body_limits.behind_edge_middlewares(never)
    status, headers, _ = await _refuse_oversized(without, "/factures/nouvelle")
    assert (status, headers["content-type"]) == (413, "application/problem+json")
