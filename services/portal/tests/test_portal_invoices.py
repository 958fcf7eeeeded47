"""Portal invoice pages against service doubles: "Mes factures", one invoice and its actions,
the three deposit forms, and their refusals (CSRF, foreign invoice, wrong state, missing
reason, rule failures, PDF deposit not yet served)."""

from __future__ import annotations

import re

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from google.protobuf.timestamp_pb2 import Timestamp

from .api_samples import staged
from .test_portal import HTML, csrf_of

INVOICE_ID = "3f2b8d4c-7a61-4e1b-8d0e-5c9a2f1e7b33"
SUPPLIER_ID = "0b7e4b8e-31a4-4f7e-9d59-0d1f4b0b2a10"
RECIPIENT_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
OTHER_ID = "5d1c9e0a-2b3f-4c5d-8e6f-7a8b9c0d1e2f"
NAMES = {SUPPLIER_ID: "Fromagerie Dupont", RECIPIENT_ID: "Ville de Démoville"}
NNBSP, NBSP = "\u202f", "\u00a0"


def invoice(status=pb.INVOICE_STATUS_MISE_A_DISPOSITION, actions=(), **changes) -> pb.Invoice:
    found = pb.Invoice(
        id=INVOICE_ID,
        number="F-2026-001",
        supplier_structure_id=SUPPLIER_ID,
        recipient_structure_id=RECIPIENT_ID,
        service_code="SERV-FIN",
        framework=pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
        type=pb.INVOICE_TYPE_FACTURE,
        issue_date="2026-01-15",
        currency="EUR",
        lines=[
            pb.InvoiceLine(
                description="Tomme de Savoie",
                quantity="100",
                unit="KGM",
                unit_price="11.70",
                vat_rate="5.5",
                net_amount="1170.00",
            )
        ],
        totals=pb.Totals(
            net_total="1170.00",
            vat_total="64.35",
            gross_total="1234.35",
            amount_due="1234.35",
            vat_breakdown=[pb.VatBreakdown(rate="5.5", base="1170.00", amount="64.35")],
        ),
        status=status,
        lifecycle_code=203,
        lifecycle_label="Mise à disposition",
        lifecycle_description="203 Mise à disposition",
        lifecycle_codes=[
            pb.LifecycleCode(
                code=203, label="Mise à disposition", description="203 Mise à disposition"
            )
        ],
        allowed_actions=list(actions),
        documents=[
            pb.InvoiceDocument(
                id="d1",
                role="FACTURX",
                filename="F-2026-001.pdf",
                media_type="application/pdf",
                size=20480,
            ),
            pb.InvoiceDocument(
                id="a 2",
                role="ATTACHMENT",
                filename="bon.pdf",
                media_type="application/pdf",
                size=300,
            ),
        ],
    )
    for name in changes:
        found.ClearField(name)
    found.MergeFrom(pb.Invoice(**changes))
    return found


def history() -> pb.GetInvoiceHistoryResponse:
    return pb.GetInvoiceHistoryResponse(
        entries=[
            pb.HistoryEntry(
                status=pb.INVOICE_STATUS_DEPOSEE,
                lifecycle_code=200,
                lifecycle_codes=[pb.LifecycleCode(code=200, description="200 Déposée")],
                at=Timestamp(seconds=1_767_225_600),
                actor="u1",
            ),
            pb.HistoryEntry(
                status=pb.INVOICE_STATUS_SERVICE_FAIT,
                lifecycle_code=204,
                lifecycle_codes=[
                    pb.LifecycleCode(code=204, description="204 Prise en charge — service fait")
                ],
                at=Timestamp(seconds=1_767_227_400),
                actor="u2",
            ),
            pb.HistoryEntry(
                status=pb.INVOICE_STATUS_SUSPENDUE,
                lifecycle_code=208,
                lifecycle_codes=[pb.LifecycleCode(code=208, description="208 Suspendue")],
                at=Timestamp(seconds=1_767_229_200),
                actor="u2",
                comment="Bon de livraison manquant",
            ),
            pb.HistoryEntry(
                status=pb.INVOICE_STATUS_MISE_EN_PAIEMENT,
                lifecycle_code=211,
                lifecycle_codes=[
                    pb.LifecycleCode(
                        code=211, description="211 Paiement transmis — mise en paiement"
                    ),
                    pb.LifecycleCode(
                        code=212, description="212 Encaissée — mise en paiement (B2G historique)"
                    ),
                ],
                at=Timestamp(seconds=1_767_231_000),
                actor="u2",
            ),
        ]
    )


def structure(request) -> spb.GetStructureResponse:
    return spb.GetStructureResponse(
        structure=spb.Structure(
            id=request.structure_id, raison_sociale=NAMES.get(request.structure_id, "?")
        )
    )


@pytest.fixture
def signed_in(api, services):
    api.cookies.set("chorus_session", "acc-1")
    services.structures.answer("GetStructure", structure)
    return api


