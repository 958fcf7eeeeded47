"""POST /invoices/pdf through the gateway against service doubles: each attachment is staged on
its own (StageAttachment), then the other parts become one DepositPdfInvoiceRequest naming the
staged ids; the service's refusals come back as problem+json."""

from __future__ import annotations

import json
import os

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.errors import AlreadyExists, FieldViolation, InvalidArgument

from chorus_edge import attachment_staging

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


MiB = 1024 * 1024


def staged(request: pb.StageAttachmentRequest) -> pb.StageAttachmentResponse | InvalidArgument:
    """StageAttachment of the double: an id made of the file name; a ``.exe`` is refused."""
    name = request.file.filename
    if name.endswith(".exe"):
        return InvalidArgument(
            "ATTACHMENT_EXTENSION_FORBIDDEN",
            f"Certaines pièces jointes ne sont pas acceptées : « {name} » : type de fichier non"
            " accepté.",
            [FieldViolation("file", f"« {name} » : type de fichier non accepté.")],
        )
    return pb.StageAttachmentResponse(
        staged_attachment_id=f"staged-{name}", filename=name, size=len(request.file.content)
    )


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
    services.invoices.answer("StageAttachment", staged)
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
    stagings = services.invoices.calls_to("StageAttachment")
    assert [(c.request.file.filename, c.request.file.content) for c in stagings] == [
        ("bon.pdf", b"%PDF-bon"),
        ("releve.csv", b"a;b"),
    ]
    assert {c.metadata["authorization"] for c in stagings} == {"Bearer tok"}
    # Staged for a deposit by this supplier: the service checks that right before keeping them.
    assert {c.request.supplier_structure_id for c in stagings} == {
        request.header.supplier_structure_id
    }
    assert list(request.staged_attachment_ids) == ["staged-bon.pdf", "staged-releve.csv"]
    assert list(request.attachments) == []
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


async def test_attachments_beyond_one_message_are_staged_one_by_one(api, services):
    """Three 6 MB scans with a PDF: more than a gRPC message (16 MiB) together, each staged in
    its own; the deposit carries the PDF and the staged ids only."""
    services.invoices.answer("StageAttachment", staged)
    services.invoices.answer("DepositPdfInvoice", deposited())
    scans = [(f"scan-{i}.pdf", os.urandom(6 * MiB)) for i in range(3)]
    response = await post(
        api,
        files=[
            ("file", ("facture.pdf", PDF, "application/pdf")),
            *[("attachments[]", (name, data, "application/pdf")) for name, data in scans],
        ],
    )
    assert response.status_code == 201, response.text
    stagings = services.invoices.calls_to("StageAttachment")
    assert [(c.request.file.filename, c.request.file.content) for c in stagings] == scans
    [call] = services.invoices.calls_to("DepositPdfInvoice")
    assert list(call.request.staged_attachment_ids) == [f"staged-{n}" for n, _ in scans]
    assert call.request.ByteSize() < MiB


async def test_a_refused_attachment_names_its_place_and_nothing_is_deposited(api, services):
    services.invoices.answer("StageAttachment", staged)
    services.invoices.answer("DepositPdfInvoice", deposited())
    response = await post(
        api,
        files=[
            ("file", ("facture.pdf", PDF, "application/pdf")),
            ("attachments[]", ("bon.pdf", b"%PDF-bon", "application/pdf")),
            ("attachments[]", ("virus.exe", b"MZ", "application/octet-stream")),
            ("attachments[]", ("autre.pdf", b"%PDF-autre", "application/pdf")),
        ],
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "ATTACHMENT_EXTENSION_FORBIDDEN"
    assert "virus.exe" in problem["detail"]
    assert problem["errors"] == [
        {"field": "attachments[1]", "message": "« virus.exe » : type de fichier non accepté."}
    ]
    assert len(services.invoices.calls_to("StageAttachment")) == 2
    assert services.invoices.calls_to("DepositPdfInvoice") == []


async def test_one_oversized_file_is_413_without_a_deposit(api, services):
    services.invoices.answer("StageAttachment", staged)
    too_big = b" " * (15 * MiB + 1)
    for files in (
        [("file", ("facture.pdf", PDF + too_big, "application/pdf"))],
        [
            ("file", ("facture.pdf", PDF, "application/pdf")),
            ("attachments[]", ("annexe.pdf", too_big, "application/pdf")),
        ],
    ):
        response = await post(api, files=files)
        assert response.status_code == 413
        assert response.json()["code"] == "FILE_TOO_LARGE"
        assert "15 Mo" in response.json()["detail"]
    assert services.invoices.calls_to("StageAttachment") == []
    assert services.invoices.calls_to("DepositPdfInvoice") == []


async def test_attachments_beyond_the_invoice_total_are_413(api, services, monkeypatch):
    """120 MB in all (lowered here): refused once the files read reach it, before the
    deposit; the request as a whole is bounded by its Content-Length too."""
    services.invoices.answer("StageAttachment", staged)
    monkeypatch.setattr(attachment_staging, "MAX_ATTACHMENTS_BYTES", MiB)
    files = [
        ("file", ("facture.pdf", PDF, "application/pdf")),
        ("attachments[]", ("a.pdf", b"a" * (MiB // 2), "application/pdf")),
        ("attachments[]", ("b.pdf", b"b" * (MiB // 2 + 1), "application/pdf")),
    ]
    response = await post(api, files=files)
    assert response.status_code == 413
    problem = response.json()
    assert problem["code"] == "REQUEST_TOO_LARGE"
    assert "au total" in problem["detail"]
    assert len(services.invoices.calls_to("StageAttachment")) == 1
    assert services.invoices.calls_to("DepositPdfInvoice") == []

    monkeypatch.setattr(attachment_staging, "MAX_REQUEST_BYTES", MiB)
    response = await post(api, files=files)
    assert (response.status_code, response.json()["code"]) == (413, "REQUEST_TOO_LARGE")
    assert len(services.invoices.calls_to("StageAttachment")) == 1


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


async def test_attachments_without_brackets_are_taken_too(api, services):
    services.invoices.answer("StageAttachment", staged)
    services.invoices.answer("DepositPdfInvoice", deposited())
    response = await post(
        api,
        files=[
            ("file", ("facture.pdf", PDF, "application/pdf")),
            ("attachments", ("bon.pdf", b"%PDF-bon", "application/pdf")),
        ],
    )

    assert response.status_code == 201, response.text
    [staging] = services.invoices.calls_to("StageAttachment")
    assert staging.request.file.filename == "bon.pdf"


async def test_a_file_under_an_unknown_name_is_refused_not_dropped(api, services):
    response = await post(
        api,
        files=[
            ("file", ("facture.pdf", PDF, "application/pdf")),
            ("attachment", ("bon.pdf", b"%PDF-bon", "application/pdf")),
        ],
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "FIELD_UNKNOWN"
    assert [e["field"] for e in response.json()["errors"]] == ["attachment"]
    assert services.invoices.calls == []
