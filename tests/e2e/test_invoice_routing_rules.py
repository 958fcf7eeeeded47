"""Every routing rule of a deposit, end to end through the gateway, on the seeded "Centre
hospitalier Saint-Exemple" (SIRET 26750045200011, no other e2e test uses it). Its manager
(the first requester claims the unmanaged structure) turns its parameters on one by one —
service or engagement, payment status not reported, a reserved service, an inactive service,
the structure closed — and each refusal leaves nothing stored.

invoices learns of a change in structures through its events (its directory read model,
issue 16), a moment after the change: each refusal that follows a change is first awaited
with deposits under a number already used, which the rule refuses once it is known and which
are refused as duplicates before — neither stores anything.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from e2e_support import activated_user, random_siret
from test_invoice_documents import supplier_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

HOSPITAL_SIRET = "26750045200011"
ENGAGEMENT_REQUIRED_SIRET = "13000548100010"


async def claimed_hospital(api, auth) -> str:
    found = await api.get("/structures", params={"identifier": HOSPITAL_SIRET}, headers=auth)
    assert found.status_code == 200, found.text
    structure_id = found.json()["items"][0]["id"]
    asked = await api.post(f"/structures/{structure_id}/attachment-requests", json={}, headers=auth)
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "VALIDEE", asked.text
    opened = await api.put(f"/structures/{structure_id}/spaces/FACTURES_RECUES", headers=auth)
    assert opened.status_code in (200, 204), opened.text
    return structure_id


def refused(response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text
    if field:
        assert field in {e["field"] for e in response.json()["errors"]}, response.text


async def known_to_invoices(deposit, code: str, *, used_number: str, **changes) -> None:
    """Waits until the deposit with ``changes`` is refused with ``code``, trying it under
    ``used_number`` (an invoice already deposited): until invoices knows of the change, the
    duplicate number is refused instead, and nothing is stored either way."""
    async with asyncio.timeout(30):
        while (await deposit(number=used_number, **changes)).json().get("code") != code:
            await asyncio.sleep(0.2)


async def test_each_routing_rule_refuses_the_deposit_and_stores_nothing(api, mailbox):
    _, _, supplier = await activated_user(api, mailbox, "Hugo")
    issuer = await supplier_of(api, supplier, "Plomberie Hugo SARL")
    _, _, manager = await activated_user(api, mailbox, "Hélène")
    hospital = await claimed_hospital(api, manager)
    prefix = f"R{uuid.uuid4().hex[:6]}"
    numbers = iter(range(100))

    def invoice(**changes) -> dict:
        return {
            "supplier_structure_id": issuer["id"],
            "recipient": {"identifier_type": "SIRET", "identifier": HOSPITAL_SIRET},
            "framework": "A1_FACTURE_FOURNISSEUR",
            "type": "FACTURE",
            "number": f"{prefix}-{next(numbers)}",
            "issue_date": date.today().isoformat(),
            "lines": [
                {
                    "description": "Réparation de canalisation",
                    "quantity": "3",
                    "unit": "HUR",
                    "unit_price": "55",
                    "vat_rate": "20",
                }
            ],
            **changes,
        }

    async def deposit(**changes):
        return await api.post("/invoices", json=invoice(**changes), headers=supplier)

    used = f"{prefix}-premier"
    first = await deposit(number=used, service_code="urgences")
    assert first.status_code == 201, first.text

    unknown = {"identifier_type": "SIRET", "identifier": random_siret()}
    refused(await deposit(recipient=unknown), 422, "RECIPIENT_NOT_FOUND", "recipient")
    refused(await deposit(service_code="INCONNU"), 422, "SERVICE_CODE_UNKNOWN", "service_code")
    refused(
        await deposit(service_code="pharmacie"), 422, "ENGAGEMENT_REQUIRED", "engagement_number"
    )
    agency = {"identifier_type": "SIRET", "identifier": ENGAGEMENT_REQUIRED_SIRET}
    refused(await deposit(recipient=agency), 422, "ENGAGEMENT_REQUIRED", "engagement_number")

    # A service for invoices between public bodies: refused to a private supplier.
    reserved = await api.post(
        f"/structures/{hospital}/services",
        json={"code": "FACTURES_PUBLIQUES", "name": "Factures entre entités publiques"},
        headers=manager,
    )
    assert reserved.status_code == 201, reserved.text
    await known_to_invoices(
        deposit, "SERVICE_RESERVED", used_number=used, service_code="FACTURES_PUBLIQUES"
    )
    refused(
        await deposit(service_code="FACTURES_PUBLIQUES"), 422, "SERVICE_RESERVED", "service_code"
    )

    changed = await api.patch(
        f"/structures/{hospital}",
        json={"service_or_engagement_required": True, "payment_status_not_reported": True},
        headers=manager,
    )
    assert changed.status_code == 200, changed.text
    await known_to_invoices(deposit, "SERVICE_OR_ENGAGEMENT_REQUIRED", used_number=used)
    refused(await deposit(), 422, "SERVICE_OR_ENGAGEMENT_REQUIRED", "service_code")

    accepted = await deposit(service_code="urgences")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["service_code"] == "URGENCES"
    path = f"/invoices/{accepted.json()['id']}"
    async with asyncio.timeout(60):
        while (await api.get(path, headers=manager)).status_code != 200:
            await asyncio.sleep(0.3)
    # The hospital's own system reports payment: nobody enters it on the portal.
    refused(
        await api.post(f"{path}/status", json={"status": "MISE_EN_PAIEMENT"}, headers=manager),
        409,
        "PAYMENT_STATUS_NOT_REPORTED",
    )

    services = (await api.get(f"/structures/{hospital}/services", headers=manager)).json()
    urgences = next(s for s in services["items"] if s["code"] == "URGENCES")
    closed = await api.patch(
        f"/structures/{hospital}/services/{urgences['id']}", json={"active": False}, headers=manager
    )
    assert closed.status_code == 200, closed.text
    await known_to_invoices(
        deposit, "SERVICE_CODE_UNKNOWN", used_number=used, service_code="URGENCES"
    )
    refused(await deposit(service_code="URGENCES"), 422, "SERVICE_CODE_UNKNOWN", "service_code")

    inactive = await api.patch(
        f"/structures/{hospital}", json={"status": "INACTIVE"}, headers=manager
    )
    assert inactive.status_code == 200, inactive.text
    await known_to_invoices(
        deposit, "RECIPIENT_INACTIVE", used_number=used, engagement_number="EJ-1"
    )
    refused(await deposit(engagement_number="EJ-1"), 422, "RECIPIENT_INACTIVE", "recipient")

    listed = await api.get("/invoices", params={"number": prefix}, headers=supplier)
    found = sorted(i["id"] for i in listed.json()["items"])
    assert found == sorted([first.json()["id"], accepted.json()["id"]])


async def test_an_oversized_file_is_refused_before_reaching_the_service(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Octave")
    issuer = await supplier_of(api, auth, "Imprimerie Octave")
    too_big = b"<Invoice>" + b" " * (16 * 1024 * 1024) + b"</Invoice>"

    response = await api.post(
        "/invoices/xml",
        headers=auth,
        files={"file": ("enorme.xml", too_big, "application/xml")},
        data={"supplier_structure_id": issuer["id"]},
    )

    refused(response, 413, "REQUEST_TOO_LARGE")  # cut at the edge, before parsing
    listed = await api.get("/invoices", headers=auth)
    assert listed.json()["items"] == []