FORWARD = [
    "PRISE_EN_COMPTE_DESTINATAIRE",
    "SERVICE_FAIT",
    "MANDATEE",
    "MISE_A_DISPOSITION_COMPTABLE",
    "COMPTABILISEE",
    "MISE_EN_PAIEMENT",
]
SEND_BACK = ["SUSPENDUE", "A_RECYCLER", "REJETEE"]
TERMINAL = ("MISE_EN_PAIEMENT", "REJETEE")


def status_number(name: str) -> int:
    return pb.InvoiceStatus.Value(f"INVOICE_STATUS_{name}")


def table(request: pb.ListStatusTransitionsRequest) -> pb.ListStatusTransitionsResponse:
    """The invoices service's table for the recipient's statuses, as ListStatusTransitions
    answers it (suggested: the next step; terminal: MISE_EN_PAIEMENT, REJETEE)."""
    source = pb.InvoiceStatus.Name(request.from_status).removeprefix("INVOICE_STATUS_")
    recipient = pb.LIFECYCLE_PARTY_RECIPIENT
    moves = []
    if source in ("MISE_A_DISPOSITION", "COMPLETEE", *FORWARD):
        start = FORWARD.index(source) + 1 if source in FORWARD else 0
        for offset, target in enumerate(FORWARD[start:]):
            moves.append((target, recipient, offset == 0, False))
    if source in (
        "MISE_A_DISPOSITION",
        "COMPLETEE",
        "PRISE_EN_COMPTE_DESTINATAIRE",
        "SERVICE_FAIT",
    ):
        moves += [(target, recipient, False, True) for target in SEND_BACK]
    if source == "SUSPENDUE":
        moves.append(("COMPLETEE", pb.LIFECYCLE_PARTY_SUPPLIER, True, False))
    return pb.ListStatusTransitionsResponse(
        transitions=[
            pb.StatusTransition(
                target=status_number(target),
                party=party,
                action=f"MARK_{target}" if party == recipient else "COMPLETE",
                reason_required=reason,
                suggested=suggested,
                terminal=target in TERMINAL,
            )
            for target, party, suggested, reason in moves
        ]
    )


def with_detail(services, found: pb.Invoice) -> None:
    services.invoices.answer("GetInvoice", pb.GetInvoiceResponse(invoice=found))
    services.invoices.answer("GetInvoiceHistory", history())
    services.invoices.answer("ListStatusTransitions", table)


async def detail_csrf(client) -> str:
    page = await client.get(f"/factures/{INVOICE_ID}", headers=HTML)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


# Mes factures


async def test_pages_ask_to_sign_in_first(api, services):
    for path in ("/factures", f"/factures/{INVOICE_ID}", "/factures/nouvelle"):
        response = await api.get(path, headers=HTML)
        assert response.status_code == 303
        assert response.headers["location"] == "/connexion?suivant=" + path.replace("/", "%2F")
    assert services.invoices.calls == []


async def test_issued_list_shows_the_table_the_french_way(signed_in, services):
    services.invoices.answer(
        "ListInvoices",
        pb.ListInvoicesResponse(invoices=[invoice()], next_page_token="tok-2"),
    )

    response = await signed_in.get("/factures", headers=HTML)

    assert response.status_code == 200
    page = response.text
    assert 'aria-current="page">Émises' in page
    assert '<th scope="col">Destinataire</th>' in page
    assert f'href="/factures/{INVOICE_ID}">F-2026-001</a>' in page
    assert "15/01/2026" in page
    assert "Ville de Démoville" in page
    assert f"1{NNBSP}234,35{NBSP}€" in page
    assert "Mise à disposition" in page
    assert 'href="/factures?side=issued&amp;page_token=tok-2" rel="next">Page suivante' in page
    [call] = services.invoices.calls_to("ListInvoices")
    assert call.request.side == pb.LIST_SIDE_ISSUED
    assert call.metadata["authorization"] == "Bearer acc-1"
    assert [c.request.structure_id for c in services.structures.calls_to("GetStructure")] == [
        RECIPIENT_ID
    ]


