"""/api/v1/sollicitations through the gateway against service doubles: the mapping both
ways, the invoice check before writing about an invoice, problem+json errors."""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound

AUTH = {"Authorization": "Bearer tok"}
BUYER = "0b7e4b8e-31a4-4f7e-9d59-0d1f4b0b2a10"
SUPPLIER = "5c2b7a1e-8f0c-4d2a-9b1e-3a4f5d6c7b8a"
INVOICE = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
SOLLICITATION = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"


def sollicitation(**fields) -> pb.Sollicitation:
    values = {
        "id": SOLLICITATION,
        "sender": pb.Person(user_id="u1", first_name="Pierre", last_name="Martin"),
        "addressee_structure_id": BUYER,
        "addressee_structure_name": "Mairie de Lyon",
        "subject": "Paiement",
        "invoice_id": INVOICE,
        "invoice_number": "F-1",
        "status": pb.SOLLICITATION_STATUS_OUVERTE,
        "caller_is_sender": True,
        "messages": [
            pb.SollicitationMessage(
                id="m1",
                author=pb.Person(user_id="u1"),
                from_sender=True,
                body="Quand ?",
                attachments=[
                    pb.SollicitationAttachment(
                        id="a1", filename="bon.pdf", media_type="application/pdf", size=4
                    )
                ],
            )
        ],
        **fields,
    }
    return pb.Sollicitation(**values)


def invoice() -> invoices_pb.Invoice:
    return invoices_pb.Invoice(
        id=INVOICE, number="F-1", supplier_structure_id=SUPPLIER, recipient_structure_id=BUYER
    )


