"""The API's doors before any service is asked: bearer refusals, the rate limit per
application, body bounds, unknown routes and methods, the probes — the app in process, its
tokens signed by a test key, every service unreachable (so nothing here may need one)."""

from __future__ import annotations

import httpx
import pytest
import pytest_asyncio
from chorus_cpro_api.app import create_app
from chorus_cpro_api.body_limits import FLOW_BYTES, behind_edge_middlewares
from chorus_cpro_api.config import CproApiSettings
from chorus_devstack.ports import free_port
from chorus_platform.access_tokens import CPRO_CLIENT_AUDIENCE
from chorus_platform.testing.tokens import TestSigner

SIGNER = TestSigner("cpro-test")


def settings(**overrides) -> CproApiSettings:
    nowhere = f"127.0.0.1:{free_port()}"
    return CproApiSettings(
        identity_addr=nowhere,
        structures_addr=nowhere,
        invoices_addr=nowhere,
        notifications_addr=nowhere,
        grpc_deadline_seconds=0.5,
        health_timeout_seconds=0.2,
        **overrides,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def client():
    app = create_app(
        settings(cpro_rate_limit_burst=3, cpro_rate_limit_per_minute=1),
        follow_revocations=False,
        key_fetcher=SIGNER.fetch_keys,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=behind_edge_middlewares(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://cpro") as http:
            yield http


def app_token(application: str = "app-1", **claims) -> str:
    return SIGNER.token(application, aud=CPRO_CLIENT_AUDIENCE, **claims)


LIST = "/cpro/transverses/v1/recuperer/tauxtva"


def erreur(response: httpx.Response) -> dict:
    body = response.json()
    assert isinstance(body["codeRetour"], int) and body["libelle"], body
    return body["erreur"]


@pytest.mark.parametrize(
    ("authorization", "raison"),
    [
        (None, "MISSING"),
        ("", "MISSING"),
        ("Basic abc", "MALFORMED"),
        ("Bearer", "MALFORMED"),
        ("Bearer not-a-jwt", "MALFORMED"),
        ("Bearer " + SIGNER.token("user-1"), "UNKNOWN"),  # an /api/v1 user's token
        ("Bearer " + TestSigner("cpro-test").token("app", aud=CPRO_CLIENT_AUDIENCE), "UNKNOWN"),
        ("Bearer " + app_token(ttl=-10), "EXPIRED"),
    ],
)
async def test_a_refused_bearer_says_which_credential_and_why(client, authorization, raison):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await client.post(LIST, json={}, headers=headers)
    assert response.status_code == 401
    assert response.json()["codeRetour"] == 401
    assert erreur(response) == {
        "credential": "bearer",
        "raison": raison,
        "message": erreur(response)["message"],
    }
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_user_token_is_told_where_application_tokens_come_from(client):
    response = await client.post(
        LIST, json={}, headers={"Authorization": "Bearer " + SIGNER.token("u")}
    )
    assert "/api/oauth/token" in erreur(response)["message"]


async def test_a_valid_bearer_without_cpro_account_is_refused_for_the_account(client):
    response = await client.post(
        LIST, json={}, headers={"Authorization": f"Bearer {app_token('app-acc')}"}
    )
    assert response.status_code == 401
    assert erreur(response)["credential"] == "cpro-account"
    assert erreur(response)["raison"] == "MISSING"


async def test_each_application_has_its_own_rate_limit(client):
    headers = {"Authorization": f"Bearer {app_token('app-busy')}"}
    statuses = [(await client.post(LIST, json={}, headers=headers)).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    limited = await client.post(LIST, json={}, headers=headers)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["codeRetour"] == 429
    other = {"Authorization": f"Bearer {app_token('app-quiet')}"}
    assert (await client.post(LIST, json={}, headers=other)).status_code == 401


async def test_a_body_beyond_its_bound_is_refused_before_it_is_read(client):
    response = await client.post(
        "/cpro/factures/v1/deposer/flux",
        content=b"{}",
        headers={"Content-Length": str(FLOW_BYTES + 1)},
    )
    assert response.status_code == 413
    assert response.json()["codeRetour"] == 20001

    async def chunks():
        yield b"x" * 600_000
        yield b"y" * 600_000

    # An anonymous chunked body is refused for its credentials before a byte is read...
    assert (await client.post(LIST, content=chunks())).status_code == 401
    # ...and a chunked body is cut as soon as it crosses its bound (the token endpoint reads
    # its body before any credential: 64 KiB).
    chunked = await client.post("/api/oauth/token", content=chunks())
    assert (chunked.status_code, chunked.json()["codeRetour"]) == (413, 20001)


async def test_unknown_paths_and_methods_answer_in_the_envelope(client):
    missing = await client.post("/cpro/factures/v1/inconnue", json={})
    assert (missing.status_code, missing.json()["codeRetour"]) == (404, 404)
    wrong = await client.get(LIST)
    assert (wrong.status_code, wrong.json()["codeRetour"]) == (405, 405)
    token = await client.get("/api/oauth/token")
    assert token.status_code == 405
    assert token.json()["error"] == "invalid_request"


async def test_probes(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    # Every backend away: still ready (each route answers its own unavailability), and said.
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert set(ready.json()["not_ready"]) == {"identity", "structures", "invoices", "notifications"}


async def test_not_ready_while_draining(client, monkeypatch):
    from chorus_platform import http_drain

    monkeypatch.setattr(http_drain, "_draining", True)
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()["status"]) == (503, "draining")
    assert (await client.get("/healthz")).status_code == 200  # alive all the same


async def test_not_ready_until_the_revoked_sessions_are_loaded():
    # identity and the broker away: the deny-list cannot load, and tokens must not pass.
    app = create_app(
        settings(kafka_bootstrap=f"127.0.0.1:{free_port()}"), key_fetcher=SIGNER.fetch_keys
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=behind_edge_middlewares(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://cpro") as http:
            ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["services"]["revocations"] == "NOT_LOADED"


async def test_the_trace_context_of_a_client_is_dropped(client):
    # Nothing observable but that the request goes through unharmed.
    response = await client.get(
        "/healthz", headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    )
    assert response.status_code == 200


async def test_the_token_endpoint_has_a_bucket_per_client_id(client):
    body = "grant_type=client_credentials&client_id=busy-client&client_secret=s"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    statuses = [
        (await client.post("/api/oauth/token", content=body, headers=form)).status_code
        for _ in range(4)
    ]
    # identity is unreachable here: 503 temporarily_unavailable, until the bucket is empty.
    assert statuses == [503, 503, 503, 429]
    limited = await client.post("/api/oauth/token", content=body, headers=form)
    assert limited.json()["error"] == "slow_down" and int(limited.headers["retry-after"]) >= 1
    other = "grant_type=client_credentials&client_id=quiet-client&client_secret=s"
    assert (await client.post("/api/oauth/token", content=other, headers=form)).status_code == 503