async def test_received_list_passes_every_filter_and_keeps_them_on_the_next_page(
    signed_in, services
):
    services.invoices.answer(
        "ListInvoices", pb.ListInvoicesResponse(invoices=[invoice()], next_page_token="tok-2")
    )
    query = {
        "side": "received",
        "status": "SUSPENDUE",
        "number": "F-2026",
        "issued_from": "2026-01-01",
        "issued_to": "2026-01-31",
        "deposited_from": "2026-01-02",
        "deposited_to": "2026-02-01",
        "min_amount": "1 000,50",
        "max_amount": "2000",
        "counterparty_name": "fromagerie",
        "service_code": "SERV-FIN",
    }

    response = await signed_in.get("/factures", params=query, headers=HTML)

    assert response.status_code == 200
    assert '<th scope="col">Fournisseur</th>' in response.text
    assert "Fromagerie Dupont" in response.text
    [call] = services.invoices.calls_to("ListInvoices")
    sent = call.request
    assert sent.side == pb.LIST_SIDE_RECEIVED
    assert sent.status == pb.INVOICE_STATUS_SUSPENDUE
    assert (sent.number, sent.issued_from, sent.issued_to) == ("F-2026", "2026-01-01", "2026-01-31")
    assert (sent.deposited_from, sent.deposited_to) == ("2026-01-02", "2026-02-01")
    assert (sent.min_amount, sent.max_amount) == ("1000.50", "2000")
    assert (sent.counterparty_name, sent.service_code) == ("fromagerie", "SERV-FIN")
    next_link = re.search(r'href="([^"]+)" rel="next"', response.text).group(1)
    assert "counterparty_name=fromagerie" in next_link and "page_token=tok-2" in next_link

    await signed_in.get(next_link.replace("&amp;", "&"), headers=HTML)
    assert services.invoices.calls_to("ListInvoices")[1].request.page_token == "tok-2"
    assert services.invoices.calls_to("ListInvoices")[1].request.service_code == "SERV-FIN"


async def test_empty_list_says_so(signed_in, services):
    services.invoices.answer("ListInvoices", pb.ListInvoicesResponse())

    issued = await signed_in.get("/factures", headers=HTML)
    filtered = await signed_in.get("/factures", params={"number": "ZZ"}, headers=HTML)

    assert "Vous n'avez encore émis aucune facture." in issued.text
    assert "Aucune facture ne correspond à ces critères." in filtered.text


async def test_expired_session_goes_back_to_login(signed_in, services):
    services.invoices.answer("ListInvoices", Unauthenticated("TOKEN_EXPIRED", "Session expirée."))

    response = await signed_in.get("/factures", headers=HTML)

    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?suivant=%2Ffactures"


async def test_notice_parameter_shows_fixed_texts_only(signed_in, services):
    services.invoices.answer("ListInvoices", pb.ListInvoicesResponse())

    known = await signed_in.get("/factures", params={"avis": "supprimee"}, headers=HTML)
    forged = await signed_in.get(
        "/factures", params={"avis": "<script>alert(1)</script>"}, headers=HTML
    )

    assert "Brouillon supprimé." in known.text
    assert "alert(1)" not in forged.text and 'role="status"' not in forged.text


async def test_unreadable_filters_are_shown_beside_their_fields(signed_in, services):
    services.invoices.answer(
        "ListInvoices",
        InvalidArgument(
            "FILTER_INVALID",
            "Critères de recherche invalides : corrigez les champs signalés.",
            [FieldViolation("issued_from", "Dates d'émission : le début est après la fin.")],
        ),
    )

    response = await signed_in.get(
        "/factures", params={"issued_from": "2026-02-01", "issued_to": "2026-01-01"}, headers=HTML
    )

    assert response.status_code == 422
    assert "Critères de recherche invalides" in response.text
    assert 'id="issued_from-error">Dates d&#39;émission : le début est après la fin.' in (
        response.text
    )
    assert 'value="2026-02-01"' in response.text


# One invoice


async def test_detail_shows_lines_vat_totals_documents_history_and_actions(signed_in, services):
    with_detail(
        services,
        invoice(
            actions=["MARK_PRISE_EN_COMPTE_DESTINATAIRE", "MARK_SUSPENDUE", "MARK_REJETEE"],
            warnings=[pb.RuleFinding(rule_id="BR-FR-05", message="Mention à vérifier.")],
        ),
    )

    response = await signed_in.get(f"/factures/{INVOICE_ID}", headers=HTML)

    page = response.text
    assert response.status_code == 200
    for text in (
        "Facture n° F-2026-001",
        "Fromagerie Dupont",
        "Ville de Démoville",
        "Tomme de Savoie",
        "Kilogramme",
        f"11,70{NBSP}€",
        "5,5 %",
        f"64,35{NBSP}€",
        f"1{NNBSP}234,35{NBSP}€",
        "BR-FR-05",
        "Bon de livraison manquant",
        "Suspendue",
        "(cycle de vie : 203 Mise à disposition)",
    ):
        assert text in page, text
    # Each history row says which Chorus status gave its lifecycle code(s).
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td>", page.split('id="history"')[1])
    assert rows == [
        ("Déposée", "200 Déposée"),
        ("Service fait", "204 Prise en charge — service fait"),
        ("Suspendue", "208 Suspendue"),
        (
            "Mise en paiement",
            "211 Paiement transmis — mise en paiement<br>"
            "212 Encaissée — mise en paiement (B2G historique)",
        ),
    ]
    assert f'href="/factures/{INVOICE_ID}/document"' in page
    assert f'href="/factures/{INVOICE_ID}/pieces-jointes/a%202"' in page
    assert f'action="/factures/{INVOICE_ID}/statut"' in page
    # The next step as a button, the ways back in one form with a reason.
    assert 'name="status" value="PRISE_EN_COMPTE_DESTINATAIRE"' in page
    assert 'name="status" value="SUSPENDUE"' in page and 'value="REJETEE"' in page
    assert 'value="A_RECYCLER"' not in page  # not among the reader's actions
    assert '<option value="DOUBLON">Facture en doublon</option>' in page
    assert "/depot" not in page and "/completion" not in page


