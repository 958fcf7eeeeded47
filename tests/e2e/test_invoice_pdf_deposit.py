"""PDF deposit end to end through the gateway: a plain PDF with its data typed in, a Factur-X
PDF whose XML gives the data, and the refusals (encrypted or fake PDF, contradictions with the
Factur-X, broken totals, bad attachments, duplicates, strangers).

Invoices go from a supplier created here to the demo directory's Ville de Démoville (service
code required; SERV-FIN exists). The Factur-X samples are made by the invoices service's own
Factur-X renderer (``make_facturx_model``) with a fresh number, for the supplier's SIRET.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from datetime import date
from decimal import Decimal

import pytest
from chorus_invoices.documents.content import french_vat_number, model_of_content
from chorus_invoices.documents.facturx import make_facturx_model
from chorus_invoices.domain import en16931
from chorus_invoices.domain.invoice import Framework, InvoiceContent, InvoiceType, Line
from e2e_support import SERVICE_REQUIRED_SIRET, activated_user, rendered_document
from pypdf import PdfReader, PdfWriter
from test_invoice_documents import CORPUS, supplier_of, wait_status

pytestmark = pytest.mark.asyncio(loop_scope="session")

PLAIN_PDF = (CORPUS / "invalid/plain-no-xml.pdf").read_bytes()


def facturx_for(supplier, number: str | None = None) -> tuple[bytes, str]:
    """A Factur-X from ``supplier`` to Ville de Démoville (SERV-FIN): 2 × 450.00 at 20 %."""
    number = number or f"FX-{uuid.uuid4().hex[:8]}"
    content = InvoiceContent(
        service_code="SERV-FIN",
        engagement_number="",
        framework=Framework.A1_FACTURE_FOURNISSEUR,
        type=InvoiceType.FACTURE,
        number=number,
        issue_date=date(2025, 9, 1),
        currency="EUR",
        payment_terms="30 jours",
        comment="",
        lines=(Line("Maintenance des ascenseurs", Decimal(2), "C62", Decimal(450), Decimal(20)),),
    )
    seller = en16931.Seller(
        supplier["raison_sociale"],
        legal_registration=en16931.Identifier(supplier["identifier"], "0009"),
        vat_identifier=french_vat_number(supplier["identifier"][:9]),
        address=en16931.Address(
            line1="12 avenue des Tilleuls", postal_code="69003", city="Lyon", country="FR"
        ),
    )
    buyer = en16931.Buyer(
        "Ville de Démoville",
        legal_registration=en16931.Identifier(SERVICE_REQUIRED_SIRET, "0009"),
        address=en16931.Address(
            line1="1 place de la Mairie", postal_code="75001", city="Démoville", country="FR"
        ),
    )
    return make_facturx_model(model_of_content(content, seller, buyer)).pdf, number


def encrypted(pdf: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def plain_metadata(supplier, **changes) -> dict:
    metadata = {
        "supplier_structure_id": supplier["id"],
        "recipient": {"identifier_type": "SIRET", "identifier": SERVICE_REQUIRED_SIRET},
        "service_code": "SERV-FIN",
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": f"PDF-{uuid.uuid4().hex[:8]}",
        "issue_date": "2025-09-01",
        "net_total": "1500.00",
        "vat_total": "250.00",
        "gross_total": "1750.00",
        "vat_breakdown": [
            {"rate": "20", "base": "1000.00", "amount": "200.00"},
            {"rate": "10", "base": "500.00", "amount": "50.00"},
        ],
    }
    metadata.update(changes)
    return metadata


async def deposit_pdf(api, auth, pdf: bytes, metadata=None, attachments=(), data=None):
    form = dict(data or {})
    if metadata is not None:
        form["metadata"] = metadata if isinstance(metadata, str) else json.dumps(metadata)
    files = [("file", ("facture.pdf", pdf, "application/pdf"))]
    files += [
        ("attachments[]", (name, content, "application/octet-stream"))
        for name, content in attachments
    ]
    return await api.post("/invoices/pdf", headers=auth, files=files, data=form)


async def test_plain_pdf_deposit_is_routed_and_downloadable(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Paulette")
    supplier = await supplier_of(api, auth, "Ascenseurs Paulette SAS")
    metadata = plain_metadata(supplier)
    response = await deposit_pdf(
        api, auth, PLAIN_PDF, metadata, attachments=[("bon-de-commande.csv", b"ref;qte\nA1;2\n")]
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["status"], created["number"], created["lines"]) == (
        "DEPOSEE",
        metadata["number"],
        [],
    )
    totals = created["totals"]
    assert {k: totals[k] for k in ("net_total", "vat_total", "gross_total", "amount_due")} == {
        "net_total": "1500.00",
        "vat_total": "250.00",
        "gross_total": "1750.00",
        "amount_due": "1750.00",
    }
    assert [(v["rate"], v["base"], v["amount"]) for v in totals["vat_breakdown"]] == [
        ("20", "1000.00", "200.00"),
        ("10", "500.00", "50.00"),
    ]
    available = await wait_status(api, auth, created["id"], "MISE_A_DISPOSITION")
    assert sorted(d["role"] for d in available["documents"]) == ["ATTACHMENT", "ORIGINAL"]
    document = await api.get(f"/invoices/{created['id']}/document", headers=auth)
    assert document.status_code == 200
    assert document.content == PLAIN_PDF
    assert document.headers["content-type"] == "application/pdf"
    attachment = next(d for d in available["documents"] if d["role"] == "ATTACHMENT")
    downloaded = await api.get(
        f"/invoices/{created['id']}/attachments/{attachment['id']}", headers=auth
    )
    assert downloaded.status_code == 200 and downloaded.content == b"ref;qte\nA1;2\n"


async def test_attachments_beyond_one_message_are_staged_and_served_back(api, mailbox):
    """Three 7 MB attachments (21 MB with the PDF: more than one 16 MiB gRPC message, and
    more than the former 15 MB bound): the gateway stages each on its own, the deposit names
    them, and each comes back byte for byte. Contents are not sniffed, only the extension."""
    _, _, auth = await activated_user(api, mailbox, "Scanette")
    supplier = await supplier_of(api, auth, "Numérisation Scanette SARL")
    scans = [(f"scan-{i}.pdf", os.urandom(7 * 1024 * 1024)) for i in range(3)]
    response = await deposit_pdf(api, auth, PLAIN_PDF, plain_metadata(supplier), scans)
    assert response.status_code == 201, response.text
    created = response.json()

    available = await wait_status(api, auth, created["id"], "MISE_A_DISPOSITION")
    attachments = {d["filename"]: d for d in available["documents"] if d["role"] == "ATTACHMENT"}
    assert {name: d["size"] for name, d in attachments.items()} == {
        name: len(content) for name, content in scans
    }
    name, content = scans[1]
    downloaded = await api.get(
        f"/invoices/{created['id']}/attachments/{attachments[name]['id']}", headers=auth
    )
    assert downloaded.status_code == 200
    assert downloaded.content == content


async def test_facturx_pdf_deposit_takes_its_data_from_the_xml(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Gaspard")
    supplier = await supplier_of(api, auth, "Ascenseurs Gaspard SARL")
    pdf, number = facturx_for(supplier)
    response = await deposit_pdf(api, auth, pdf, data={"supplier_structure_id": supplier["id"]})
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["number"], created["service_code"], created["status"]) == (
        number,
        "SERV-FIN",
        "DEPOSEE",
    )
    assert created["totals"]["gross_total"] == "1080.00" and len(created["lines"]) == 1
    await wait_status(api, auth, created["id"], "MISE_A_DISPOSITION")
    document = await api.get(f"/invoices/{created['id']}/document", headers=auth)
    assert document.content == pdf

    agreeing, other_number = facturx_for(supplier)
    consistent = {
        "supplier_structure_id": supplier["id"],
        "number": other_number,
        "service_code": "SERV-FIN",
        "gross_total": "1080.00",
        "vat_breakdown": [{"rate": "20", "base": "900.00", "amount": "180.00"}],
    }
    response = await deposit_pdf(api, auth, agreeing, consistent)
    assert response.status_code == 201, response.text


async def test_pdf_deposit_refusals_keep_nothing(api, mailbox):
    _, _, auth = await activated_user(api, mailbox, "Romain")
    supplier = await supplier_of(api, auth, "Ascenseurs Romain EURL")
    facturx, number = facturx_for(supplier)

    cases = [
        ("encrypted", encrypted(PLAIN_PDF), plain_metadata(supplier), 422, "PDF_ENCRYPTED"),
        ("fake", b"Facture 12 : 1750 EUR\n", plain_metadata(supplier), 422, "PDF_MALFORMED"),
        (
            "broken totals",
            PLAIN_PDF,
            plain_metadata(supplier, gross_total="1800.00"),
            422,
            "TOTALS_INCONSISTENT",
        ),
        ("malformed metadata", PLAIN_PDF, '{"number": ', 422, "METADATA_MALFORMED"),
        (
            "contradiction",
            facturx,
            {"supplier_structure_id": supplier["id"], "number": "AUTRE-1", "gross_total": "1.00"},
            422,
            "FORM_CONTRADICTS_DOCUMENT",
        ),
        (
            "routing",
            PLAIN_PDF,
            plain_metadata(supplier, service_code=None),
            422,
            "SERVICE_CODE_REQUIRED",
        ),
    ]
    for name, pdf, metadata, status, code in cases:
        response = await deposit_pdf(api, auth, pdf, metadata)
        assert response.status_code == status, (name, response.text)
        problem = response.json()
        assert problem["code"] == code, name
        assert problem["errors"], name
    contradiction = await deposit_pdf(api, auth, facturx, cases[4][2])
    assert {e["field"] for e in contradiction.json()["errors"]} == {"number", "gross_total"}

    bad_attachment = await deposit_pdf(
        api, auth, PLAIN_PDF, plain_metadata(supplier), attachments=[("outil.exe", b"MZ")]
    )
    assert bad_attachment.status_code == 422, bad_attachment.text
    assert bad_attachment.json()["code"] == "ATTACHMENT_EXTENSION_FORBIDDEN"
    assert bad_attachment.json()["errors"][0]["field"] == "attachments[0]"

    _, _, stranger = await activated_user(api, mailbox, "Sidonie")
    denied = await deposit_pdf(api, stranger, PLAIN_PDF, plain_metadata(supplier))
    assert denied.status_code == 403, denied.text

    listed = await api.get("/invoices", params={"side": "issued"}, headers=auth)
    assert listed.json()["items"] == []

    first = await deposit_pdf(api, auth, facturx, data={"supplier_structure_id": supplier["id"]})
    assert first.status_code == 201, first.text
    again = await deposit_pdf(api, auth, facturx, data={"supplier_structure_id": supplier["id"]})
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "INVOICE_NUMBER_DUPLICATE"
    listed = await api.get("/invoices", params={"side": "issued"}, headers=auth)
    assert [i["number"] for i in listed.json()["items"]] == [number]


async def test_portal_facturx_reads_back_through_the_pdf_channel(api, mailbox):
    """The Factur-X a portal entry produces is accepted by the PDF channel up to its last
    check: the same number from the same supplier is a duplicate."""
    _, _, auth = await activated_user(api, mailbox, "Octave")
    supplier = await supplier_of(api, auth, "Ascenseurs Octave SA")
    entry = {
        "supplier_structure_id": supplier["id"],
        "recipient": {"identifier_type": "SIRET", "identifier": SERVICE_REQUIRED_SIRET},
        "service_code": "SERV-FIN",
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": f"P-{uuid.uuid4().hex[:8]}",
        "issue_date": "2025-06-02",
        "lines": [
            {
                "description": "Révision",
                "quantity": "1",
                "unit": "C62",
                "unit_price": "300",
                "vat_rate": "20",
            }
        ],
    }
    created = await api.post("/invoices", headers=auth, json=entry)
    assert created.status_code == 201, created.text
    document = await rendered_document(api, auth, created.json()["id"])
    assert document.status_code == 200
    consistent = {
        "supplier_structure_id": supplier["id"],
        "number": entry["number"],
        "gross_total": "360.00",
    }
    again = await deposit_pdf(api, auth, document.content, consistent)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "INVOICE_NUMBER_DUPLICATE"
    contradicting = await deposit_pdf(
        api, auth, document.content, {**consistent, "gross_total": "300.00"}
    )
    assert contradicting.status_code == 422, contradicting.text
    assert contradicting.json()["errors"][0]["field"] == "gross_total"
