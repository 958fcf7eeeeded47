"""POST /invoices/pdf through the gateway against service doubles: the multipart parts become
one DepositPdfInvoiceRequest; the service's refusals come back as problem+json."""

from __future__ import annotations

import json

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.errors import AlreadyExists, FieldViolation, InvalidArgument

from .test_api_invoices import AUTH, RECIPIENT_ID, SUPPLIER_ID, invoice

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
METADATA = {
    "supplier_structure_id": SUPPLIER_ID,
    "recipient_structure_id": RECIPIENT_ID,
    "service_code": "COMPTA",
    "framework": "A1_FACTURE_FOURNISSEUR",
    "type": "FACTURE",
    "number": "F-2026-007",
    "issue_date": "2026-01-15",
    "payment_terms": "30 jours",
    "net_total": "1000.00",
    "vat_total": "200.00",
    "gross_total": 1200,
    "vat_breakdown": [{"rate": "20", "base": "1000.00", "amount": "200.00"}],
}


def deposited() -> pb.DepositPdfInvoiceResponse:
    answer = invoice(pb.INVOICE_STATUS_DEPOSEE)
    del answer.lines[:]
    return pb.DepositPdfInvoiceResponse(invoice=answer)


async def post(api, *, metadata=METADATA, files=None, data=None):
    form = dict(data or {})
    if metadata is not None:
        form["metadata"] = metadata if isinstance(metadata, str) else json.dumps(metadata)
    return await api.post(
        "/api/v1/invoices/pdf",
        headers=AUTH,
        files=files if files is not None else [("file", ("facture.pdf", PDF, "application/pdf"))],
        data=form,
    )