async def test_detail_says_the_pdf_is_in_preparation_and_links_the_xml(signed_in, services):
    xml = pb.InvoiceDocument(
        id="x1", role="CII", filename="facture-F-2026-001.xml", media_type="application/xml"
    )
    with_detail(services, invoice(facturx_pending=True, documents=[xml]))

    page = (await signed_in.get(f"/factures/{INVOICE_ID}", headers=HTML)).text

    assert "PDF en préparation — actualisez dans quelques secondes" in page
    assert f'href="/factures/{INVOICE_ID}/document?role=CII"' in page
    assert "Facture (XML CII)" in page


async def test_detail_links_a_pdf_rendered_at_its_first_download(signed_in, services):
    xml = pb.InvoiceDocument(
        id="x1",
        role="CII",
        filename="facture-F-2026-001.xml",
        media_type="application/xml",
        size=2048,
    )
    to_render = pb.InvoiceDocument(
        role="FACTURX", filename="facture-F-2026-001.pdf", media_type="application/pdf"
    )
    with_detail(services, invoice(documents=[xml, to_render]))

    page = (await signed_in.get(f"/factures/{INVOICE_ID}", headers=HTML)).text

    assert "en préparation" not in page
    assert f'href="/factures/{INVOICE_ID}/document" download>facture-F-2026-001.pdf</a></li>' in (
        page
    )
    assert "Facture (PDF Factur-X)" in page and "(0 o)" not in page


async def test_a_pdf_in_preparation_downloads_as_a_page_saying_so(signed_in, services):
    message = "Le PDF de cette facture est en préparation : réessayez dans quelques secondes."
    services.invoices.answer(
        "GetInvoiceDocument",
        Unavailable("DOCUMENT_IN_PREPARATION", message, metadata={"retry_after_seconds": "2"}),
    )

    response = await signed_in.get(f"/factures/{INVOICE_ID}/document", headers=HTML)

    assert response.status_code == 503
    assert message in response.text and "<html" in response.text


async def test_the_portal_downloads_the_xml_by_role(signed_in, services):
    services.invoices.answer(
        "GetInvoiceDocument",
        pb.GetInvoiceDocumentResponse(
            filename="facture-F-1.xml", media_type="application/xml", content=b"<x/>"
        ),
    )

    response = await signed_in.get(f"/factures/{INVOICE_ID}/document?role=CII", headers=HTML)

    assert response.status_code == 200 and response.content == b"<x/>"
    [call] = services.invoices.calls_to("GetInvoiceDocument")
    assert call.request.role == "CII"


async def test_detail_of_a_rendered_invoice_says_nothing_of_preparation(signed_in, services):
    with_detail(services, invoice())

    page = (await signed_in.get(f"/factures/{INVOICE_ID}", headers=HTML)).text

    assert "en préparation" not in page
    assert "Facture (PDF Factur-X)" in page


async def test_supplier_sees_only_the_actions_allowed(signed_in, services):
    with_detail(
        services,
        invoice(status=pb.INVOICE_STATUS_BROUILLON, actions=["SUBMIT", "DELETE"], documents=[]),
    )

    page = (await signed_in.get(f"/factures/{INVOICE_ID}", headers=HTML)).text

    assert f'action="/factures/{INVOICE_ID}/depot"' in page
    assert f'action="/factures/{INVOICE_ID}/suppression"' in page
    assert "/statut" not in page
    assert "le PDF Factur-X est produit au dépôt" in page


async def test_foreign_or_malformed_invoice_is_the_french_404_page(signed_in, services):
    services.invoices.answer("GetInvoice", NotFound("INVOICE_NOT_FOUND", "Facture introuvable."))
    services.invoices.answer("GetInvoiceHistory", history())

    foreign = await signed_in.get(f"/factures/{OTHER_ID}", headers=HTML)
    malformed = await signed_in.get("/factures/pas-un-id", headers=HTML)

    for response in (foreign, malformed):
        assert response.status_code == 404
        assert "Facture introuvable" in response.text
        assert "<html" in response.text
    assert [c.request.invoice_id for c in services.invoices.calls_to("GetInvoice")] == [OTHER_ID]


async def test_document_and_attachment_are_streamed_as_downloads(signed_in, services):
    services.invoices.answer(
        "GetInvoiceDocument",
        pb.GetInvoiceDocumentResponse(
            filename="F-2026-001.pdf", media_type="application/pdf", content=b"%PDF-1.7 x"
        ),
    )
    services.invoices.answer(
        "GetInvoiceAttachment",
        NotFound("ATTACHMENT_NOT_FOUND", "Pièce jointe introuvable."),
    )

    document = await signed_in.get(f"/factures/{INVOICE_ID}/document", headers=HTML)
    missing = await signed_in.get(f"/factures/{INVOICE_ID}/pieces-jointes/zz", headers=HTML)

    assert document.status_code == 200
    assert document.content == b"%PDF-1.7 x"
    assert document.headers["content-type"] == "application/pdf"
    disposition = document.headers["content-disposition"]
    assert disposition == "attachment; filename*=UTF-8''F-2026-001.pdf"
    assert missing.status_code == 404 and "Facture introuvable" in missing.text


