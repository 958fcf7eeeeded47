"""Recipient processing and supplier actions, end to end through the gateway.

A supplier deposits to the seeded "Ministère de la Démonstration" (no manager: with
CHORUS_CLAIM_UNMANAGED_STRUCTURES on, the first attachment request makes its requester
principal, hence a recipient-side user). The recipient moves the invoice forward, suspends it
(a reason is required), the supplier completes it, the recipient rejects it, the supplier
acknowledges the rejection; a second invoice is sent back for recycling and re-deposited.

A supplier trying a recipient action gets 403 ACCESS_DENIED (the invoice is visible to it,
it just may not process it); anyone who may not see the invoice gets 404.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from e2e_support import PUBLIC_RECIPIENT_SIRET, activated_user, random_siret

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def supplier_structure(api, auth) -> dict:
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": "Fromagerie des Aravis",
            "address": {
                "line1": "3 route du Col",
                "postal_code": "74220",
                "city": "La Clusaz",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def claim_recipient(api, auth) -> str:
    """Attaches the caller to the seeded public structure (claimed at once: no manager)."""
    found = await api.get(
        "/structures", params={"identifier": PUBLIC_RECIPIENT_SIRET}, headers=auth
    )
    assert found.status_code == 200, found.text
    structure_id = found.json()["items"][0]["id"]
    request = await api.post(
        f"/structures/{structure_id}/attachment-requests", json={}, headers=auth
    )
    assert request.status_code == 201, request.text
    assert request.json()["status"] == "VALIDEE"
    spaces = await api.get(f"/structures/{structure_id}/spaces", headers=auth)
    assert spaces.status_code == 200, spaces.text
    received = next(s for s in spaces.json()["items"] if s["space"] == "FACTURES_RECUES")
    if not received["open"]:
        opened = await api.put(f"/structures/{structure_id}/spaces/FACTURES_RECUES", headers=auth)
        assert opened.status_code in (200, 204), opened.text
    return structure_id


_RECIPIENT: dict[str, dict] = {}


async def recipient_user(api, mailbox) -> dict:
    """The auth headers of the seeded structure's principal: claimed once per stack (later
    requests would await validation), so shared by this module's tests."""
    if "auth" not in _RECIPIENT:
        _, _, auth = await activated_user(api, mailbox, "Romain")
        await claim_recipient(api, auth)
        _RECIPIENT["auth"] = auth
    return _RECIPIENT["auth"]


def invoice_body(supplier_id: str) -> dict:
    return {
        "supplier_structure_id": supplier_id,
        "recipient": {"identifier_type": "SIRET", "identifier": PUBLIC_RECIPIENT_SIRET},
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": f"P-{uuid.uuid4().hex[:8]}",
        "issue_date": date.today().isoformat(),
        "currency": "EUR",
        "lines": [
            {
                "description": "Reblochon fermier",
                "quantity": "4",
                "unit": "C62",
                "unit_price": "9.80",
                "vat_rate": "5.5",
            }
        ],
    }


async def wait_status(api, auth, invoice_id, status, timeout=60) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            response = await api.get(f"/invoices/{invoice_id}", headers=auth)
            assert response.status_code == 200, response.text
            if response.json()["status"] == status:
                return response.json()
            await asyncio.sleep(0.3)


def problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text


