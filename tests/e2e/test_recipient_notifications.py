"""The recipient structure's users are told of a new invoice, end to end through the gateway.

The seeded "Ville de Démoville" (service code required) has no manager: with
CHORUS_CLAIM_UNMANAGED_STRUCTURES on, the first attachment request makes its requester
principal, hence a recipient-side user. ("Ministère de la Démonstration" is claimed by
test_invoice_processing in the same session-wide stack, so it is not used here.)
When the invoice is made available, that user gets the "Nouvelle facture" e-mail and a feed
item.
A user switches e-mails off per kind through `/me/notification-preferences`.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from e2e_support import SERVICE_REQUIRED_SIRET, activated_user, random_siret

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def claimed_recipient(api, auth) -> str:
    found = await api.get(
        "/structures", params={"identifier": SERVICE_REQUIRED_SIRET}, headers=auth
    )
    assert found.status_code == 200, found.text
    structure_id = found.json()["items"][0]["id"]
    request = await api.post(
        f"/structures/{structure_id}/attachment-requests", json={}, headers=auth
    )
    assert request.status_code == 201, request.text
    assert request.json()["status"] == "VALIDEE", request.text
    spaces = await api.get(f"/structures/{structure_id}/spaces", headers=auth)
    assert spaces.status_code == 200, spaces.text
    received = next(s for s in spaces.json()["items"] if s["space"] == "FACTURES_RECUES")
    if not received["open"]:
        opened = await api.put(f"/structures/{structure_id}/spaces/FACTURES_RECUES", headers=auth)
        assert opened.status_code in (200, 204), opened.text
    return structure_id


async def feed_item(api, auth, kind: str, timeout: float = 60) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            feed = await api.get("/feed", headers=auth)
            assert feed.status_code == 200, feed.text
            items = [item for item in feed.json()["items"] if item["kind"] == kind]
            if items:
                return items[0]
            await asyncio.sleep(0.3)


async def wait_status(api, auth, invoice_id, status, timeout=60) -> None:
    async with asyncio.timeout(timeout):
        while True:
            response = await api.get(f"/invoices/{invoice_id}", headers=auth)
            assert response.status_code == 200, response.text
            if response.json()["status"] == status:
                return
            await asyncio.sleep(0.3)


def invoice_to_demoville(supplier_id: str, number: str, service_code: str, price: str) -> dict:
    return {
        "supplier_structure_id": supplier_id,
        "recipient": {"identifier_type": "SIRET", "identifier": SERVICE_REQUIRED_SIRET},
        "service_code": service_code,
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": number,
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": "Tomme de Savoie",
                "quantity": "3",
                "unit": "C62",
                "unit_price": price,
                "vat_rate": "5.5",
            }
        ],
    }


async def test_recipient_user_is_told_of_a_new_invoice(api, mailbox):
    _, _, supplier = await activated_user(api, mailbox, "Sabine")
    _, recipient_email, recipient = await activated_user(api, mailbox, "Renaud")
    structure_id = await claimed_recipient(api, recipient)
    # A colleague limited to the technical service: told of, and shown, only its invoices.
    _, tech_email, tech = await activated_user(api, mailbox, "Tess")
    services = await api.get(f"/structures/{structure_id}/services", headers=recipient)
    assert services.status_code == 200, services.text
    tech_service = next(s for s in services.json()["items"] if s["code"] == "SERV-TECH")
    attached = await api.post(
        f"/structures/{structure_id}/members",
        headers=recipient,
        json={"login_email": tech_email, "service_ids": [tech_service["id"]]},
    )
    assert attached.status_code == 201, attached.text
    asked = await api.post(
        f"/structures/{structure_id}/spaces/FACTURES_RECUES/subscriptions",
        headers=tech,
        json={"mode": "CONSULTATION"},
    )
    assert asked.status_code == 201, asked.text
    granted = await api.post(
        f"/subscriptions/{asked.json()['id']}/decision",
        headers=recipient,
        json={"decision": "VALIDEE"},
    )
    assert granted.status_code == 200, granted.text
    created = await api.post(
        "/structures",
        headers=supplier,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": "Laiterie du Semnoz",
            "address": {
                "line1": "1 chemin du Crêt",
                "postal_code": "74000",
                "city": "Annecy",
                "country": "FR",
            },
        },
    )
    assert created.status_code == 201, created.text
    supplier_id = created.json()["id"]
    number, tech_number = f"N-{uuid.uuid4().hex[:8]}", f"T-{uuid.uuid4().hex[:8]}"
    deposited = await api.post(
        "/invoices",
        headers=supplier,
        json=invoice_to_demoville(supplier_id, number, "SERV-FIN", "12.40"),
    )
    assert deposited.status_code == 201, deposited.text
    invoice_id = deposited.json()["id"]
    await wait_status(api, supplier, invoice_id, "MISE_A_DISPOSITION")

    mail = await mailbox.wait_for(recipient_email, f"Nouvelle facture {number} reçue")
    assert f"/factures/{invoice_id}" in mail["Text"]
    item = await feed_item(api, recipient, "INVOICE_RECEIVED")
    assert item["title"] == f"Nouvelle facture {number} reçue"
    assert item["link"] == f"/factures/{invoice_id}"

    tech_deposit = await api.post(
        "/invoices",
        headers=supplier,
        json=invoice_to_demoville(supplier_id, tech_number, "serv-tech", "1250.00"),
    )
    assert tech_deposit.status_code == 201, tech_deposit.text
    tech_id = tech_deposit.json()["id"]
    await wait_status(api, supplier, tech_id, "MISE_A_DISPOSITION")
    await mailbox.wait_for(tech_email, f"Nouvelle facture {tech_number} reçue")
    tech_item = await feed_item(api, tech, "INVOICE_RECEIVED")
    assert tech_item["title"] == f"Nouvelle facture {tech_number} reçue"
    # Both notices were handled in order: the finance invoice's never reached Tess.
    feed = (await api.get("/feed", headers=tech)).json()["items"]
    assert [i["title"] for i in feed if i["kind"] == "INVOICE_RECEIVED"] == [tech_item["title"]]
    assert (await api.get(f"/invoices/{invoice_id}", headers=tech)).status_code == 404

    async def received(auth, **filters) -> list[str]:
        listed = await api.get("/invoices", params={"side": "received", **filters}, headers=auth)
        assert listed.status_code == 200, listed.text
        return [i["number"] for i in listed.json()["items"]]

    mine = {number, tech_number}
    assert set(await received(tech)) & mine == {tech_number}
    assert set(await received(recipient)) & mine == mine
    assert await received(recipient, service_code="SERV-TECH", counterparty="semnoz") == [
        tech_number
    ]
    assert await received(recipient, min_amount="1000", counterparty="Laiterie") == [tech_number]
    assert await received(recipient, max_amount="100", counterparty="laiterie du") == [number]
    today = datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()  # the deposit day
    assert set(await received(recipient, deposited_from=today, counterparty="semnoz")) == mine
    refused = await api.get(
        "/invoices", params={"side": "received", "from": "hier"}, headers=recipient
    )
    assert refused.status_code == 422, refused.text


async def test_email_preferences_per_kind(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Pauline")
    initial = await api.get("/me/notification-preferences", headers=auth)
    assert initial.status_code == 200, initial.text
    assert initial.json()["email"]["INVOICE_RECEIVED"] is True
    assert "PASSWORD_RESET" not in initial.json()["email"]

    updated = await api.put(
        "/me/notification-preferences", json={"email": {"INVOICE_RECEIVED": False}}, headers=auth
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["email"]["INVOICE_RECEIVED"] is False
    again = await api.get("/me/notification-preferences", headers=auth)
    assert again.json() == updated.json()

    refused = await api.put(
        "/me/notification-preferences", json={"email": {"PASSWORD_RESET": False}}, headers=auth
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "PREFERENCE_KIND_UNKNOWN"
    assert (await api.get("/me/notification-preferences")).status_code == 401


async def test_invoice_email_frequency_through_the_api(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Horace")
    path = "/me/notification-preferences"
    initial = await api.get(path, headers=auth)
    assert initial.status_code == 200, initial.text
    assert initial.json()["invoice_email_frequency"] == "IMMEDIATE"

    updated = await api.put(path, json={"invoice_email_frequency": "HOURLY"}, headers=auth)
    assert updated.status_code == 200, updated.text
    assert updated.json()["invoice_email_frequency"] == "HOURLY"
    assert updated.json()["email"] == initial.json()["email"]  # the kinds are kept
    assert (await api.get(path, headers=auth)).json()["invoice_email_frequency"] == "HOURLY"

    refused = await api.put(path, json={"invoice_email_frequency": "WEEKLY"}, headers=auth)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "VALIDATION_FAILED"
    assert (await api.get(path, headers=auth)).json()["invoice_email_frequency"] == "HOURLY"