# Actions


async def test_status_change_redirects_with_a_notice(signed_in, services):
    with_detail(services, invoice(actions=["MARK_SUSPENDUE"]))
    services.invoices.answer(
        "ChangeInvoiceStatus", pb.ChangeInvoiceStatusResponse(invoice=invoice())
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/factures/{INVOICE_ID}/statut",
        data={"csrf_token": csrf, "status": "SUSPENDUE", "reason": " Bon manquant "},
        headers=HTML,
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/factures/{INVOICE_ID}?avis=statut"
    [call] = services.invoices.calls_to("ChangeInvoiceStatus")
    assert call.request.status == pb.INVOICE_STATUS_SUSPENDUE
    assert call.request.reason == "Bon manquant"
    shown = await signed_in.get(response.headers["location"], headers=HTML)
    assert "Le statut de la facture a été mis à jour." in shown.text


async def test_action_without_csrf_token_is_refused_without_a_call(signed_in, services):
    with_detail(services, invoice(actions=["MARK_SUSPENDUE"]))
    await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/factures/{INVOICE_ID}/statut",
        data={"csrf_token": "forged", "status": "SUSPENDUE", "reason": "x"},
        headers=HTML,
    )

    assert response.status_code == 403
    assert "Rechargez la page" in response.text
    assert services.invoices.calls_to("ChangeInvoiceStatus") == []


async def test_missing_reason_is_shown_beside_the_reason_field(signed_in, services):
    with_detail(services, invoice(actions=["MARK_SUSPENDUE", "MARK_REJETEE"]))
    message = "Indiquez le motif du passage au statut Rejetée."
    services.invoices.answer(
        "ChangeInvoiceStatus",
        InvalidArgument("REASON_REQUIRED", message, [FieldViolation("reason", message)]),
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/factures/{INVOICE_ID}/statut",
        data={"csrf_token": csrf, "status": "REJETEE", "reason": ""},
        headers=HTML,
    )

    assert response.status_code == 422
    assert f'<p class="field-error" id="reason-error">{message}</p>' in response.text
    assert 'aria-invalid="true"' in response.text


async def test_wrong_state_shows_the_service_message(signed_in, services):
    with_detail(services, invoice(status=pb.INVOICE_STATUS_BROUILLON, actions=["SUBMIT"]))
    services.invoices.answer(
        "SubmitInvoice",
        FailedPrecondition("INVALID_STATUS_TRANSITION", "Passage de Déposée à Déposée impossible."),
    )
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/factures/{INVOICE_ID}/depot", data={"csrf_token": csrf}, headers=HTML
    )

    assert response.status_code == 409
    assert "Passage de Déposée à Déposée impossible." in response.text


async def test_action_on_a_foreign_invoice_is_the_404_page(signed_in, services):
    with_detail(
        services,
        invoice(status=pb.INVOICE_STATUS_REJETEE, actions=["ACKNOWLEDGE_REJECTION"]),
    )
    csrf = await detail_csrf(signed_in)
    services.invoices.answer(
        "AcknowledgeRejection", NotFound("INVOICE_NOT_FOUND", "Facture introuvable.")
    )

    response = await signed_in.post(
        f"/factures/{OTHER_ID}/rejet-pris-en-compte", data={"csrf_token": csrf}, headers=HTML
    )

    assert response.status_code == 404
    assert "Facture introuvable" in response.text


async def test_deleting_a_draft_goes_back_to_the_list(signed_in, services):
    with_detail(services, invoice(status=pb.INVOICE_STATUS_BROUILLON, actions=["DELETE"]))
    services.invoices.answer("DeleteInvoice", pb.DeleteInvoiceResponse())
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/factures/{INVOICE_ID}/suppression", data={"csrf_token": csrf}, headers=HTML
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/factures?avis=supprimee"


async def test_completion_sends_the_comment_and_files(signed_in, services):
    with_detail(services, invoice(status=pb.INVOICE_STATUS_SUSPENDUE, actions=["COMPLETE"]))
    services.invoices.answer("CompleteInvoice", pb.CompleteInvoiceResponse(invoice=invoice()))
    services.invoices.answer("StageAttachment", staged)
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/factures/{INVOICE_ID}/completion",
        data={"csrf_token": csrf, "comment": "Voici le bon", "submission_key": "sk-7"},
        files=[
            ("attachments", ("bon.pdf", b"%PDF-1.4 bon", "application/pdf")),
            ("attachments", ("", b"", "application/octet-stream")),
        ],
        headers=HTML,
    )

    assert response.status_code == 303
    [call] = services.invoices.calls_to("CompleteInvoice")
    assert call.request.comment == "Voici le bon"
    [staging] = services.invoices.calls_to("StageAttachment")
    assert (staging.request.file.filename, staging.request.file.content) == (
        "bon.pdf",
        b"%PDF-1.4 bon",
    )
    assert list(call.request.staged_attachment_ids) == ["staged-bon.pdf"]
    # The form's one-time submission key, made unique per file for staging.
    assert call.metadata["idempotency-key"] == "sk-7"
    assert staging.metadata["idempotency-key"] == "sk-7/attachments[0]"


