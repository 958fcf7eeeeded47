"""POST /invoices/{id}/completion through the gateway against service doubles: the comment, and
the attachments staged one by one (StageAttachment) then named by CompleteInvoice."""

from __future__ import annotations

import os

from chorus.invoices.v1 import invoices_service_pb2 as pb

from .test_api_invoice_pdf import MiB, staged
from .test_api_invoices import AUTH, INVOICE_ID, invoice

URL = f"/api/v1/invoices/{INVOICE_ID}/completion"


def completed(request: pb.CompleteInvoiceRequest) -> pb.CompleteInvoiceResponse:
    return pb.CompleteInvoiceResponse(invoice=invoice(pb.INVOICE_STATUS_COMPLETEE))


async def test_multipart_completion_stages_each_file_then_completes(api, services):
    services.invoices.answer("StageAttachment", staged)
    services.invoices.answer("CompleteInvoice", completed)
    scans = [(f"bon-{i}.pdf", os.urandom(6 * MiB)) for i in range(3)]
    response = await api.post(
        URL,
        headers={**AUTH, "Idempotency-Key": "k-42"},
        data={"comment": "Bons de commande joints"},
        files=[("attachments[]", (n, c, "application/pdf")) for n, c in scans],
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "COMPLETEE"
    stagings = services.invoices.calls_to("StageAttachment")
    assert [(c.request.file.filename, c.request.file.content) for c in stagings] == scans
    # Staged for this invoice's completion: the service checks that right before keeping them.
    assert {(c.request.invoice_id, c.request.supplier_structure_id) for c in stagings} == {
        (INVOICE_ID, "")
    }
    # Each file is staged under the request's key made unique per file (same ids on a retry).
    assert [c.metadata["idempotency-key"] for c in stagings] == [
        f"k-42/attachments[{i}]" for i in range(3)
    ]
    [call] = services.invoices.calls_to("CompleteInvoice")
    assert (call.request.invoice_id, call.request.comment) == (
        INVOICE_ID,
        "Bons de commande joints",
    )
    assert list(call.request.staged_attachment_ids) == [f"staged-{n}" for n, _ in scans]
    assert list(call.request.attachments) == []
    assert call.metadata["idempotency-key"] == "k-42"


async def test_json_completion_stages_nothing(api, services):
    services.invoices.answer("CompleteInvoice", completed)
    response = await api.post(URL, headers=AUTH, json={"comment": "Voir courrier"})
    assert response.status_code == 200, response.text
    assert services.invoices.calls_to("StageAttachment") == []
    [call] = services.invoices.calls_to("CompleteInvoice")
    assert (call.request.comment, list(call.request.staged_attachment_ids)) == (
        "Voir courrier",
        [],
    )


async def test_a_refused_attachment_is_422_naming_it_without_completing(api, services):
    services.invoices.answer("StageAttachment", staged)
    services.invoices.answer("CompleteInvoice", completed)
    response = await api.post(
        URL,
        headers=AUTH,
        data={"comment": "x"},
        files=[
            ("attachments[]", ("bon.pdf", b"%PDF-1.4", "application/pdf")),
            ("attachments[]", ("outil.exe", b"MZ", "application/octet-stream")),
        ],
    )
    assert response.status_code == 422
    assert response.json()["code"] == "ATTACHMENT_EXTENSION_FORBIDDEN"
    assert [e["field"] for e in response.json()["errors"]] == ["attachments[1]"]
    assert services.invoices.calls_to("CompleteInvoice") == []


async def test_an_oversized_file_is_413_without_a_call(api, services):
    services.invoices.answer("StageAttachment", staged)
    response = await api.post(
        URL,
        headers=AUTH,
        data={"comment": "x"},
        files=[("attachments[]", ("gros.pdf", b" " * (15 * MiB + 1), "application/pdf"))],
    )
    assert (response.status_code, response.json()["code"]) == (413, "FILE_TOO_LARGE")
    assert services.invoices.calls_to("StageAttachment") == []
    assert services.invoices.calls_to("CompleteInvoice") == []


async def test_a_file_under_an_unknown_name_is_refused_not_dropped(api, services):
    response = await api.post(
        f"/api/v1/invoices/{INVOICE_ID}/completion",
        headers=AUTH,
        data={"comment": "Bon de commande joint"},
        files=[("piece", ("bdc.pdf", b"%PDF-1.4", "application/pdf"))],
    )

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "FIELD_UNKNOWN"
    assert services.invoices.calls == []
