"""Feed, probes, JWKS, OpenAPI, unknown routes and cookie authentication."""

from __future__ import annotations

import socket

from chorus.identity.v1 import identity_service_pb2 as identity_pb
from chorus.notifications.v1 import notifications_service_pb2 as notifications_pb
from chorus_platform.errors import NotFound
from google.protobuf.timestamp_pb2 import Timestamp

AUTH = {"Authorization": "Bearer tok"}
ITEM_ID = "5d1c6c2e-8f7a-4b3c-9d2e-1f0a9b8c7d6e"


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_feed_lists_items_newest_first(api, services):
    services.notifications.answer(
        "ListFeed",
        notifications_pb.ListFeedResponse(
            items=[
                notifications_pb.FeedItem(
                    id=ITEM_ID,
                    kind="INVOICE_STATUS_CHANGED",
                    title="Facture F-1 mise à disposition",
                    body="…",
                    link="/factures/1",
                    created_at=Timestamp(seconds=1_767_225_600),
                )
            ],
            next_page_token="n",
        ),
    )

    response = await api.get("/api/v1/feed", params={"page_size": 5}, headers=AUTH)

    assert response.json() == {
        "items": [
            {
                "id": ITEM_ID,
                "kind": "INVOICE_STATUS_CHANGED",
                "title": "Facture F-1 mise à disposition",
                "body": "…",
                "link": "/factures/1",
                "at": "2026-01-01T00:00:00Z",
                "read": False,
            }
        ],
        "next_page_token": "n",
    }
    assert services.notifications.calls[0].request.page_size == 5


async def test_mark_feed_item_read(api, services):
    services.notifications.answer("MarkFeedItemRead", notifications_pb.MarkFeedItemReadResponse())

    response = await api.post(f"/api/v1/feed/{ITEM_ID}/read", headers=AUTH)

    assert response.status_code == 204
    assert services.notifications.calls[0].request.item_id == ITEM_ID


async def test_someone_elses_feed_item_is_a_404(api, services):
    services.notifications.answer(
        "MarkFeedItemRead", NotFound("FEED_ITEM_NOT_FOUND", "Événement introuvable.")
    )

    response = await api.post(f"/api/v1/feed/{ITEM_ID}/read", headers=AUTH)

    assert response.status_code == 404
    assert response.json()["code"] == "FEED_ITEM_NOT_FOUND"


async def test_healthz_is_always_ok(gateway, services):
    settings = services.settings(identity_addr=f"127.0.0.1:{unused_port()}")
    async with gateway(settings) as client:
        response = await client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_200_when_every_service_is_serving(api):
    response = await api.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "services": {
            name: "SERVING" for name in ("identity", "structures", "invoices", "notifications")
        },
        "not_ready": [],
    }


async def test_readyz_stays_200_naming_the_services_not_ready(gateway, services):
    # A backend away does not take the gateway out of its Service (see api/health.py).
    await services.invoices.set_serving(False)
    settings = services.settings(notifications_addr=f"127.0.0.1:{unused_port()}")

    async with gateway(settings) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["not_ready"] == ["invoices", "notifications"]
    assert body["services"]["invoices"] == "NOT_SERVING"
    assert body["services"]["notifications"] == "UNREACHABLE"
    assert body["services"]["identity"] == "SERVING"


async def test_readyz_is_503_while_draining(api, monkeypatch):
    from chorus_platform import http_drain

    monkeypatch.setattr(http_drain, "_draining", True)
    response = await api.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "draining"
    assert response.headers["Retry-After"]
    assert (await api.get("/healthz")).status_code == 200


async def test_a_service_down_makes_its_endpoints_503(gateway, services):
    settings = services.settings(identity_addr=f"127.0.0.1:{unused_port()}")

    async with gateway(settings) as client:
        response = await client.get("/api/v1/me", headers=AUTH)

    assert response.status_code == 503
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"


async def test_jwks_serves_okp_keys_from_identity(api, services):
    services.identity.answer(
        "GetPublicKeys",
        identity_pb.GetPublicKeysResponse(
            keys=[identity_pb.PublicKey(kid="k1", algorithm="EdDSA", x="11qYAYKxCrfVS_7TyWQHOg")]
        ),
    )

    response = await api.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.json() == {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg",
                "kid": "k1",
                "alg": "EdDSA",
                "use": "sig",
            }
        ]
    }
    assert "max-age" in response.headers["cache-control"]


async def test_openapi_and_docs_are_served(api):
    schema = (await api.get("/api/v1/openapi.json")).json()
    docs = await api.get("/api/v1/docs")

    assert "/api/v1/invoices/{invoice_id}/history" in schema["paths"]
    problem = schema["paths"]["/api/v1/accounts"]["post"]["responses"]["422"]
    assert "application/problem+json" in problem["content"]
    assert docs.status_code == 200
    assert "/api/v1/openapi.json" in docs.text


async def test_unknown_api_route_is_a_404_problem(api):
    response = await api.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "NOT_FOUND"


async def test_wrong_method_is_a_405_problem(api):
    response = await api.delete("/api/v1/accounts")

    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_portal_cookie_authenticates_api_calls(api, services):
    services.identity.answer("GetMe", identity_pb.GetMeResponse(user=identity_pb.User(id="u")))
    api.cookies.set("chorus_session", "cookie-token")

    response = await api.get("/api/v1/me")

    assert response.status_code == 200
    assert services.identity.calls[0].metadata["authorization"] == "Bearer cookie-token"


async def test_cookie_authenticated_post_needs_the_csrf_header(api, services):
    services.notifications.answer("MarkFeedItemRead", notifications_pb.MarkFeedItemReadResponse())
    api.cookies.set("chorus_session", "cookie-token")
    api.cookies.set("chorus_csrf", "c1")

    refused = await api.post(f"/api/v1/feed/{ITEM_ID}/read")
    accepted = await api.post(f"/api/v1/feed/{ITEM_ID}/read", headers={"X-CSRF-Token": "c1"})

    assert refused.status_code == 403
    assert refused.json()["code"] == "CSRF_TOKEN_INVALID"
    assert accepted.status_code == 204
    assert len(services.notifications.calls) == 1