async def test_completion_with_a_refused_file_shows_the_message_without_completing(
    signed_in, services
):
    with_detail(services, invoice(status=pb.INVOICE_STATUS_SUSPENDUE, actions=["COMPLETE"]))
    services.invoices.answer("CompleteInvoice", pb.CompleteInvoiceResponse(invoice=invoice()))
    services.invoices.answer("StageAttachment", staged)
    csrf = await detail_csrf(signed_in)

    response = await signed_in.post(
        f"/factures/{INVOICE_ID}/completion",
        data={"csrf_token": csrf, "comment": "Voici"},
        files=[("attachments", ("virus.exe", b"MZ", "application/octet-stream"))],
        headers=HTML,
    )

    assert response.status_code == 422
    assert "« virus.exe » : type de fichier non accepté" in response.text
    assert services.invoices.calls_to("CompleteInvoice") == []


async def test_recycling_finds_the_recipient_by_siret(signed_in, services):
    with_detail(services, invoice(status=pb.INVOICE_STATUS_A_RECYCLER, actions=["RECYCLE"]))
    services.structures.answer(
        "SearchStructures",
        lambda request: spb.SearchStructuresResponse(
            structures=[spb.Structure(id=OTHER_ID, identifier="11000201100010")]
            if request.identifier_prefix == "11000201100010"
            else []
        ),
    )
    services.invoices.answer("RecycleInvoice", pb.RecycleInvoiceResponse(invoice=invoice()))
    csrf = await detail_csrf(signed_in)

    done = await signed_in.post(
        f"/factures/{INVOICE_ID}/recyclage",
        data={"csrf_token": csrf, "recipient_siret": "110 002 011 00010", "service_code": "DSI"},
        headers=HTML,
    )
    unknown = await signed_in.post(
        f"/factures/{INVOICE_ID}/recyclage",
        data={"csrf_token": csrf, "recipient_siret": "99999999999999"},
        headers=HTML,
    )

    assert done.status_code == 303
    [call] = services.invoices.calls_to("RecycleInvoice")
    assert (call.request.recipient_structure_id, call.request.service_code) == (OTHER_ID, "DSI")
    assert unknown.status_code == 422
    assert 'id="recipient_siret-error">Aucune structure de l&#39;annuaire' in unknown.text
    assert 'value="99999999999999"' in unknown.text


# Deposit


def memberships() -> spb.ListMyMembershipsResponse:
    def membership(structure_id: str, name: str, mode: int) -> spb.Membership:
        return spb.Membership(
            structure=spb.Structure(
                id=structure_id, raison_sociale=name, identifier="12345678901234"
            ),
            spaces=[spb.SpaceAccess(space=spb.SPACE_FACTURES_EMISES, mode=mode)],
        )

    return spb.ListMyMembershipsResponse(
        memberships=[
            membership(SUPPLIER_ID, "Fromagerie Dupont", spb.ACCESS_MODE_MODIFICATION),
            membership(OTHER_ID, "Consultation seule", spb.ACCESS_MODE_CONSULTATION),
        ]
    )


def entry_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "supplier_structure_id": SUPPLIER_ID,
        "recipient_siret": "217 500 016 00019",
        "service_code": "SERV-FIN",
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": "F-2026-002",
        "issue_date": "2026-01-20",
        "currency": "eur",
        "action": "deposer",
        "lines-0-description": "Tomme",
        "lines-0-quantity": "2,5",
        "lines-0-unit": "KGM",
        "lines-0-unit_price": "1 200,40",
        "lines-0-vat_rate": "5.5",
        "lines-1-unit": "C62",
        "lines-1-vat_rate": "20",
        "lines-2-description": "Livraison",
        "lines-2-quantity": "1",
        "lines-2-unit": "E48",
        "lines-2-unit_price": "15",
        "lines-2-vat_rate": "20",
    }
    return {**form, **changes}


async def open_deposit(client, tab: str = "saisie") -> str:
    page = await client.get("/factures/nouvelle", params={"onglet": tab}, headers=HTML)
    assert page.status_code == 200, page.text
    return page


async def test_entry_form_offers_the_issuing_structures_and_line_rows(signed_in, services):
    services.structures.answer("ListMyMemberships", memberships())

    page = (await open_deposit(signed_in)).text

    assert f'<option value="{SUPPLIER_ID}">Fromagerie Dupont — 12345678901234</option>' in page
    assert "Consultation seule" not in page
    assert page.count('class="line-row"') == 5
    assert 'id="add-line" hidden' in page
    assert '<script src="/static/invoice-lines.js" defer></script>' in page