async def test_recipient_processing_and_supplier_answers(api, mailbox):
    _, _, supplier = await activated_user(api, mailbox, "Sylvie")
    recipient = await recipient_user(api, mailbox)
    _, _, stranger = await activated_user(api, mailbox, "Oscar")
    structure = await supplier_structure(api, supplier)

    created = await api.post("/invoices", json=invoice_body(structure["id"]), headers=supplier)
    assert created.status_code == 201, created.text
    invoice_id = created.json()["id"]
    path = f"/invoices/{invoice_id}"
    await wait_status(api, supplier, invoice_id, "MISE_A_DISPOSITION")

    seen = await api.get(path, headers=recipient)
    assert seen.status_code == 200, seen.text
    assert {"MARK_PRISE_EN_COMPTE_DESTINATAIRE", "MARK_SUSPENDUE"} <= set(
        seen.json()["allowed_actions"]
    )
    assert (await api.get(path, headers=supplier)).json()["allowed_actions"] == []

    # The recipient takes it up; the supplier may not, a stranger does not see it.
    problem(
        await api.post(f"{path}/status", json={"status": "SERVICE_FAIT"}, headers=supplier),
        403,
        "ACCESS_DENIED",
    )
    problem(
        await api.post(f"{path}/status", json={"status": "SERVICE_FAIT"}, headers=stranger),
        404,
        "INVOICE_NOT_FOUND",
    )
    problem(await api.get(path, headers=stranger), 404, "INVOICE_NOT_FOUND")
    taken = await api.post(
        f"{path}/status", json={"status": "PRISE_EN_COMPTE_DESTINATAIRE"}, headers=recipient
    )
    assert taken.status_code == 200, taken.text
    assert (taken.json()["status"], taken.json()["lifecycle_code"]) == (
        "PRISE_EN_COMPTE_DESTINATAIRE",
        204,
    )

    # Suspension needs a reason.
    problem(
        await api.post(f"{path}/status", json={"status": "SUSPENDUE"}, headers=recipient),
        422,
        "REASON_REQUIRED",
    )
    suspended = await api.post(
        f"{path}/status",
        json={"status": "SUSPENDUE", "reason": "Bon de livraison manquant"},
        headers=recipient,
    )
    assert suspended.status_code == 200, suspended.text
    assert (await api.get(path, headers=supplier)).json()["allowed_actions"] == ["COMPLETE"]

    # The supplier completes it; completing twice is a wrong-state move.
    completed = await api.post(
        f"{path}/completion", json={"comment": "Bon de livraison envoyé"}, headers=supplier
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "COMPLETEE"
    # The recipient's users are told of the supplier's answer.
    title = f"Facture {completed.json()['number']} complétée par le fournisseur"
    async with asyncio.timeout(60):
        while True:
            feed = (await api.get("/feed", headers=recipient)).json()["items"]
            told = [i for i in feed if i["kind"] == "INVOICE_COMPLETED" and i["title"] == title]
            if told:
                break
            await asyncio.sleep(0.3)
    assert "Bon de livraison envoyé" in told[0]["body"]
    problem(
        await api.post(f"{path}/completion", json={"comment": "encore"}, headers=supplier),
        409,
        "INVALID_STATUS_TRANSITION",
    )

    # The recipient rejects it, after which nothing moves.
    rejected = await api.post(
        f"{path}/status",
        json={"status": "REJETEE", "reason": "Prestation non commandée"},
        headers=recipient,
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["lifecycle_code"] == 210
    problem(
        await api.post(f"{path}/status", json={"status": "SERVICE_FAIT"}, headers=recipient),
        409,
        "INVALID_STATUS_TRANSITION",
    )

    # The supplier acknowledges the rejection, once.
    assert (await api.get(path, headers=supplier)).json()["allowed_actions"] == [
        "ACKNOWLEDGE_REJECTION"
    ]
    acknowledged = await api.post(f"{path}/rejection-acknowledgement", headers=supplier)
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "REJETEE"
    assert acknowledged.json()["rejection_acknowledged_at"]
    problem(
        await api.post(f"{path}/rejection-acknowledgement", headers=supplier),
        409,
        "REJECTION_ALREADY_ACKNOWLEDGED",
    )

    history = await api.get(f"{path}/history", headers=supplier)
    assert history.status_code == 200, history.text
    assert [(e["status"], e["comment"]) for e in history.json()["items"]][-4:] == [
        ("PRISE_EN_COMPTE_DESTINATAIRE", None),
        ("SUSPENDUE", "Bon de livraison manquant"),
        ("COMPLETEE", "Bon de livraison envoyé"),
        ("REJETEE", "Prestation non commandée"),
    ]
    # Each entry says which Chorus status gave its reform code (DSE Chorus Pro v1.1).
    assert [e["lifecycle_description"] for e in history.json()["items"]][-4:] == [
        "204 Prise en charge — prise en compte",
        "208 Suspendue",
        "209 Complétée",
        "210 Refusée — rejetée",
    ]

    # A second invoice sent back for recycling is deposited again, same number, and routed.
    second = await api.post("/invoices", json=invoice_body(structure["id"]), headers=supplier)
    assert second.status_code == 201, second.text
    second_path = f"/invoices/{second.json()['id']}"
    await wait_status(api, supplier, second.json()["id"], "MISE_A_DISPOSITION")
    sent_back = await api.post(
        f"{second_path}/status",
        json={"status": "A_RECYCLER", "reason": "Engagement juridique manquant"},
        headers=recipient,
    )
    assert sent_back.status_code == 200, sent_back.text
    assert (sent_back.json()["lifecycle_code"], sent_back.json()["lifecycle_description"]) == (
        210,
        "210 Refusée — à recycler",
    )
    recycled = await api.post(
        f"{second_path}/recycling", json={"engagement_number": "EJ-0042"}, headers=supplier
    )
    assert recycled.status_code == 200, recycled.text
    assert (recycled.json()["status"], recycled.json()["number"]) == (
        "DEPOSEE",
        second.json()["number"],
    )
    assert recycled.json()["engagement_number"] == "EJ-0042"
    await wait_status(api, supplier, second.json()["id"], "MISE_A_DISPOSITION")
    assert (await api.get(second_path, headers=recipient)).status_code == 200

    # The recipient certifies the service and pays: 204 (service fait), then 211 and 212.
    for status in ("SERVICE_FAIT", "MISE_EN_PAIEMENT"):
        moved = await api.post(f"{second_path}/status", json={"status": status}, headers=recipient)
        assert moved.status_code == 200, moved.text
    paid = (await api.get(f"{second_path}/history", headers=supplier)).json()["items"]
    assert [(e["status"], e["lifecycle_code"], e["lifecycle_label"]) for e in paid][-2:] == [
        ("SERVICE_FAIT", 204, "Prise en charge"),
        ("MISE_EN_PAIEMENT", 211, "Paiement transmis"),
    ]
    assert [c["description"] for c in paid[-1]["lifecycle_codes"]] == [
        "211 Paiement transmis — mise en paiement",
        "212 Encaissée — mise en paiement (B2G historique)",
    ]


async def test_supplier_deletes_a_draft(api, mailbox):
    _, _, supplier = await activated_user(api, mailbox, "Denise")
    structure = await supplier_structure(api, supplier)
    draft = await api.post(
        "/invoices", params={"draft": "true"}, json=invoice_body(structure["id"]), headers=supplier
    )
    assert draft.status_code == 201, draft.text
    assert draft.json()["status"] == "BROUILLON"
    path = f"/invoices/{draft.json()['id']}"
    assert (await api.get(path, headers=supplier)).json()["allowed_actions"] == [
        "SUBMIT",
        "DELETE",
    ]
    deleted = await api.delete(path, headers=supplier)
    assert deleted.status_code == 204, deleted.text
    problem(await api.get(path, headers=supplier), 404, "INVOICE_NOT_FOUND")


async def test_completion_with_attachments_as_multipart(api, mailbox):
    _, _, supplier = await activated_user(api, mailbox, "Camille")
    recipient = await recipient_user(api, mailbox)
    structure = await supplier_structure(api, supplier)
    created = await api.post("/invoices", json=invoice_body(structure["id"]), headers=supplier)
    assert created.status_code == 201, created.text
    invoice_id = created.json()["id"]
    path = f"/invoices/{invoice_id}"
    await wait_status(api, supplier, invoice_id, "MISE_A_DISPOSITION")
    suspended = await api.post(
        f"{path}/status",
        json={"status": "SUSPENDUE", "reason": "Bon de livraison manquant"},
        headers=recipient,
    )
    assert suspended.status_code == 200, suspended.text

    # A forbidden file refuses the whole completion: nothing kept, still SUSPENDUE.
    problem(
        await api.post(
            f"{path}/completion",
            data={"comment": "Pièces jointes"},
            files=[
                ("attachments[]", ("bon-de-livraison.pdf", b"%PDF-1.4 bl", "application/pdf")),
                ("attachments[]", ("script.exe", b"MZ", "application/octet-stream")),
            ],
            headers=supplier,
        ),
        422,
        "ATTACHMENT_EXTENSION_FORBIDDEN",
    )
    assert (await api.get(path, headers=supplier)).json()["status"] == "SUSPENDUE"

    completed = await api.post(
        f"{path}/completion",
        data={"comment": "Bon de livraison joint"},
        files=[("attachments[]", ("bon-de-livraison.pdf", b"%PDF-1.4 bl", "application/pdf"))],
        headers=supplier,
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "COMPLETEE"
    seen = await api.get(path, headers=recipient)
    attachments = [d for d in seen.json()["documents"] if d["role"] == "ATTACHMENT"]
    assert [d["filename"] for d in attachments] == ["bon-de-livraison.pdf"]
    served = await api.get(f"{path}/attachments/{attachments[0]['id']}", headers=recipient)
    assert served.status_code == 200, served.text
    assert served.content == b"%PDF-1.4 bl"
    history = (await api.get(f"{path}/history", headers=supplier)).json()["items"]
    assert (history[-1]["status"], history[-1]["comment"]) == (
        "COMPLETEE",
        "Bon de livraison joint",
    )


async def test_a_credit_note_corrects_an_invoice_and_exempt_lines_need_a_reason(api, mailbox):
    _, _, supplier = await activated_user(api, mailbox, "Apolline")
    structure = await supplier_structure(api, supplier)
    invoice = invoice_body(structure["id"])
    deposited = await api.post("/invoices", json=invoice, headers=supplier)
    assert deposited.status_code == 201, deposited.text

    credit_note = {
        **invoice_body(structure["id"]),
        "type": "AVOIR",
        "lines": [
            {
                "description": "Formation annulée",
                "quantity": "1",
                "unit": "C62",
                "unit_price": "300",
                "vat_rate": "0",
            }
        ],
    }
    missing = await api.post("/invoices", json=credit_note, headers=supplier)
    # BT-25 is optional (issue 10): only the exemption reason of the 0 % line is missing.
    problem(missing, 422, "VAT_EXEMPTION_REASON_REQUIRED")
    fields = {e["field"] for e in missing.json()["errors"]}
    assert fields == {"vat_exemption_reason"}

    credit_note |= {
        "preceding_invoice_number": invoice["number"],
        "vat_exemption_reason": "Exonération, art. 261-4-4° du CGI",
    }
    accepted = await api.post("/invoices", json=credit_note, headers=supplier)
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    assert (body["type"], body["preceding_invoice_number"]) == ("AVOIR", invoice["number"])
    assert body["vat_exemption_reason"] == "Exonération, art. 261-4-4° du CGI"
    again = {**credit_note, "number": f"A-{uuid.uuid4().hex[:8]}"}
    again["preceding_invoice_number"] = body["number"]  # a credit note is not an invoice
    problem(
        await api.post("/invoices", json=again, headers=supplier),
        422,
        "CREDIT_NOTE_REFERENCE_INVALID",
    )
