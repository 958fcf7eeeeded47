"""Structured deposits and invoice documents, end to end through the gateway.

UBL files from the invoices corpus are deposited by a supplier created here (its SIRET put in
place of the corpus seller's) to the demo directory's Ville de Démoville (service code
required; SERV-TECH exists). Portal deposits come back as Factur-X PDFs.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from chorus_invoices.documents.facturx import read_facturx_model
from e2e_support import SERVICE_REQUIRED_SIRET, activated_user, random_siret, rendered_document
from facturx import get_xml_from_pdf

pytestmark = pytest.mark.asyncio(loop_scope="session")

CORPUS = Path(__file__).resolve().parents[2] / "services/invoices/tests/corpus"
CORPUS_SELLER, CORPUS_BUYER, CORPUS_NUMBER = "33738480410006", "26197306910005", "UBL-2024-0042"


async def supplier_of(api, auth, name="Atelier Dupont SARL"):
    response = await api.post(
        "/structures",
        headers=auth,
        json={
            "identifier_type": "SIRET",
            "identifier": random_siret(),
            "raison_sociale": name,
            "address": {
                "line1": "12 avenue des Tilleuls",
                "postal_code": "69003",
                "city": "Lyon",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def ubl_for(supplier, name="valid/ubl-invoice.xml", number=None) -> tuple[bytes, str]:
    """A corpus file issued by ``supplier`` to Ville de Démoville, with a fresh number."""
    number = number or f"X-{uuid.uuid4().hex[:8]}"
    text = (CORPUS / name).read_text()
    text = text.replace(CORPUS_SELLER, supplier["identifier"])
    text = text.replace(CORPUS_BUYER, SERVICE_REQUIRED_SIRET)
    return text.replace(CORPUS_NUMBER, number).encode(), number


async def deposit(api, auth, supplier, content: bytes, filename="facture.xml"):
    return await api.post(
        "/invoices/xml",
        headers=auth,
        files={"file": (filename, content, "application/octet-stream")},
        data={"supplier_structure_id": supplier["id"]},
    )


async def wait_status(api, auth, invoice_id, status, timeout=60):
    async with asyncio.timeout(timeout):
        while True:
            response = await api.get(f"/invoices/{invoice_id}", headers=auth)
            assert response.status_code == 200, response.text
            if response.json()["status"] == status:
                return response.json()
            await asyncio.sleep(0.3)


async def test_ubl_deposit_is_routed_and_its_file_served_back(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Aline")
    supplier = await supplier_of(api, auth)
    content, number = ubl_for(supplier)
    response = await deposit(api, auth, supplier, content)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["number"], created["status"], created["service_code"]) == (
        number,
        "DEPOSEE",
        "SERV-TECH",
    )
    assert created["totals"]["gross_total"] == "876.52"
    made_available = await wait_status(api, auth, created["id"], "MISE_A_DISPOSITION")
    assert [d["role"] for d in made_available["documents"]] == ["ORIGINAL"]
    document = await api.get(f"/invoices/{created['id']}/document", headers=auth)
    assert document.status_code == 200
    assert document.content == content
    assert document.headers["content-type"].startswith("application/xml")
    duplicate = await deposit(api, auth, supplier, content)
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["code"] == "INVOICE_NUMBER_DUPLICATE"


REFUSED = [
    ("invalid/ubl-br-co-10-line-sum.xml", "EN16931_RULES_FAILED", "BR-CO-10"),
    ("invalid/ubl-br-co-15-gross.xml", "EN16931_RULES_FAILED", "BR-CO-15"),
    ("hostile/xxe-file.xml", "XML_FORBIDDEN_CONSTRUCT", None),
    ("hostile/billion-laughs.xml", "XML_FORBIDDEN_CONSTRUCT", None),
    ("hostile/external-dtd.xml", "XML_FORBIDDEN_CONSTRUCT", None),
    ("hostile/malformed.xml", "XML_MALFORMED", None),
    ("hostile/encrypted.pdf", "PDF_ENCRYPTED", None),
    ("hostile/fake.pdf", "PDF_MALFORMED", None),
    # The CEN CII schematron stops on it: a clear 422 naming the file, never a 500.
    ("hostile/cii-two-tax-representative-vat-ids.xml", "VALIDATION_ENGINE_FAILED", None),
]


async def test_refused_files_answer_422_with_their_reason(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Bruno")
    supplier = await supplier_of(api, auth)
    for name, code, rule in REFUSED:
        content = (
            ubl_for(supplier, name)[0] if name.endswith(".xml") else (CORPUS / name).read_bytes()
        )
        response = await deposit(api, auth, supplier, content, Path(name).name)
        assert response.status_code == 422, (name, response.text)
        problem = response.json()
        assert problem["code"] == code, name
        assert problem["errors"], name
        if code == "VALIDATION_ENGINE_FAILED":
            assert f"« {Path(name).name} »" in problem["detail"], problem
        if rule:
            assert any(
                e["message"].startswith(f"[{rule}]") and e["field"] for e in problem["errors"]
            ), name
    listed = await api.get("/invoices", params={"side": "issued"}, headers=auth)
    assert listed.json()["items"] == []


async def test_routing_rules_apply_to_files(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Chloe")
    supplier = await supplier_of(api, auth)
    content, _ = ubl_for(supplier)
    without_service = content.replace(b"<cbc:BuyerReference>SERV-TECH</cbc:BuyerReference>", b"")
    response = await deposit(api, auth, supplier, without_service)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "SERVICE_CODE_REQUIRED"
    other = await supplier_of(api, auth, "Une autre société")
    response = await deposit(api, auth, other, content)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "SELLER_MISMATCH"


async def test_portal_invoice_is_downloadable_as_facturx(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Denis")
    supplier = await supplier_of(api, auth, "Fromagerie Denis")
    body = {
        "supplier_structure_id": supplier["id"],
        "recipient": {"identifier_type": "SIRET", "identifier": SERVICE_REQUIRED_SIRET},
        "service_code": "SERV-FIN",
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": f"P-{uuid.uuid4().hex[:8]}",
        "issue_date": "2025-06-02",
        "lines": [
            {
                "description": "Comté (kg)",
                "quantity": "2.5",
                "unit": "KGM",
                "unit_price": "24.90",
                "vat_rate": "5.5",
            },
            {
                "description": "Livraison",
                "quantity": "1",
                "unit": "C62",
                "unit_price": "15",
                "vat_rate": "20",
            },
        ],
    }
    created = await api.post("/invoices", headers=auth, json=body)
    assert created.status_code == 201, created.text
    invoice = created.json()
    # The deposit answers with the XML kept; the PDF is rendered at its first download
    # (CHORUS_FACTURX_RENDERING=on_demand, the default), listed meanwhile without a size.
    seen = (await api.get(f"/invoices/{invoice['id']}", headers=auth)).json()
    assert not seen["facturx_pending"]
    listed = {d["role"]: d for d in seen["documents"]}
    assert sorted(listed) == ["CII", "FACTURX"]
    assert (listed["FACTURX"]["filename"], listed["FACTURX"]["size"]) == (
        f"facture-{invoice['number']}.pdf",
        0,
    )
    xml = await api.get(f"/invoices/{invoice['id']}/document?role=CII", headers=auth)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    document = await rendered_document(api, auth, invoice["id"])
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert get_xml_from_pdf(document.content, check_xsd=False)[1] == xml.content
    rendered = (await api.get(f"/invoices/{invoice['id']}", headers=auth)).json()
    assert not rendered["facturx_pending"]
    assert sorted(d["role"] for d in rendered["documents"]) == ["CII", "FACTURX"]
    stored = next(d for d in rendered["documents"] if d["role"] == "FACTURX")
    assert stored["size"] == len(document.content) and stored["id"]
    back = read_facturx_model(document.content)
    assert (back.number, str(back.totals.tax_inclusive)) == (
        invoice["number"],
        invoice["totals"]["gross_total"],
    )
    assert back.seller.legal_registration.value == supplier["identifier"]
    assert back.buyer.legal_registration.value == SERVICE_REQUIRED_SIRET
    _, _, stranger = await activated_user(api, mailbox, "Eve")
    hidden = await api.get(f"/invoices/{invoice['id']}/document", headers=stranger)
    assert hidden.status_code == 404