async def test_entry_form_deposits_the_filled_lines_only(signed_in, services):
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer(
        "CreateInvoice", pb.CreateInvoiceResponse(invoice=pb.Invoice(id=INVOICE_ID))
    )
    page = (await open_deposit(signed_in)).text
    key = re.search(r'name="submission_key" value="([^"]+)"', page).group(1)

    response = await signed_in.post(
        "/factures/nouvelle", data=entry_form(csrf_of(page), submission_key=key), headers=HTML
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/factures/{INVOICE_ID}?avis=deposee"
    [call] = services.invoices.calls_to("CreateInvoice")
    # the form's one-time key makes a second send of the same form a replay, not a duplicate
    assert call.metadata["idempotency-key"] == key
    sent = call.request
    assert sent.draft is False
    assert (sent.recipient.identifier_type, sent.recipient.identifier) == (
        "SIRET",
        "21750001600019",
    )
    assert (sent.number, sent.issue_date, sent.currency) == ("F-2026-002", "2026-01-20", "EUR")
    assert sent.framework == pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR
    lines = [
        (ln.description, ln.quantity, ln.unit, ln.unit_price, ln.vat_rate) for ln in sent.lines
    ]
    assert lines == [
        ("Tomme", "2.5", "KGM", "1200.40", "5.5"),
        ("Livraison", "1", "E48", "15", "20"),
    ]


async def test_entry_form_saves_a_draft(signed_in, services):
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer(
        "CreateInvoice", pb.CreateInvoiceResponse(invoice=pb.Invoice(id=INVOICE_ID))
    )
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post(
        "/factures/nouvelle", data=entry_form(csrf, action="brouillon"), headers=HTML
    )

    assert response.headers["location"] == f"/factures/{INVOICE_ID}?avis=brouillon"
    assert services.invoices.calls_to("CreateInvoice")[0].request.draft is True


async def test_entry_form_sends_a_credit_note_reference_and_an_exemption_reason(
    signed_in, services
):
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer(
        "CreateInvoice", pb.CreateInvoiceResponse(invoice=pb.Invoice(id=INVOICE_ID))
    )
    page = (await open_deposit(signed_in)).text
    assert 'name="preceding_invoice_number"' in page
    assert 'name="vat_exemption_reason"' in page

    await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(
            csrf_of(page),
            type="AVOIR",
            preceding_invoice_number="F-2026-001",
            vat_exemption_reason="TVA non applicable, art. 293 B du CGI",
        ),
        headers=HTML,
    )

    sent = services.invoices.calls_to("CreateInvoice")[0].request
    assert sent.type == pb.INVOICE_TYPE_AVOIR
    assert sent.preceding_invoice_number == "F-2026-001"
    assert sent.vat_exemption_reason == "TVA non applicable, art. 293 B du CGI"


async def test_entry_refusal_puts_each_error_beside_the_row_typed(signed_in, services):
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer(
        "CreateInvoice",
        InvalidArgument(
            "FIELD_REQUIRED",
            "La facture comporte 2 erreurs : corrigez les champs signalés.",
            [
                FieldViolation("lines[1].quantity", "La quantité doit être positive."),
                FieldViolation("recipient.identifier", "SIRET inconnu de l'annuaire."),
            ],
        ),
    )
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post("/factures/nouvelle", data=entry_form(csrf), headers=HTML)

    assert response.status_code == 422
    page = response.text
    assert "La facture comporte 2 erreurs" in page
    # the service's second line is the form's third row (the second was empty)
    assert 'id="lines-2-quantity-error">La quantité doit être positive.' in page
    assert 'id="recipient_siret-error">SIRET inconnu de l&#39;annuaire.' in page
    assert 'value="Livraison"' in page and 'value="F-2026-002"' in page


async def test_entry_without_csrf_token_is_refused_without_a_call(signed_in, services):
    services.structures.answer("ListMyMemberships", memberships())
    await open_deposit(signed_in)

    response = await signed_in.post("/factures/nouvelle", data=entry_form("forged"), headers=HTML)

    assert response.status_code == 403
    assert "Rechargez la page" in response.text
    assert 'value="Tomme"' in response.text
    assert services.invoices.calls_to("CreateInvoice") == []


