"""/api-clients and /structures/{id}/technical-accounts through the gateway against the
identity double: mapping, secrets only in the creating answers (not stored by caches), the
connection URLs, and identity's refusals as problems."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.errors import FailedPrecondition, NotFound, PermissionDenied, Unauthenticated
from google.protobuf.timestamp_pb2 import Timestamp

AUTH = {"Authorization": "Bearer tok"}
STRUCTURE_ID = "0b7e4b8e-31a4-4f7e-9d59-0d1f4b0b2a10"
ACCOUNT_ID = "5a1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
APP_ID = "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
CREATED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
EXPIRES = datetime(2027, 12, 1, 9, 30, tzinfo=UTC)
SECRET = "s3cr3t-sh0wn-0nce-aaaaaaaaaaaaaaaaaaaaaaaaaaa"
PASSWORD = "Tq7mZp2XwR9kLs4VbN8cJd3F"


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def application(**changes) -> pb.ApiClient:
    fields = {
        "id": APP_ID,
        "client_id": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
        "name": "ERP comptable",
        "created_at": stamp(CREATED),
    }
    return pb.ApiClient(**{**fields, **changes})


def account(**changes) -> pb.TechnicalAccount:
    fields = {
        "id": ACCOUNT_ID,
        "structure_id": STRUCTURE_ID,
        "login": "TECH_12@cpro.chorus.local",
        "status": pb.TECHNICAL_ACCOUNT_STATUS_ACTIF,
        "created_at": stamp(CREATED),
        "created_by": "u-manager",
        "expires_at": stamp(EXPIRES),
    }
    return pb.TechnicalAccount(**{**fields, **changes})


def assert_not_cached(response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


async def test_creating_an_application_shows_its_secret_once_with_where_to_use_it(api, services):
    services.identity.answer(
        "CreateApiClient",
        pb.CreateApiClientResponse(client=application(), client_secret=SECRET),
    )
    services.identity.answer("ListApiClients", pb.ListApiClientsResponse(clients=[application()]))

    created = await api.post("/api/v1/api-clients", json={"name": "ERP comptable"}, headers=AUTH)
    listed = await api.get("/api/v1/api-clients", headers=AUTH)

    assert created.status_code == 201
    body = created.json()
    assert body["client_secret"] == SECRET and body["client_id"] == application().client_id
    assert body["token_url"] == "http://127.0.0.1:8080/api/oauth/token"
    assert body["api_base_url"] == "http://127.0.0.1:8080/cpro"
    assert body["revoked_at"] is None and body["created_at"].startswith("2026-12-01T09:30")
    assert_not_cached(created)
    [call] = services.identity.calls_to("CreateApiClient")
    assert call.request.name == "ERP comptable"
    assert call.metadata["authorization"] == "Bearer tok"
    assert listed.status_code == 200
    assert listed.json()["items"][0]["id"] == APP_ID
    assert SECRET not in listed.text and "client_secret" not in listed.text


async def test_the_connection_urls_follow_the_portal_url(gateway, services):
    services.identity.answer(
        "CreateApiClient", pb.CreateApiClientResponse(client=application(), client_secret=SECRET)
    )
    settings = services.settings(portal_url="https://chorus.exemple.fr/")
    async with gateway(settings) as api:
        body = (await api.post("/api/v1/api-clients", json={"name": "x"}, headers=AUTH)).json()
    assert body["token_url"] == "https://chorus.exemple.fr/api/oauth/token"
    assert body["api_base_url"] == "https://chorus.exemple.fr/cpro"


@pytest.mark.parametrize(
    "body", [{}, {"name": 42}, {"name": "ERP", "client_secret": "mine"}], ids=str
)
async def test_a_malformed_body_is_refused_before_identity(api, services, body):
    response = await api.post("/api/v1/api-clients", json=body, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_FAILED"
    assert services.identity.calls == []


async def test_no_token_no_call(api, services):
    for method, path in [
        ("POST", "/api/v1/api-clients"),
        ("GET", "/api/v1/api-clients"),
        ("DELETE", f"/api/v1/api-clients/{APP_ID}"),
        ("POST", f"/api/v1/structures/{STRUCTURE_ID}/technical-accounts"),
        ("GET", f"/api/v1/structures/{STRUCTURE_ID}/technical-accounts"),
    ]:
        response = await api.request(method, path, json={"name": "x"})
        assert response.status_code == 401, path
    assert services.identity.calls == []


async def test_revoking_an_application(api, services):
    services.identity.answer(
        "RevokeApiClient", pb.RevokeApiClientResponse(client=application(revoked_at=stamp(CREATED)))
    )

    response = await api.delete(f"/api/v1/api-clients/{APP_ID.upper()}", headers=AUTH)
    malformed = await api.delete("/api/v1/api-clients/42", headers=AUTH)

    assert response.status_code == 204 and response.content == b""
    [call] = services.identity.calls_to("RevokeApiClient")
    assert call.request.id == APP_ID
    assert malformed.status_code == 404 and len(services.identity.calls) == 1


async def test_identity_s_refusals_are_problems(api, services):
    services.identity.answer(
        "RevokeApiClient", NotFound("API_CLIENT_NOT_FOUND", "Application API introuvable.")
    )
    services.identity.answer(
        "CreateApiClient",
        PermissionDenied("TECHNICAL_ACCOUNT_FORBIDDEN", "Un compte technique ne peut pas."),
    )

    missing = await api.delete(f"/api/v1/api-clients/{APP_ID}", headers=AUTH)
    forbidden = await api.post("/api/v1/api-clients", json={"name": "x"}, headers=AUTH)

    assert (missing.status_code, missing.json()["code"]) == (404, "API_CLIENT_NOT_FOUND")
    assert missing.headers["content-type"] == "application/problem+json"
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "TECHNICAL_ACCOUNT_FORBIDDEN")


async def test_activating_a_technical_account_shows_its_password_once(api, services):
    services.identity.answer(
        "CreateTechnicalAccount",
        pb.CreateTechnicalAccountResponse(account=account(), password=PASSWORD),
    )
    services.identity.answer(
        "ListTechnicalAccounts", pb.ListTechnicalAccountsResponse(accounts=[account()])
    )

    created = await api.post(f"/api/v1/structures/{STRUCTURE_ID}/technical-accounts", headers=AUTH)
    listed = await api.get(f"/api/v1/structures/{STRUCTURE_ID}/technical-accounts", headers=AUTH)

    assert created.status_code == 201
    body = created.json()
    assert (body["login"], body["password"], body["status"]) == (
        "TECH_12@cpro.chorus.local",
        PASSWORD,
        "ACTIF",
    )
    assert body["expires_at"].startswith("2027-12-01") and body["revoked_at"] is None
    assert body["token_url"].endswith("/api/oauth/token")
    assert_not_cached(created)
    [call] = services.identity.calls_to("CreateTechnicalAccount")
    assert call.request.structure_id == STRUCTURE_ID
    assert listed.json()["items"][0]["status"] == "ACTIF"
    assert PASSWORD not in listed.text and "password" not in listed.text


async def test_renewing_and_revoking_name_the_structure_of_the_path(api, services):
    services.identity.answer(
        "RotateTechnicalAccountPassword",
        pb.RotateTechnicalAccountPasswordResponse(account=account(), password=PASSWORD),
    )
    services.identity.answer(
        "RevokeTechnicalAccount",
        pb.RevokeTechnicalAccountResponse(
            account=account(status=pb.TECHNICAL_ACCOUNT_STATUS_REVOQUE)
        ),
    )
    base = f"/api/v1/structures/{STRUCTURE_ID}/technical-accounts/{ACCOUNT_ID}"

    renewed = await api.post(f"{base}/rotate", headers=AUTH)
    revoked = await api.delete(base, headers=AUTH)
    unknown = await api.post(
        f"/api/v1/structures/{STRUCTURE_ID}/technical-accounts/x/rotate", headers=AUTH
    )

    assert renewed.status_code == 200 and renewed.json()["password"] == PASSWORD
    assert_not_cached(renewed)
    [rotate] = services.identity.calls_to("RotateTechnicalAccountPassword")
    assert (rotate.request.id, rotate.request.structure_id) == (ACCOUNT_ID, STRUCTURE_ID)
    assert revoked.status_code == 204
    [revoke] = services.identity.calls_to("RevokeTechnicalAccount")
    assert (revoke.request.id, revoke.request.structure_id) == (ACCOUNT_ID, STRUCTURE_ID)
    assert unknown.status_code == 404 and len(services.identity.calls) == 2


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (PermissionDenied("MANAGER_REQUIRED", "Réservé aux gestionnaires."), 403),
        (NotFound("STRUCTURE_NOT_FOUND", "Structure introuvable."), 404),
        (FailedPrecondition("TECHNICAL_ACCOUNT_LIMIT_REACHED", "Trop de comptes."), 409),
        (FailedPrecondition("STRUCTURE_INACTIVE", "Structure inactive."), 409),
        (Unauthenticated("SESSION_REVOKED", "Session terminée."), 401),
    ],
    ids=lambda v: getattr(v, "reason", str(v)),
)
async def test_technical_account_refusals_keep_their_code(api, services, error, status):
    services.identity.answer("CreateTechnicalAccount", error)

    response = await api.post(f"/api/v1/structures/{STRUCTURE_ID}/technical-accounts", headers=AUTH)

    assert response.status_code == status
    assert response.json()["code"] == error.reason
    assert response.json()["detail"] == error.message


async def test_the_operations_are_documented(api):
    paths = (await api.get("/api/v1/openapi.json")).json()["paths"]

    assert set(paths["/api/v1/api-clients"]) == {"get", "post"}
    assert set(paths["/api/v1/api-clients/{api_client_id}"]) == {"delete"}
    technical = "/api/v1/structures/{structure_id}/technical-accounts"
    assert set(paths[technical]) == {"get", "post"}
    assert set(paths[technical + "/{account_id}"]) == {"delete"}
    assert set(paths[technical + "/{account_id}/rotate"]) == {"post"}
    created = paths["/api/v1/api-clients"]["post"]["responses"]["201"]
    assert "client_secret" in str(created) or "$ref" in str(created)
