"""Credentials of the Chorus Pro-compatible API through the real stack: a user's API
applications (/api-clients) and a structure's technical accounts
(/structures/{id}/technical-accounts, managers only, as structures says), their refusals, the
other managers told by e-mail, and the tokens identity issues for them (over gRPC, as the
Chorus Pro-compatible API calls it) honouring revocation and renewal at once."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import grpc
import pytest
from chorus.identity.v1 import identity_service_pb2 as identity_pb
from chorus.identity.v1 import identity_service_pb2_grpc as identity_grpc
from chorus_platform.rpc_status import from_rpc_error
from chorus_platform.settings import with_database
from e2e_support import activated_user, random_siret

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRETS: set[str] = set()
"""Every secret and password the tests here were shown; the last test looks for them."""


async def ok(response, status=200):
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else None


async def structure_of(api, auth) -> str:
    body = {
        "identifier_type": "SIRET",
        "identifier": random_siret(),
        "raison_sociale": "Scierie du Jura SARL",
        "address": {
            "line1": "2 rue du Bois",
            "postal_code": "39000",
            "city": "Lons",
            "country": "FR",
        },
    }
    return (await ok(await api.post("/structures", headers=auth, json=body), 201))["id"]


def grpc_error(failure: pytest.ExceptionInfo) -> tuple[grpc.StatusCode, str]:
    error = from_rpc_error(failure.value)
    return error.code, error.reason


@pytest.fixture
async def identity(stack):
    if stack is None:
        pytest.skip("needs the stack this suite starts (calls identity over gRPC)")
    async with grpc.aio.insecure_channel(stack.addresses["identity"]) as channel:
        yield identity_grpc.IdentityServiceStub(channel)


async def test_an_api_application_from_creation_to_revocation(api, mailbox, identity):
    _, _, auth = await activated_user(api, mailbox, "Aline", "Applis")
    _, _, other = await activated_user(api, mailbox, "Oscar", "Autre")

    created = await ok(await api.post("/api-clients", headers=auth, json={"name": "ERP Odoo"}), 201)
    listed = await ok(await api.get("/api-clients", headers=auth))
    foreign = await api.delete(f"/api-clients/{created['id']}", headers=other)
    empty_name = await api.post("/api-clients", headers=auth, json={"name": "  "})

    SECRETS.add(created["client_secret"])
    assert created["token_url"].endswith("/api/oauth/token")
    assert created["api_base_url"].endswith("/cpro")
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    assert created["client_secret"] not in str(listed)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "API_CLIENT_NOT_FOUND")
    assert (empty_name.status_code, empty_name.json()["code"]) == (422, "API_CLIENT_NAME_REQUIRED")
    request = identity_pb.IssueClientTokenRequest(
        client_id=created["client_id"], client_secret=created["client_secret"]
    )
    token = await identity.IssueClientToken(request)
    assert token.expires_in == 3600 and token.application_id == created["id"]
    # An application's token is for the Chorus Pro-compatible API only, not for /api/v1.
    refused = await api.get("/me", headers={"Authorization": f"Bearer {token.access_token}"})
    assert refused.status_code == 401

    revoked = await api.delete(f"/api-clients/{created['id']}", headers=auth)
    after = await ok(await api.get("/api-clients", headers=auth))

    assert revoked.status_code == 204
    assert after["items"][0]["revoked_at"] is not None
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await identity.IssueClientToken(request)
    assert grpc_error(failure) == (grpc.StatusCode.UNAUTHENTICATED, "CLIENT_REVOKED")
    listed = await identity.ListRevokedSessions(identity_pb.ListRevokedSessionsRequest())
    assert created["id"] in {s.session_id for s in listed.sessions}


async def test_technical_accounts_are_the_managers_business(api, mailbox, identity):
    (
        (_, anne_email, anne),
        (_, bruno_email, bruno),
        (_, charles_email, charles),
    ) = await asyncio.gather(
        activated_user(api, mailbox, "Anne", "Gestion"),
        activated_user(api, mailbox, "Bruno", "Second"),
        activated_user(api, mailbox, "Charles", "Simple"),
    )
    _, _, outsider = await activated_user(api, mailbox, "Olga", "Dehors")
    sid = await structure_of(api, anne)
    await ok(
        await api.post(
            f"/structures/{sid}/members",
            headers=anne,
            json={"login_email": bruno_email, "role": "GESTIONNAIRE_SECONDAIRE"},
        ),
        201,
    )
    await ok(
        await api.post(
            f"/structures/{sid}/members",
            headers=anne,
            json={"login_email": charles_email, "role": "UTILISATEUR"},
        ),
        201,
    )
    base = f"/structures/{sid}/technical-accounts"
    # notifications learns the managers from the structures events: once Bruno was told he
    # is attached, he is a manager there too (the activation's own event comes from identity,
    # on another topic, and could otherwise be handled first).
    await mailbox.wait_for(bruno_email, "rattaché")

    created = await ok(await api.post(base, headers=anne), 201)

    SECRETS.add(created["password"])
    assert created["login"].startswith("TECH_") and len(created["password"]) == 24
    assert created["status"] == "ACTIF"
    # The other manager is told, by e-mail, who activated what.
    told = await mailbox.wait_for(bruno_email, "activé")
    assert created["login"] in told["Subject"] and "Anne Gestion" in told["Text"]
    # A secondary manager manages them too; a simple user and an outsider do not.
    listed = await ok(await api.get(base, headers=bruno))
    assert [a["id"] for a in listed["items"]] == [created["id"]]
    assert created["password"] not in str(listed)
    for caller in (charles, outsider):
        for method in ("GET", "POST"):
            refused = await api.request(method, base, headers=caller)
            assert (refused.status_code, refused.json()["code"]) == (403, "MANAGER_REQUIRED")
    hidden = await api.post(f"{base}/{created['id']}/rotate", headers=outsider)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "TECHNICAL_ACCOUNT_NOT_FOUND")
    unknown = await api.post(f"/structures/{uuid.uuid4()}/technical-accounts", headers=anne)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "STRUCTURE_NOT_FOUND")

    # The account authenticates (what the cpro-account header is checked with)...
    login = identity_pb.AuthenticateTechnicalAccountRequest(
        login=created["login"], password=created["password"]
    )
    token = await identity.AuthenticateTechnicalAccount(login)
    assert (token.structure_id, token.user_id) == (sid, created["id"])
    technical = {"Authorization": f"Bearer {token.access_token}"}
    assert (await ok(await api.get("/me", headers=technical)))["id"] == created["id"]
    # ... manages no credential ...
    forbidden = await api.post("/api-clients", headers=technical, json={"name": "x"})
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "TECHNICAL_ACCOUNT_FORBIDDEN")
    # ... and cannot log into the portal.
    portal = await api.post(
        "/auth/token", json={"login_email": created["login"], "password": created["password"]}
    )
    assert (portal.status_code, portal.json()["code"]) == (401, "INVALID_CREDENTIALS")

    renewed = await ok(await api.post(f"{base}/{created['id']}/rotate", headers=bruno))
    SECRETS.add(renewed["password"])
    assert renewed["password"] != created["password"] and renewed["status"] == "ACTIF"
    assert "Bruno Second" in (await mailbox.wait_for(anne_email, "renouvelé"))["Text"]
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await identity.AuthenticateTechnicalAccount(login)
    assert grpc_error(failure) == (grpc.StatusCode.UNAUTHENTICATED, "TECHNICAL_PASSWORD_INVALID")
    stale = await api.get("/me", headers=technical)
    assert (stale.status_code, stale.json()["code"]) == (401, "SESSION_REVOKED")
    login.password = renewed["password"]
    assert (await identity.AuthenticateTechnicalAccount(login)).access_token

    assert (await api.delete(f"{base}/{created['id']}", headers=anne)).status_code == 204
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await identity.AuthenticateTechnicalAccount(login)
    assert grpc_error(failure) == (grpc.StatusCode.UNAUTHENTICATED, "TECHNICAL_ACCOUNT_REVOKED")
    final = await ok(await api.get(base, headers=anne))
    assert final["items"][0]["status"] == "REVOQUE"
    assert "Anne Gestion" in (await mailbox.wait_for(bruno_email, "révoqué"))["Text"]


async def test_zz_no_credential_shown_here_appears_in_logs_events_or_emails(stack):
    if stack is None:
        pytest.skip("needs the logs and databases of the stack this suite starts")
    assert len(SECRETS) >= 3
    await asyncio.sleep(1)  # let the last log lines reach the files
    for path in sorted(Path(stack.logs_dir).glob("*")):
        text = path.read_text(errors="replace")
        assert not [s[:4] for s in SECRETS if s in text], f"a credential in {path.name}"
    database = stack.env["CHORUS_DATABASE_URL"]
    stored = [
        ("chorus_identity", "SELECT payload FROM outbox"),
        ("chorus_identity", "SELECT details::text FROM security_events"),
        ("chorus_identity", "SELECT secret_sha256 FROM api_clients"),
        ("chorus_identity", "SELECT password_sha256 FROM technical_accounts"),
        ("chorus_notifications", "SELECT text_body || html_body FROM emails"),
    ]
    for name, query in stored:
        conn = await asyncpg.connect(with_database(database, name))
        try:
            values = [row[0] for row in await conn.fetch(query)]
        finally:
            await conn.close()
        texts = [v.decode("latin-1") if isinstance(v, bytes) else v for v in values]
        assert texts, query
        assert not [s[:4] for s in SECRETS if any(s in t for t in texts)], query
