"""Portal Sollicitations pages against service doubles: the lists, the new form reached from
an invoice (addressed to the other party, the invoice read as the caller), a refusal shown
beside its field with what was typed kept, CSRF, the thread with its reply and close forms,
a closed one without them, someone else's answering the 404 page."""

from __future__ import annotations

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument, NotFound

from .test_portal import HTML, csrf_of

BUYER = "0b7e4b8e-31a4-4f7e-9d59-0d1f4b0b2a10"
SUPPLIER = "5c2b7a1e-8f0c-4d2a-9b1e-3a4f5d6c7b8a"
INVOICE = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
SOLLICITATION = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"


@pytest.fixture
def signed_in(api):
    api.cookies.set("chorus_session", "acc-1")
    return api


def sollicitation(**fields) -> pb.Sollicitation:
    values = {
        "id": SOLLICITATION,
        "sender": pb.Person(user_id="u1", first_name="Pierre", last_name="Martin"),
        "sender_structure_name": "Fromagerie",
        "addressee_structure_id": BUYER,
        "addressee_structure_name": "Mairie de Lyon",
        "subject": "Paiement <F-1>",
        "invoice_id": INVOICE,
        "invoice_number": "F-1",
        "status": pb.SOLLICITATION_STATUS_OUVERTE,
        "caller_is_sender": True,
        "messages": [
            pb.SollicitationMessage(
                id="m1",
                author=pb.Person(user_id="u1", first_name="Pierre"),
                from_sender=True,
                body="Quand ?",
                attachments=[
                    pb.SollicitationAttachment(
                        id="a1", filename="bon.pdf", media_type="application/pdf", size=2048
                    )
                ],
            )
        ],
        **fields,
    }
    return pb.Sollicitation(**values)


def answer_invoice_and_memberships(services) -> None:
    services.invoices.answer(
        "GetInvoice",
        invoices_pb.GetInvoiceResponse(
            invoice=invoices_pb.Invoice(
                id=INVOICE,
                number="F-1",
                supplier_structure_id=SUPPLIER,
                recipient_structure_id=BUYER,
            )
        ),
    )
    services.structures.answer(
        "ListMyMemberships",
        pb.ListMyMembershipsResponse(
            memberships=[
                pb.Membership(structure=pb.Structure(id=SUPPLIER, raison_sociale="Fromagerie"))
            ]
        ),
    )
    services.structures.answer(
        "GetStructure",
        pb.GetStructureResponse(structure=pb.Structure(id=BUYER, raison_sociale="Mairie de Lyon")),
    )


async def test_lists_show_each_side(signed_in, services):
    services.structures.answer(
        "ListSollicitations",
        pb.ListSollicitationsResponse(sollicitations=[sollicitation(messages=[])]),
    )
    page = await signed_in.get("/sollicitations?boite=emises", headers=HTML)
    assert page.status_code == 200
    assert "Gestionnaires de « Mairie de Lyon »" in page.text
    assert "Paiement &lt;F-1&gt;" in page.text
    assert "Facture n° F-1" in page.text
    [call] = services.structures.calls_to("ListSollicitations")
    assert call.request.box == pb.SOLLICITATION_BOX_EMISES

    received = await signed_in.get("/sollicitations?boite=recues", headers=HTML)
    assert services.structures.calls_to("ListSollicitations")[-1].request.box == (
        pb.SOLLICITATION_BOX_RECUES
    )
    assert 'aria-current="page">Reçues' in received.text


async def test_new_form_from_an_invoice_addresses_the_other_party(signed_in, services):
    answer_invoice_and_memberships(services)
    page = await signed_in.get(f"/sollicitations/nouvelle?facture={INVOICE}", headers=HTML)
    assert page.status_code == 200, page.text
    assert "Gestionnaires de « Mairie de Lyon »" in page.text
    assert "Facture n° F-1" in page.text
    assert f'<option value="{SUPPLIER}" selected>Fromagerie</option>' in page.text
    assert services.structures.calls_to("GetStructure")[0].request.structure_id == BUYER


