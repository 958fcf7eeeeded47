"""/invoices/xml and /invoices/{id}/document through the gateway against service doubles."""

from __future__ import annotations

import io
import zipfile

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument, Unavailable

from .test_api_invoices import AUTH, INVOICE_ID, SUPPLIER_ID, invoice

UBL = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'


async def test_structured_deposit_forwards_the_file_and_answers_201(api, services):
    deposited = invoice(pb.INVOICE_STATUS_DEPOSEE)
    deposited.warnings.add(
        rule_id="PEPPOL-EN16931-R008", message="empty", location="/Invoice[1]", fatal=False
    )
    services.invoices.answer(
        "DepositStructuredInvoice", pb.DepositStructuredInvoiceResponse(invoice=deposited)
    )
    response = await api.post(
        "/api/v1/invoices/xml",
        headers=AUTH,
        files={"file": ("facture.xml", UBL, "application/xml")},
        data={"supplier_structure_id": SUPPLIER_ID},
    )
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == [
        {
            "rule_id": "PEPPOL-EN16931-R008",
            "message": "empty",
            "location": "/Invoice[1]",
            "fatal": False,
        }
    ]
    [call] = services.invoices.calls_to("DepositStructuredInvoice")
    assert (call.request.filename, call.request.content) == ("facture.xml", UBL)
    assert call.request.supplier_structure_id == SUPPLIER_ID
    assert call.metadata["authorization"] == "Bearer tok"


async def test_rule_failures_answer_422_with_rule_ids_and_paths(api, services):
    services.invoices.answer(
        "DepositStructuredInvoice",
        InvalidArgument(
            "EN16931_RULES_FAILED",
            "La facture ne respecte pas la norme EN 16931 : 1 règle(s) en échec (BR-CO-10).",
            [FieldViolation("/Invoice[1]/cac:LegalMonetaryTotal[1]", "[BR-CO-10] Sum of lines")],
            metadata={"rules": "BR-CO-10"},
        ),
    )
    response = await api.post(
        "/api/v1/invoices/xml",
        headers=AUTH,
        files={"file": ("f.xml", UBL, "application/xml")},
        data={"supplier_structure_id": SUPPLIER_ID},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "EN16931_RULES_FAILED"
    assert problem["errors"] == [
        {"field": "/Invoice[1]/cac:LegalMonetaryTotal[1]", "message": "[BR-CO-10] Sum of lines"}
    ]


async def test_missing_file_or_supplier_is_a_validation_error_without_a_call(api, services):
    response = await api.post(
        "/api/v1/invoices/xml", headers=AUTH, data={"supplier_structure_id": SUPPLIER_ID}
    )
    assert response.status_code == 422
    response = await api.post(
        "/api/v1/invoices/xml", headers=AUTH, files={"file": ("f.xml", UBL, "application/xml")}
    )
    assert response.status_code == 422
    assert services.invoices.calls_to("DepositStructuredInvoice") == []


async def test_oversized_upload_is_413_without_a_call(api, services):
    big = b" " * (15 * 1024 * 1024 + 1)
    response = await api.post(
        "/api/v1/invoices/xml",
        headers=AUTH,
        files={"file": ("big.xml", big, "application/xml")},
        data={"supplier_structure_id": SUPPLIER_ID},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "FILE_TOO_LARGE"
    assert services.invoices.calls_to("DepositStructuredInvoice") == []


async def test_document_download_carries_type_and_name(api, services):
    services.invoices.answer(
        "GetInvoiceDocument",
        pb.GetInvoiceDocumentResponse(
            filename="facture-F-2026-001.pdf", media_type="application/pdf", content=b"%PDF-1.7"
        ),
    )
    response = await api.get(f"/api/v1/invoices/{INVOICE_ID}/document", headers=AUTH)
    assert response.status_code == 200
    assert response.content == b"%PDF-1.7"
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''facture-F-2026-001.pdf"
    )
    [call] = services.invoices.calls_to("GetInvoiceDocument")
    assert call.request.invoice_id == INVOICE_ID


async def test_invoice_bundle_entries_are_plain_unique_names_whatever_the_documents_are_called(
    api, services
):
    names = {
        "11111111-1111-4111-8111-111111111111": "..",
        "22222222-2222-4222-8222-222222222222": "../../etc/passwd",
        "33333333-3333-4333-8333-333333333333": "/etc/passwd",
        "44444444-4444-4444-8444-444444444444": "a\\b\x00.xml",
        "55555555-5555-4555-8555-555555555555": "B.XML",
        "66666666-6666-4666-8666-666666666666": "b.xml",
    }
    services.invoices.answer(
        "GetInvoiceDocument",
        lambda request: pb.GetInvoiceDocumentResponse(
            filename=names[request.invoice_id], media_type="application/xml", content=b"<x/>"
        ),
    )
    response = await api.post("/api/v1/invoices/archive", headers=AUTH, json={"ids": list(names)})
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        entries = bundle.namelist()
    assert entries == [
        "facture-11111111-1111-4111-8111-111111111111",
        "passwd",
        "33333333-3333-4333-8333-333333333333-passwd",
        "b_.xml",
        "B.XML",
        "66666666-6666-4666-8666-666666666666-b.xml",
    ]
    assert len({e.casefold() for e in entries}) == len(entries)


async def test_a_pdf_in_preparation_is_503_with_retry_after_2_and_the_french_message(api, services):
    message = "Le PDF de cette facture est en préparation : réessayez dans quelques secondes."
    services.invoices.answer(
        "GetInvoiceDocument",
        Unavailable("DOCUMENT_IN_PREPARATION", message, metadata={"retry_after_seconds": "2"}),
    )

    response = await api.get(f"/api/v1/invoices/{INVOICE_ID}/document", headers=AUTH)

    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    problem = response.json()
    assert (problem["code"], problem["detail"]) == ("DOCUMENT_IN_PREPARATION", message)


async def test_the_xml_of_a_portal_invoice_is_asked_by_role(api, services):
    services.invoices.answer(
        "GetInvoiceDocument",
        pb.GetInvoiceDocumentResponse(
            filename="facture-F-1.xml", media_type="application/xml", content=b"<x/>"
        ),
    )

    response = await api.get(f"/api/v1/invoices/{INVOICE_ID}/document?role=CII", headers=AUTH)
    refused = await api.get(f"/api/v1/invoices/{INVOICE_ID}/document?role=PNG", headers=AUTH)

    assert response.status_code == 200 and response.content == b"<x/>"
    assert response.headers["content-type"].startswith("application/xml")
    assert refused.status_code == 422
    [call] = services.invoices.calls_to("GetInvoiceDocument")
    assert (call.request.invoice_id, call.request.role) == (INVOICE_ID, "CII")


async def test_the_invoice_says_its_pdf_is_pending(api, services):
    pending = invoice(pb.INVOICE_STATUS_DEPOSEE)
    pending.facturx_pending = True
    services.invoices.answer("GetInvoice", pb.GetInvoiceResponse(invoice=pending))

    response = await api.get(f"/api/v1/invoices/{INVOICE_ID}", headers=AUTH)

    assert response.status_code == 200
    assert response.json()["facturx_pending"] is True
