"""The two credentials against the real identity: the token endpoint (chorus-api's unencoded
form body, HTTP Basic, refusals per RFC 6749) and every refusal of a ``/cpro/**`` call, each
saying which credential failed and why — revoked application, unknown login, wrong, expired
and renewed passwords, revoked account."""

from __future__ import annotations

import asyncio
import base64

import asyncpg
import pytest
from cpro_support import b64, ok, token_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

LIST = "/cpro/transverses/v1/recuperer/tauxtva"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def test_the_token_endpoint_takes_chorus_api_s_body_and_basic_authentication(cpro, supplier):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = (
        f"grant_type=client_credentials&client_id={supplier.client_id}"
        f"&client_secret={supplier.client_secret}&scope=openid"
    )
    answer = await ok(await cpro.post("/api/oauth/token", content=body, headers=form))
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    assert answer["scope"] == "openid"
    # Tryton's requests_oauthlib: Basic, no scope.
    response = await cpro.post(
        "/api/oauth/token",
        content="grant_type=client_credentials",
        headers={**form, "Authorization": basic(supplier.client_id, supplier.client_secret)},
    )
    assert (await ok(response))["scope"] == "openid"
    assert response.headers["cache-control"] == "no-store"
    scoped = await cpro.post(
        "/api/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": supplier.client_id,
            "client_secret": supplier.client_secret,
            "scope": "factures",
        },
    )
    assert (await ok(scoped))["scope"] == "factures"


@pytest.mark.parametrize("which", ["secret", "client"])
async def test_wrong_client_credentials_are_invalid_client(cpro, supplier, which):
    client_id = supplier.client_id if which == "secret" else "00000000-0000-4000-8000-000000000000"
    response = await cpro.post(
        "/api/oauth/token",
        content="grant_type=client_credentials",
        headers={"Authorization": basic(client_id, "not-the-secret")},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["error_description"].isascii()


async def test_each_refused_cpro_account_says_why(cpro, supplier):
    async def refusal(header: str) -> dict:
        response = await cpro.post(
            LIST,
            json={},
            headers={"Authorization": f"Bearer {supplier.token}", "cpro-account": header},
        )
        assert response.status_code == 401, response.text
        assert response.json()["codeRetour"] == 401
        return response.json()["erreur"]

    unknown = await refusal(b64(f"NOBODY_{supplier.login}:{supplier.password}"))
    wrong = await refusal(b64(f"{supplier.login}:{supplier.password}x"))
    assert (unknown["credential"], unknown["raison"]) == ("cpro-account", "UNKNOWN")
    assert (wrong["credential"], wrong["raison"]) == ("cpro-account", "INVALID_PASSWORD")
    for erreur in (unknown, wrong):
        assert erreur["message"]
    # The right pair works, and the header never shows up in an answer.
    answer = await ok(await cpro.post(LIST, json={}, headers=supplier.headers()))
    assert supplier.password not in str(answer)


async def test_a_revoked_application_is_refused_at_the_token_endpoint_and_at_once_in_the_api(
    cpro, party_factory, api
):
    party = await party_factory(name="Revocation Test SARL")
    assert (await cpro.post(LIST, json={}, headers=party.headers())).status_code == 200
    revoked = await api.delete(f"/api-clients/{party.api_client_id}", headers=party.manager)
    assert revoked.status_code == 204
    async with asyncio.timeout(30):  # the deny-list hears SessionRevoked
        while True:
            response = await cpro.post(LIST, json={}, headers=party.headers())
            if response.status_code == 401:
                break
            await asyncio.sleep(0.2)
    assert response.json()["erreur"]["credential"] == "bearer"
    assert response.json()["erreur"]["raison"] == "REVOKED"
    again = await cpro.post(
        "/api/oauth/token",
        content="grant_type=client_credentials",
        headers={"Authorization": basic(party.client_id, party.client_secret)},
    )
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")
    assert "revoquee" in again.json()["error_description"]


async def test_a_renewed_then_revoked_technical_account(cpro, party_factory, api):
    party = await party_factory(name="Rotation Test SARL")
    base = f"/structures/{party.structure['id']}/technical-accounts/{party.technical_account_id}"
    assert (await cpro.post(LIST, json={}, headers=party.headers())).status_code == 200
    renewed = await ok(await api.post(f"{base}/rotate", headers=party.manager))
    # The old password is refused at once, though the header was cached a moment ago.
    async with asyncio.timeout(30):
        while True:
            old = await cpro.post(LIST, json={}, headers=party.headers())
            if old.status_code == 401:
                break
            await asyncio.sleep(0.2)
    assert old.json()["erreur"]["raison"] == "INVALID_PASSWORD"
    party.password = renewed["password"]
    assert (await cpro.post(LIST, json={}, headers=party.headers())).status_code == 200
    assert (await api.delete(base, headers=party.manager)).status_code == 204
    async with asyncio.timeout(30):
        while True:
            gone = await cpro.post(LIST, json={}, headers=party.headers())
            if gone.status_code == 401:
                break
            await asyncio.sleep(0.2)
    assert (gone.json()["erreur"]["credential"], gone.json()["erreur"]["raison"]) == (
        "cpro-account",
        "REVOKED",
    )


async def test_an_expired_technical_password_says_so_and_what_to_do(cpro, party_factory, stack):
    party = await party_factory(name="Expiry Test SARL")
    connection = await asyncpg.connect(stack.postgres.url_for("chorus_identity"))
    try:
        await connection.execute(
            "UPDATE technical_accounts SET expires_at = now() - interval '1 day'"
            " WHERE user_id = $1",
            party.technical_account_id,
        )
    finally:
        await connection.close()
    response = await cpro.post(LIST, json={}, headers=party.headers())
    assert response.status_code == 401
    erreur = response.json()["erreur"]
    assert (erreur["credential"], erreur["raison"]) == ("cpro-account", "PASSWORD_EXPIRED")
    assert "portail" in erreur["message"]


async def test_a_fresh_token_is_issued_each_time(cpro, supplier):
    first, second = await token_of(cpro, supplier), await token_of(cpro, supplier)
    assert first != second


async def test_repeated_wrong_passwords_lock_the_technical_account(cpro, party_factory):
    party = await party_factory(name="Lockout Test SARL")
    wrong = {"Authorization": f"Bearer {party.token}", "cpro-account": b64(f"{party.login}:nope")}
    statuses = []
    for _ in range(8):
        response = await cpro.post(LIST, json={}, headers=wrong)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    erreur = response.json()["erreur"]
    assert (erreur["credential"], erreur["raison"]) == ("cpro-account", "LOCKED")
    # The right password is locked out too for a while (identity's login guard).
    assert (await cpro.post(LIST, json={}, headers=party.headers())).status_code == 429