async def test_sending_passes_the_files_and_a_refusal_keeps_what_was_typed(signed_in, services):
    answer_invoice_and_memberships(services)
    page = await signed_in.get(f"/sollicitations/nouvelle?facture={INVOICE}", headers=HTML)
    form = {
        "csrf_token": csrf_of(page.text),
        "facture": INVOICE,
        "subject": "Paiement",
        "body": "Quand ?",
        "sender_structure_id": SUPPLIER,
    }
    message = "« a.exe » : type de fichier non accepté."
    services.structures.answer(
        "CreateSollicitation",
        InvalidArgument(
            "ATTACHMENT_EXTENSION_FORBIDDEN", message, [FieldViolation("attachments[0]", message)]
        ),
    )
    refused = await signed_in.post(
        "/sollicitations/nouvelle",
        data=form,
        files=[("attachments", ("a.exe", b"MZ", "application/octet-stream"))],
        headers=HTML,
    )
    assert refused.status_code == 422
    assert 'id="attachments-error"' in refused.text and "non accepté" in refused.text
    assert 'value="Paiement"' in refused.text

    services.structures.answer(
        "CreateSollicitation", pb.CreateSollicitationResponse(sollicitation=sollicitation())
    )
    sent = await signed_in.post(
        "/sollicitations/nouvelle",
        data=form,
        files=[("attachments", ("bon.pdf", b"%PDF", "application/pdf"))],
        headers=HTML,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/sollicitations/{SOLLICITATION}?avis=envoyee"
    call = services.structures.calls_to("CreateSollicitation")[-1]
    assert (call.request.addressee_structure_id, call.request.invoice_number) == (BUYER, "F-1")
    assert call.request.sender_structure_id == SUPPLIER
    assert [(a.filename, a.content) for a in call.request.attachments] == [("bon.pdf", b"%PDF")]


async def test_a_form_without_csrf_sends_nothing(signed_in, services):
    answer_invoice_and_memberships(services)
    refused = await signed_in.post(
        "/sollicitations/nouvelle",
        data={"facture": INVOICE, "subject": "S", "body": "B"},
        headers=HTML,
    )
    assert refused.status_code == 403
    assert services.structures.calls_to("CreateSollicitation") == []


async def test_thread_offers_reply_and_close_until_closed(signed_in, services):
    services.structures.answer(
        "GetSollicitation", pb.GetSollicitationResponse(sollicitation=sollicitation())
    )
    page = await signed_in.get(f"/sollicitations/{SOLLICITATION}", headers=HTML)
    assert page.status_code == 200
    assert f"/sollicitations/{SOLLICITATION}/pieces-jointes/a1" in page.text
    assert "Clôturer la sollicitation" in page.text
    services.structures.answer("ReplySollicitation", pb.ReplySollicitationResponse())
    replied = await signed_in.post(
        f"/sollicitations/{SOLLICITATION}/reponse",
        data={"csrf_token": csrf_of(page.text), "body": "Merci"},
        headers=HTML,
    )
    assert replied.status_code == 303
    assert services.structures.calls_to("ReplySollicitation")[0].request.body == "Merci"

    services.structures.answer(
        "GetSollicitation",
        pb.GetSollicitationResponse(
            sollicitation=sollicitation(status=pb.SOLLICITATION_STATUS_CLOTUREE)
        ),
    )
    closed = await signed_in.get(f"/sollicitations/{SOLLICITATION}", headers=HTML)
    assert "Clôturée" in closed.text
    assert "Envoyer le message" not in closed.text


async def test_someone_elses_sollicitation_is_the_404_page(signed_in, services):
    services.structures.answer(
        "GetSollicitation",
        NotFound("SOLLICITATION_NOT_FOUND", "Cette sollicitation est introuvable."),
    )
    page = await signed_in.get(f"/sollicitations/{SOLLICITATION}", headers=HTML)
    assert page.status_code == 404
    assert "Sollicitation introuvable" in page.text
    malformed = await signed_in.get("/sollicitations/pas-un-id", headers=HTML)
    assert malformed.status_code == 404


async def test_signed_out_goes_to_login(api):
    page = await api.get("/sollicitations", headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"] == "/connexion?suivant=%2Fsollicitations"