async def test_writing_about_an_invoice_reads_it_as_the_caller_and_sends_the_files(api, services):
    services.invoices.answer("GetInvoice", invoices_pb.GetInvoiceResponse(invoice=invoice()))
    services.structures.answer(
        "CreateSollicitation", pb.CreateSollicitationResponse(sollicitation=sollicitation())
    )

    response = await api.post(
        "/api/v1/sollicitations",
        data={
            "subject": "Paiement",
            "body": "Quand ?",
            "addressee_structure_id": BUYER,
            "sender_structure_id": SUPPLIER,
            "invoice_id": INVOICE,
        },
        files=[("attachments[]", ("bon.pdf", b"%PDF", "application/pdf"))],
        headers=AUTH,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "OUVERTE"
    assert body["invoice_number"] == "F-1"
    assert body["messages"][0]["attachments"][0]["filename"] == "bon.pdf"
    [read] = services.invoices.calls_to("GetInvoice")
    assert read.request.invoice_id == INVOICE
    assert read.metadata["authorization"] == "Bearer tok"
    [call] = services.structures.calls_to("CreateSollicitation")
    assert call.request.invoice_number == "F-1"
    assert call.request.sender_structure_id == SUPPLIER
    assert [(a.filename, a.content) for a in call.request.attachments] == [("bon.pdf", b"%PDF")]


async def test_an_invoice_the_caller_cannot_read_writes_nothing(api, services):
    services.invoices.answer(
        "GetInvoice", NotFound("INVOICE_NOT_FOUND", "Cette facture est introuvable.")
    )

    response = await api.post(
        "/api/v1/sollicitations",
        data={"subject": "S", "body": "B", "addressee_structure_id": BUYER, "invoice_id": INVOICE},
        headers=AUTH,
    )

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "INVOICE_NOT_FOUND"
    assert services.structures.calls_to("CreateSollicitation") == []


async def test_a_structure_foreign_to_the_invoice_is_refused(api, services):
    services.invoices.answer("GetInvoice", invoices_pb.GetInvoiceResponse(invoice=invoice()))
    other = "77777777-7777-4777-8777-777777777777"

    response = await api.post(
        "/api/v1/sollicitations",
        data={"subject": "S", "body": "B", "addressee_structure_id": other, "invoice_id": INVOICE},
        headers=AUTH,
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "ADDRESSEE_NOT_PARTY_TO_INVOICE"
    assert problem["errors"][0]["field"] == "addressee_structure_id"
    assert services.structures.calls_to("CreateSollicitation") == []


async def test_service_refusals_become_problems(api, services):
    services.structures.answer(
        "CreateSollicitation",
        InvalidArgument(
            "SUBJECT_TOO_LONG",
            "L'objet ne peut dépasser 200 caractères (201 saisis).",
            [FieldViolation("subject", "L'objet ne peut dépasser 200 caractères (201 saisis).")],
        ),
    )
    response = await api.post(
        "/api/v1/sollicitations",
        data={"subject": "x" * 201, "body": "B", "addressee_structure_id": BUYER},
        headers=AUTH,
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "subject", "message": "L'objet ne peut dépasser 200 caractères (201 saisis)."}
    ]

    services.structures.answer(
        "ReplySollicitation",
        FailedPrecondition("SOLLICITATION_CLOSED", "Cette sollicitation est clôturée."),
    )
    closed = await api.post(
        f"/api/v1/sollicitations/{SOLLICITATION}/replies", data={"body": "Encore"}, headers=AUTH
    )
    assert closed.status_code == 409
    assert closed.json()["code"] == "SOLLICITATION_CLOSED"


async def test_list_get_reply_close_and_download(api, services):
    services.structures.answer(
        "ListSollicitations",
        pb.ListSollicitationsResponse(
            sollicitations=[sollicitation(messages=[])], next_page_token="next"
        ),
    )
    listed = await api.get("/api/v1/sollicitations?box=RECUES&status=OUVERTE", headers=AUTH)
    assert listed.status_code == 200
    assert listed.json()["next_page_token"] == "next"
    [call] = services.structures.calls_to("ListSollicitations")
    assert call.request.box == pb.SOLLICITATION_BOX_RECUES
    assert call.request.status == pb.SOLLICITATION_STATUS_OUVERTE

    services.structures.answer(
        "GetSollicitation", pb.GetSollicitationResponse(sollicitation=sollicitation())
    )
    got = await api.get(f"/api/v1/sollicitations/{SOLLICITATION}", headers=AUTH)
    assert got.json()["messages"][0]["body"] == "Quand ?"

    services.structures.answer(
        "ReplySollicitation",
        pb.ReplySollicitationResponse(
            sollicitation=sollicitation(status=pb.SOLLICITATION_STATUS_REPONDUE)
        ),
    )
    replied = await api.post(
        f"/api/v1/sollicitations/{SOLLICITATION}/replies", data={"body": "Payée"}, headers=AUTH
    )
    assert replied.json()["status"] == "REPONDUE"

    services.structures.answer(
        "CloseSollicitation",
        pb.CloseSollicitationResponse(
            sollicitation=sollicitation(status=pb.SOLLICITATION_STATUS_CLOTUREE)
        ),
    )
    closed = await api.post(f"/api/v1/sollicitations/{SOLLICITATION}/closure", headers=AUTH)
    assert closed.json()["status"] == "CLOTUREE"

    services.structures.answer(
        "GetSollicitationAttachment",
        pb.GetSollicitationAttachmentResponse(
            filename="bon été.pdf", media_type="application/pdf", content=b"%PDF"
        ),
    )
    file = await api.get(
        f"/api/v1/sollicitations/{SOLLICITATION}/attachments/{SOLLICITATION}", headers=AUTH
    )
    assert file.content == b"%PDF"
    assert file.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''bon%20%C3%A9t%C3%A9.pdf"
    )


async def test_unknown_box_and_malformed_id_are_refused_without_a_call(api, services):
    bad_box = await api.get("/api/v1/sollicitations?box=TOUTES", headers=AUTH)
    assert bad_box.status_code == 422
    malformed = await api.get("/api/v1/sollicitations/pas-un-id", headers=AUTH)
    assert malformed.status_code == 404
    assert services.structures.calls == []


async def test_openapi_documents_the_operations(api):
    paths = (await api.get("/api/v1/openapi.json")).json()["paths"]
    assert set(paths["/api/v1/sollicitations"]) == {"get", "post"}
    assert "post" in paths["/api/v1/sollicitations/{sollicitation_id}/replies"]
    assert "post" in paths["/api/v1/sollicitations/{sollicitation_id}/closure"]
    create = paths["/api/v1/sollicitations"]["post"]
    assert "multipart/form-data" in create["requestBody"]["content"]
    assert "422" in create["responses"]