async def test_structured_file_refusal_lists_the_en16931_rules(signed_in, services):
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer(
        "DepositStructuredInvoice",
        InvalidArgument(
            "EN16931_RULES_FAILED",
            "Le fichier ne respecte pas la norme EN 16931 (2 règles).",
            [
                FieldViolation(
                    "/Invoice[1]/cac:LegalMonetaryTotal[1]", "[BR-CO-15] Total TTC faux."
                ),
                FieldViolation("/Invoice[1]", "[BR-02] Numéro de facture absent."),
            ],
        ),
    )
    csrf = csrf_of((await open_deposit(signed_in, "fichier")).text)

    response = await signed_in.post(
        "/factures/nouvelle/fichier",
        data={"csrf_token": csrf, "supplier_structure_id": SUPPLIER_ID},
        files={"file": ("facture.xml", b"<Invoice/>", "application/xml")},
        headers=HTML,
    )

    assert response.status_code == 422
    assert "ne respecte pas la norme EN 16931" in response.text
    assert "[BR-CO-15] Total TTC faux." in response.text
    assert "[BR-02] Numéro de facture absent." in response.text
    [call] = services.invoices.calls_to("DepositStructuredInvoice")
    assert (call.request.filename, call.request.content) == ("facture.xml", b"<Invoice/>")


async def test_pdf_deposit_not_yet_served_says_so_in_french(signed_in, services):
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer("StageAttachment", staged)
    csrf = csrf_of((await open_deposit(signed_in, "pdf")).text)

    response = await signed_in.post(
        "/factures/nouvelle/pdf",
        data={"csrf_token": csrf, "supplier_structure_id": SUPPLIER_ID, "number": "P-1"},
        files={"file": ("f.pdf", b"%PDF-1.4", "application/pdf")},
        headers=HTML,
    )

    assert response.status_code == 501
    assert "Le dépôt de factures PDF n&#39;est pas encore disponible" in response.text
    assert 'value="P-1"' in response.text


async def test_pdf_deposit_sends_header_totals_and_attachments(signed_in, services):
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer("StageAttachment", staged)
    services.invoices.answer(
        "DepositPdfInvoice",
        InvalidArgument(
            "TOTALS_INCONSISTENT",
            "Les montants ne sont pas cohérents.",
            [FieldViolation("totals.vat_breakdown[0].amount", "TVA attendue : 20,00.")],
        ),
    )
    csrf = csrf_of((await open_deposit(signed_in, "pdf")).text)
    form = {
        "csrf_token": csrf,
        "supplier_structure_id": SUPPLIER_ID,
        "recipient_siret": "21750001600019",
        "number": "P-1",
        "issue_date": "2026-01-20",
        "currency": "EUR",
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "net_total": "100,00",
        "vat_total": "20",
        "gross_total": "120",
        "vat-0-rate": "20",
        "vat-0-base": "",
        "vat-0-amount": "",
        "vat-1-rate": "20",
        "vat-1-base": "100",
        "vat-1-amount": "21",
    }

    response = await signed_in.post(
        "/factures/nouvelle/pdf",
        data=form,
        files=[
            ("file", ("f.pdf", b"%PDF-1.4", "application/pdf")),
            ("attachments", ("annexe.txt", b"annexe", "text/plain")),
        ],
        headers=HTML,
    )

    assert response.status_code == 422
    assert 'id="vat-1-amount-error">TVA attendue : 20,00.' in response.text
    [call] = services.invoices.calls_to("DepositPdfInvoice")
    sent = call.request
    assert sent.header.number == "P-1" and sent.header.recipient.identifier == "21750001600019"
    assert not sent.header.lines and not sent.header.draft
    assert (sent.totals.net_total, sent.totals.vat_total, sent.totals.gross_total) == (
        "100.00",
        "20",
        "120",
    )
    assert [(v.rate, v.base, v.amount) for v in sent.totals.vat_breakdown] == [("20", "100", "21")]
    # the PDF is staged first (kept if the deposit is refused), then named by its staged id
    assert (sent.filename, sent.content, sent.staged_pdf_id) == ("f.pdf", b"", "staged-f.pdf")
    pdf, staging = services.invoices.calls_to("StageAttachment")
    assert (pdf.request.file.filename, pdf.request.file.content) == ("f.pdf", b"%PDF-1.4")
    assert (staging.request.file.filename, staging.request.file.content) == (
        "annexe.txt",
        b"annexe",
    )
    assert list(sent.staged_attachment_ids) == ["staged-annexe.txt"]
    assert "Fichier conservé : <strong>f.pdf</strong>" in response.text


async def test_signed_in_layout_links_the_invoice_pages(signed_in, services):
    services.invoices.answer("ListInvoices", pb.ListInvoicesResponse())

    page = (await signed_in.get("/factures", headers=HTML)).text

    assert '<a href="/factures">Mes factures</a>' in page
    assert '<a href="/factures/nouvelle">Déposer une facture</a>' in page


async def test_an_absurd_row_index_in_a_field_name_is_ignored(signed_in, services):
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer(
        "CreateInvoice", pb.CreateInvoiceResponse(invoice=pb.Invoice(id=INVOICE_ID))
    )
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(csrf, **{f"lines-{'9' * 5000}-description": "x"}),
        headers=HTML,
    )

    assert response.status_code == 303
    sent = services.invoices.calls_to("CreateInvoice")[0].request
    assert [ln.description for ln in sent.lines] == ["Tomme", "Livraison"]
