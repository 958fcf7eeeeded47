"""The foundation flow, end to end through the gateway's REST API, with real services."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from e2e_support import (
    PUBLIC_RECIPIENT_SIRET,
    SERVICE_REQUIRED_SIRET,
    STRONG_PASSWORD,
    activation_token,
    random_siret,
    unique_email,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def register(api, email, first_name="Manuela"):
    response = await api.post(
        "/accounts",
        json={
            "login_email": email,
            "first_name": first_name,
            "last_name": "Dupont",
            "terms_accepted": True,
        },
    )
    assert (response.status_code, response.json()) == (202, {}), response.text


async def activated_user(api, mailbox, prefix="supplier"):
    email = unique_email(prefix)
    await register(api, email)
    mail = await mailbox.wait_for(email, "Activez votre compte")
    response = await api.post(
        "/accounts/activation",
        json={
            "token": activation_token(mail),
            "password": STRONG_PASSWORD,
            "secret_question": "Nom de mon premier chat ?",
            "secret_answer": "Félix",
        },
    )
    assert response.status_code == 200, response.text
    login = await api.post("/auth/token", json={"login_email": email, "password": STRONG_PASSWORD})
    assert login.status_code == 200, login.text
    return email, {"Authorization": f"Bearer {login.json()['access_token']}"}


async def my_structure(api, auth, name="Les Délices de Savoie"):
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": name,
            "address": {
                "line1": "12 rue du Lac",
                "postal_code": "74000",
                "city": "Annecy",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def invoice_body(supplier_id, number=None, recipient_siret=PUBLIC_RECIPIENT_SIRET, **extra):
    return {
        "supplier_structure_id": supplier_id,
        "recipient": {"identifier_type": "SIRET", "identifier": recipient_siret},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": number or f"F-{uuid.uuid4().hex[:8]}",
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": "Tomme de Savoie (kg)",
                "quantity": "3",
                "unit": "KGM",
                "unit_price": "18.45",
                "vat_rate": "5.5",
            },
            {
                "description": "Livraison",
                "quantity": "1",
                "unit": "C62",
                "unit_price": "25.00",
                "vat_rate": "20",
            },
        ],
        **extra,
    }


async def wait_history(api, auth, invoice_id, count, timeout=60):
    async with asyncio.timeout(timeout):
        while True:
            response = await api.get(f"/invoices/{invoice_id}/history", headers=auth)
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            if len(items) >= count:
                return items
            await asyncio.sleep(0.3)


async def test_the_whole_flow_from_account_to_invoice_made_available(api, mailbox):
    # 1. account + activation e-mail in French with the portal link
    email = unique_email("manuela")
    await register(api, email)
    mail = await mailbox.wait_for(email, "Activez votre compte")
    assert "Manuela" in mail["Text"]
    token = activation_token(mail)

    # 2. activation (a weak password first: refused, nothing changes)
    weak = await api.post(
        "/accounts/activation",
        json={
            "token": token,
            "password": "courtmotdepasse",
            "secret_question": "Ville natale ?",
            "secret_answer": "Chambéry",
        },
    )
    assert weak.status_code == 422, weak.text
    assert weak.headers["content-type"].startswith("application/problem+json")
    assert weak.json()["code"] == "PASSWORD_TOO_WEAK"
    activated = await api.post(
        "/accounts/activation",
        json={
            "token": token,
            "password": STRONG_PASSWORD,
            "secret_question": "Ville natale ?",
            "secret_answer": "Chambéry",
        },
    )
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "ACTIF"

    # 3. tokens
    login = await api.post("/auth/token", json={"login_email": email, "password": STRONG_PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] > 0 and tokens["refresh_token"]
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = (await api.get("/me", headers=auth)).json()
    assert me["id"] == activated.json()["id"] and me["login_email"] == email

    # 4. structure, caller is principal manager
    structure = await my_structure(api, auth)
    memberships = await api.get("/me/structures", headers=auth)
    assert memberships.status_code == 200
    [membership] = memberships.json()["items"]
    assert membership["structure"]["id"] == structure["id"]
    assert membership["role"] == "GESTIONNAIRE_PRINCIPAL"

    # 5. invoice to a seeded public structure, totals computed server-side, then routed
    deposit = await api.post("/invoices", headers=auth, json=invoice_body(structure["id"]))
    assert deposit.status_code == 201, deposit.text
    invoice = deposit.json()
    assert invoice["status"] == "DEPOSEE"
    # 3 x 18.45 = 55.35 at 5.5 % -> 3.04; 25.00 at 20 % -> 5.00
    assert invoice["totals"]["net_total"] == "80.35"
    assert invoice["totals"]["vat_total"] == "8.04"
    assert invoice["totals"]["gross_total"] == "88.39"
    history = await wait_history(api, auth, invoice["id"], 3)
    assert [h["status"] for h in history] == [
        "DEPOSEE",
        "EN_COURS_ACHEMINEMENT",
        "MISE_A_DISPOSITION",
    ]
    assert [h["lifecycle_code"] for h in history] == [200, 201, 203]
    assert [h["lifecycle_description"] for h in history] == [
        "200 Déposée",
        "201 Émise — en cours d'acheminement",
        "203 Mise à disposition",
    ]
    detail = await api.get(f"/invoices/{invoice['id']}", headers=auth)
    assert detail.json()["status"] == "MISE_A_DISPOSITION"

    # 6. the supplier is e-mailed about the status change and sees it in the feed
    status_mail = await mailbox.wait_for(email, invoice["number"])
    assert f"/factures/{invoice['id']}" in status_mail["Text"]
    async with asyncio.timeout(60):
        while True:
            feed = await api.get("/feed", headers=auth)
            assert feed.status_code == 200, feed.text
            kinds = [item["kind"] for item in feed.json()["items"]]
            if kinds.count("INVOICE_STATUS_CHANGED") >= 2:
                break
            await asyncio.sleep(0.3)


async def test_activation_token_unknown_or_used_is_a_bad_request(api, mailbox):
    email, _ = await activated_user(api, mailbox)
    for token in ["not-a-real-token", "x" * 43]:
        response = await api.post(
            "/accounts/activation",
            json={
                "token": token,
                "password": STRONG_PASSWORD,
                "secret_question": "Q ?",
                "secret_answer": "R",
            },
        )
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "ACTIVATION_TOKEN_INVALID"
    # the link already used by activated_user cannot be used again
    [mail] = [m for m in await mailbox.messages_to(email) if "Activez" in m["Subject"]]
    again = await api.post(
        "/accounts/activation",
        json={
            "token": activation_token(mail),
            "password": "Autre-Mot-De-Passe-9",
            "secret_question": "Q ?",
            "secret_answer": "R",
        },
    )
    assert again.status_code == 400
    assert again.json()["code"] == "ACTIVATION_TOKEN_INVALID"
    still = await api.post("/auth/token", json={"login_email": email, "password": STRONG_PASSWORD})
    assert still.status_code == 200


async def test_registering_twice_answers_alike_and_malformed_email_is_refused(api, mailbox):
    email = unique_email("twice")
    await register(api, email)
    again = await api.post(
        "/accounts",
        json={
            "login_email": email.upper(),
            "first_name": "A",
            "last_name": "B",
            "terms_accepted": True,
        },
    )
    # No 409: the same answer as for a new address (the pending account gets a new link).
    assert (again.status_code, again.json()) == (202, {}), again.text
    async with asyncio.timeout(60):
        while len(await mailbox.messages_to(email)) < 2:
            await asyncio.sleep(0.3)
    links = [m for m in await mailbox.messages_to(email) if "Activez" in m["Subject"]]
    assert len(links) == 2
    malformed = await api.post(
        "/accounts",
        json={
            "login_email": "pas-une-adresse",
            "first_name": "A",
            "last_name": "B",
            "terms_accepted": True,
        },
    )
    assert malformed.status_code == 422, malformed.text


async def test_invalid_siret_checksum_is_refused_and_nothing_created(api, mailbox):
    _, auth = await activated_user(api, mailbox)
    siret = random_siret()
    broken = siret[:-1] + str((int(siret[-1]) + 1) % 10)
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": broken,
            "raison_sociale": "Mauvais SIRET SARL",
            "address": {"line1": "1 rue", "postal_code": "75001", "city": "Paris", "country": "FR"},
        },
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "SIRET_CHECKSUM_INVALID"
    memberships = await api.get("/me/structures", headers=auth)
    assert memberships.json()["items"] == []


async def test_requests_without_a_valid_token_are_unauthenticated(api):
    for headers in [{}, {"Authorization": "Bearer forged.token.value"}]:
        for path in ["/me/structures", "/feed", "/invoices?side=issued"]:
            response = await api.get(path, headers=headers)
            assert response.status_code == 401, (path, response.text)


async def test_someone_elses_invoice_is_not_found(api, mailbox):
    _, alice = await activated_user(api, mailbox, "alice")
    _, bob = await activated_user(api, mailbox, "bob")
    structure = await my_structure(api, alice, "Fromagerie d'Alice")
    deposit = await api.post("/invoices", headers=alice, json=invoice_body(structure["id"]))
    assert deposit.status_code == 201, deposit.text
    invoice_id = deposit.json()["id"]
    for path in [f"/invoices/{invoice_id}", f"/invoices/{invoice_id}/history"]:
        response = await api.get(path, headers=bob)
        assert response.status_code == 404, response.text
    # and bob cannot deposit on alice's behalf
    forged = await api.post("/invoices", headers=bob, json=invoice_body(structure["id"]))
    assert forged.status_code == 403, forged.text


async def test_recipient_must_be_a_public_structure(api, mailbox):
    _, auth = await activated_user(api, mailbox)
    supplier = await my_structure(api, auth, "Fournisseur A")
    other_private = await my_structure(api, auth, "Fournisseur B")
    body = invoice_body(supplier["id"], recipient_siret=other_private["identifier"])
    response = await api.post("/invoices", headers=auth, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "RECIPIENT_NOT_PUBLIC"
    listed = await api.get("/invoices", params={"side": "issued"}, headers=auth)
    assert listed.json()["items"] == []


async def test_service_code_required_by_the_recipient(api, mailbox):
    _, auth = await activated_user(api, mailbox)
    supplier = await my_structure(api, auth)
    body = invoice_body(supplier["id"], recipient_siret=SERVICE_REQUIRED_SIRET)
    missing = await api.post("/invoices", headers=auth, json=body)
    assert missing.status_code == 422, missing.text
    assert missing.json()["code"] == "SERVICE_CODE_REQUIRED"
    body["service_code"] = "SERV-FIN"
    ok = await api.post("/invoices", headers=auth, json=body)
    assert ok.status_code == 201, ok.text