async def test_plain_pdf_with_metadata_and_attachments_is_forwarded(api, services):
    services.invoices.answer("DepositPdfInvoice", deposited())
    response = await post(
        api,
        files=[
            ("file", ("facture.pdf", PDF, "application/pdf")),
            ("attachments[]", ("bon.pdf", b"%PDF-bon", "application/pdf")),
            ("attachments[]", ("releve.csv", b"a;b", "text/csv")),
        ],
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "DEPOSEE" and response.json()["lines"] == []
    [call] = services.invoices.calls_to("DepositPdfInvoice")
    request = call.request
    assert (request.filename, request.content) == ("facture.pdf", PDF)
    assert [(a.filename, a.content) for a in request.attachments] == [
        ("bon.pdf", b"%PDF-bon"),
        ("releve.csv", b"a;b"),
    ]
    header = request.header
    assert header.supplier_structure_id == SUPPLIER_ID
    assert header.recipient.structure_id == RECIPIENT_ID
    assert (header.framework, header.type) == (
        pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
        pb.INVOICE_TYPE_FACTURE,
    )
    assert (header.number, header.issue_date, header.service_code, header.currency) == (
        "F-2026-007",
        "2026-01-15",
        "COMPTA",
        "",
    )
    assert list(header.lines) == [] and not header.draft
    assert (request.totals.net_total, request.totals.gross_total) == ("1000.00", "1200")
    assert [(v.rate, v.base, v.amount) for v in request.totals.vat_breakdown] == [
        ("20", "1000.00", "200.00")
    ]
    assert call.metadata["authorization"] == "Bearer tok"


async def test_facturx_pdf_needs_no_metadata_when_the_supplier_is_a_form_field(api, services):
    services.invoices.answer("DepositPdfInvoice", deposited())
    response = await post(api, metadata=None, data={"supplier_structure_id": SUPPLIER_ID})
    assert response.status_code == 201, response.text
    [call] = services.invoices.calls_to("DepositPdfInvoice")
    assert call.request.header.supplier_structure_id == SUPPLIER_ID
    assert call.request.header.number == "" and not call.request.HasField("totals")


async def test_recipient_by_identifier_is_forwarded(api, services):
    services.invoices.answer("DepositPdfInvoice", deposited())
    metadata = {k: v for k, v in METADATA.items() if k != "recipient_structure_id"}
    metadata["recipient"] = {"identifier_type": "SIRET", "identifier": "11000201100044"}
    response = await post(api, metadata=metadata)
    assert response.status_code == 201, response.text
    [call] = services.invoices.calls_to("DepositPdfInvoice")
    recipient = call.request.header.recipient
    assert (recipient.identifier_type, recipient.identifier) == ("SIRET", "11000201100044")


async def test_malformed_metadata_json_is_422_in_french_without_a_call(api, services):
    response = await post(api, metadata='{"number": "F-1",')
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "METADATA_MALFORMED"
    assert "metadata n'est pas un JSON valide" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["metadata"]
    response = await post(api, metadata="[1, 2]")
    assert (response.status_code, response.json()["code"]) == (422, "METADATA_MALFORMED")
    assert services.invoices.calls_to("DepositPdfInvoice") == []


async def test_metadata_fields_are_checked_for_shape(api, services):
    metadata = {**METADATA, "issue_date": "15/01/2026", "net_total": "mille", "colour": "red"}
    response = await post(api, metadata=metadata)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "VALIDATION_FAILED"
    assert {e["field"] for e in problem["errors"]} == {"issue_date", "net_total", "colour"}
    assert services.invoices.calls_to("DepositPdfInvoice") == []


async def test_lines_are_refused_in_metadata(api, services):
    response = await post(api, metadata={**METADATA, "lines": []})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["lines"]
    assert services.invoices.calls_to("DepositPdfInvoice") == []


async def test_two_different_suppliers_or_recipients_are_refused(api, services):
    response = await post(api, data={"supplier_structure_id": RECIPIENT_ID})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "supplier_structure_id"
    both = {**METADATA, "recipient": {"identifier_type": "SIRET", "identifier": "1"}}
    response = await post(api, metadata=both)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "recipient"
    assert services.invoices.calls_to("DepositPdfInvoice") == []


async def test_missing_file_is_a_validation_error(api, services):
    response = await post(api, files=[("attachments[]", ("a.pdf", PDF, "application/pdf"))])
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["file"]
    assert services.invoices.calls_to("DepositPdfInvoice") == []


async def test_service_refusals_answer_422_with_fields(api, services):
    services.invoices.answer(
        "DepositPdfInvoice",
        InvalidArgument(
            "TOTALS_INCONSISTENT",
            "Les totaux indiqués ne sont pas cohérents : corrigez les montants signalés.",
            [FieldViolation("gross_total", "Le total TTC doit être égal au total HT plus la TVA.")],
        ),
    )
    response = await post(api)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "TOTALS_INCONSISTENT"
    assert problem["errors"] == [
        {"field": "gross_total", "message": "Le total TTC doit être égal au total HT plus la TVA."}
    ]


async def test_duplicate_number_is_409(api, services):
    services.invoices.answer(
        "DepositPdfInvoice",
        AlreadyExists("INVOICE_NUMBER_DUPLICATE", "Le numéro F-2026-007 est déjà utilisé."),
    )
    response = await post(api)
    assert (response.status_code, response.json()["code"]) == (409, "INVOICE_NUMBER_DUPLICATE")


async def test_oversized_upload_is_413_without_a_call(api, services):
    big = b" " * (10 * 1024 * 1024)
    response = await post(
        api,
        files=[
            ("file", ("facture.pdf", PDF + big, "application/pdf")),
            ("attachments[]", ("annexe.pdf", big, "application/pdf")),
        ],
    )
    assert response.status_code == 413
    assert response.json()["code"] == "FILE_TOO_LARGE"
    assert services.invoices.calls_to("DepositPdfInvoice") == []


async def test_openapi_describes_the_multipart_body(api):
    document = (await api.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/invoices/pdf"]["post"]
    assert {"201", "413", "422"} <= set(operation["responses"])
    ref = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert {"file", "metadata", "supplier_structure_id", "attachments[]"} <= set(
        schema["properties"]
    )
    assert schema["required"] == ["file"]
