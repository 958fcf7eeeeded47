"""Portal deposit screens against service doubles (issue #13): the directory picker (search,
choose, services and requirements shown), the "Vérifier" step (a dry run, nothing deposited,
the form carried), a draft opened, edited and deposited, attachments on the entry tab, the PDF
tab's labels and its PDF kept across a refusal, and the amount cap's message."""

from __future__ import annotations

import re

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_platform.errors import FieldViolation, InvalidArgument

from .api_samples import staged
from .test_portal import HTML, csrf_of
from .test_portal_invoices import (
    INVOICE_ID,
    RECIPIENT_ID,
    SUPPLIER_ID,
    entry_form,
    memberships,
    open_deposit,
)

RECIPIENT_SIRET = "21750001600019"
AMOUNT_MESSAGE = (
    "Le montant de la ligne (quantité × prix unitaire) dépasse le plafond de"
    " 999 999 999 999,99 € (12 chiffres avant la virgule) : vérifiez la quantité et le prix."
)


@pytest.fixture
def signed_in(api, services):
    api.cookies.set("chorus_session", "acc-1")
    return api


def town(request=None) -> spb.Structure:
    return spb.Structure(
        id=RECIPIENT_ID,
        identifier_type=spb.IDENTIFIER_TYPE_SIRET,
        identifier=RECIPIENT_SIRET,
        raison_sociale="Ville de Démoville",
        kind=spb.STRUCTURE_KIND_PUBLIQUE,
        status=spb.STRUCTURE_STATUS_ACTIVE,
        routing=spb.RoutingParameters(service_code_required=True),
        services=[
            spb.StructureService(id="s1", code="SERV-FIN", name="Finances", active=True),
            spb.StructureService(
                id="s2",
                code="SERV-TECH",
                name="Services techniques",
                active=True,
                engagement_required=True,
            ),
            spb.StructureService(id="s3", code="ANCIEN", name="Fermé", active=False),
        ],
    )


def directory(services) -> None:
    services.structures.answer("ListMyMemberships", memberships())
    services.structures.answer(
        "SearchStructures", spb.SearchStructuresResponse(structures=[town()])
    )
    services.structures.answer(
        "GetStructure",
        lambda request: spb.GetStructureResponse(
            structure=town()
            if request.structure_id == RECIPIENT_ID
            else spb.Structure(id=request.structure_id, raison_sociale="?")
        ),
    )


def computed() -> pb.Invoice:
    return pb.Invoice(
        number="F-2026-002",
        supplier_structure_id=SUPPLIER_ID,
        recipient_structure_id=RECIPIENT_ID,
        service_code="SERV-FIN",
        framework=pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
        type=pb.INVOICE_TYPE_FACTURE,
        issue_date="2026-01-20",
        currency="EUR",
        lines=[
            pb.InvoiceLine(
                description="Tomme",
                quantity="2.5",
                unit="KGM",
                unit_price="1200.40",
                vat_rate="5.5",
                net_amount="3001.00",
            )
        ],
        totals=pb.Totals(
            net_total="3001.00",
            vat_total="165.06",
            gross_total="3166.06",
            amount_due="3166.06",
            vat_breakdown=[pb.VatBreakdown(rate="5.5", base="3001.00", amount="165.06")],
        ),
    )


# --- directory picker ---------------------------------------------------------------------


async def test_search_lists_public_structures_with_their_requirements_and_keeps_the_form(
    signed_in, services
):
    directory(services)
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(csrf, action="chercher", recipient_query="Démoville", recipient_siret=""),
        headers=HTML,
    )

    assert response.status_code == 200
    page = response.text
    [search] = services.structures.calls_to("SearchStructures")
    assert search.request.name == "Démoville"
    assert search.request.kind == spb.STRUCTURE_KIND_PUBLIQUE
    assert 'id="recipient-results"' in page
    assert "Ville de Démoville" in page and RECIPIENT_SIRET in page
    assert "Code service obligatoire" in page
    assert "SERV-FIN — Finances ; SERV-TECH — Services techniques (engagement obligatoire)" in page
    assert f'name="recipient_choice" value="{RECIPIENT_ID}"' in page
    assert 'value="Tomme"' in page and 'value="F-2026-002"' in page  # the rest kept
    assert services.invoices.calls_to("CreateInvoice") == []


async def test_a_too_short_search_says_so(signed_in, services):
    directory(services)
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(csrf, action="chercher", recipient_query="D"),
        headers=HTML,
    )

    assert 'id="recipient_query-error">Saisissez au moins 2 lettres' in response.text
    # only the typed SIRET is looked up (for its requirements), no search by name
    searches = services.structures.calls_to("SearchStructures")
    assert [c.request.identifier for c in searches] == [RECIPIENT_SIRET]


async def test_choosing_fills_the_siret_and_offers_the_active_services(signed_in, services):
    directory(services)
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(csrf, recipient_choice=RECIPIENT_ID, recipient_siret="", service_code=""),
        headers=HTML,
    )

    page = response.text
    assert response.status_code == 200
    assert re.search(rf'name="recipient_siret" type="text" value="{RECIPIENT_SIRET}"', page)
    assert "Destinataire : <strong>Ville de Démoville</strong>" in page
    assert '<option value="SERV-FIN">SERV-FIN — Finances</option>' in page
    assert "SERV-TECH — Services techniques (engagement obligatoire)" in page
    assert "ANCIEN" not in page  # inactive services are not offered
    assert "Ce destinataire exige un code service." in page
    assert services.invoices.calls_to("CreateInvoice") == []


# --- Vérifier ---------------------------------------------------------------------------


async def test_verify_shows_what_the_service_computed_and_carries_the_form(signed_in, services):
    directory(services)
    services.invoices.answer("CreateInvoice", pb.CreateInvoiceResponse(invoice=computed()))
    page = (await open_deposit(signed_in)).text
    key = re.search(r'name="submission_key" value="([^"]+)"', page).group(1)

    response = await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(csrf_of(page), action="verifier", submission_key=key),
        headers=HTML,
    )

    assert response.status_code == 200
    [call] = services.invoices.calls_to("CreateInvoice")
    assert call.request.dry_run is True
    assert "idempotency-key" not in call.metadata  # a dry run must not be replayed later
    summary = response.text
    assert "Vérifier la facture avant de la déposer" in summary
    assert "Ville de Démoville — SIRET 21750001600019" in summary
    assert 'id="summary-gross">3\u202f166,06\u00a0€' in summary
    assert "165,06" in summary and "5,5 %" in summary
    assert '<input type="hidden" name="lines-0-description" value="Tomme">' in summary
    assert 'name="action" value="deposer"' in summary
    assert 'name="action" value="modifier"' in summary


async def test_verify_refused_shows_the_form_with_the_errors(signed_in, services):
    directory(services)
    services.invoices.answer(
        "CreateInvoice",
        InvalidArgument(
            "AMOUNT_TOO_LARGE",
            AMOUNT_MESSAGE,
            [FieldViolation("lines[0].unit_price", AMOUNT_MESSAGE)],
        ),
    )
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(
            csrf,
            action="verifier",
            **{"lines-0-quantity": "1200000", "lines-0-unit_price": "999999999999"},
        ),
        headers=HTML,
    )

    assert response.status_code == 422
    page = response.text.replace("&#39;", "'")
    assert f'id="lines-0-unit_price-error">{AMOUNT_MESSAGE}' in page
    assert 'value="999999999999"' in page


async def test_modify_goes_back_to_the_form_with_everything_typed(signed_in, services):
    directory(services)
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post(
        "/factures/nouvelle", data=entry_form(csrf, action="modifier"), headers=HTML
    )

    assert response.status_code == 200
    assert 'value="Tomme"' in response.text and 'value="Livraison"' in response.text
    assert services.invoices.calls_to("CreateInvoice") == []


# --- drafts -------------------------------------------------------------------------------


def stored_draft(status=pb.INVOICE_STATUS_BROUILLON) -> pb.Invoice:
    draft = computed()
    draft.id = INVOICE_ID
    draft.status = status
    draft.document_json = '{"contract_reference": "MARCHE-7", "due_date": "2026-02-20"}'
    draft.allowed_actions.extend(["SUBMIT", "DELETE"])
    return draft


async def test_a_draft_opens_in_the_entry_form_and_is_deposited(signed_in, services):
    directory(services)
    services.invoices.answer("GetInvoice", pb.GetInvoiceResponse(invoice=stored_draft()))
    services.invoices.answer(
        "UpdateDraftInvoice", pb.UpdateDraftInvoiceResponse(invoice=pb.Invoice(id=INVOICE_ID))
    )

    opened = await signed_in.get(
        "/factures/nouvelle", params={"brouillon": INVOICE_ID}, headers=HTML
    )

    page = opened.text
    assert opened.status_code == 200
    assert "Modifier le brouillon F-2026-002" in page
    assert f'name="draft_id" value="{INVOICE_ID}"' in page
    assert 'value="Tomme"' in page and 'value="MARCHE-7"' in page
    assert re.search(rf'name="recipient_siret" type="text" value="{RECIPIENT_SIRET}"', page)

    response = await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(csrf_of(page), draft_id=INVOICE_ID, number="F-2026-009"),
        headers=HTML,
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/factures/{INVOICE_ID}?avis=deposee"
    assert services.invoices.calls_to("CreateInvoice") == []
    [call] = services.invoices.calls_to("UpdateDraftInvoice")
    assert call.request.invoice_id == INVOICE_ID
    assert (call.request.invoice.number, call.request.invoice.draft) == ("F-2026-009", False)


async def test_a_draft_the_caller_may_only_read_does_not_open_in_the_form(signed_in, services):
    directory(services)
    readable = stored_draft()
    del readable.allowed_actions[:]
    services.invoices.answer("GetInvoice", pb.GetInvoiceResponse(invoice=readable))

    opened = await signed_in.get(
        "/factures/nouvelle", params={"brouillon": INVOICE_ID}, headers=HTML
    )

    assert opened.status_code == 303
    assert opened.headers["location"] == f"/factures/{INVOICE_ID}"


async def test_a_deposited_invoice_does_not_open_as_a_draft(signed_in, services):
    directory(services)
    services.invoices.answer(
        "GetInvoice", pb.GetInvoiceResponse(invoice=stored_draft(pb.INVOICE_STATUS_DEPOSEE))
    )

    opened = await signed_in.get(
        "/factures/nouvelle", params={"brouillon": INVOICE_ID}, headers=HTML
    )

    assert opened.status_code == 303
    assert opened.headers["location"] == f"/factures/{INVOICE_ID}"


# --- attachments on the entry tab -----------------------------------------------------------


async def test_entry_attachments_are_staged_kept_across_a_refusal_and_sent(signed_in, services):
    directory(services)
    services.invoices.answer("StageAttachment", staged)
    services.invoices.answer(
        "CreateInvoice",
        InvalidArgument(
            "FIELD_REQUIRED",
            "Le numéro est obligatoire.",
            [FieldViolation("number", "Le numéro est obligatoire.")],
        ),
    )
    csrf = csrf_of((await open_deposit(signed_in)).text)

    refused = await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(csrf, number=""),
        files=[("attachments", ("bon.pdf", b"%PDF-1.4 bon", "application/pdf"))],
        headers=HTML,
    )

    assert refused.status_code == 422
    assert "Fichier conservé : <strong>bon.pdf</strong>" in refused.text
    assert 'name="attachments_kept" value="staged-bon.pdf|bon.pdf"' in refused.text
    services.invoices.answer(
        "CreateInvoice", pb.CreateInvoiceResponse(invoice=pb.Invoice(id=INVOICE_ID))
    )
    again = await signed_in.post(
        "/factures/nouvelle",
        data={**entry_form(csrf_of(refused.text)), "attachments_kept": "staged-bon.pdf|bon.pdf"},
        headers=HTML,
    )

    assert again.status_code == 303
    assert len(services.invoices.calls_to("StageAttachment")) == 1
    assert list(services.invoices.calls_to("CreateInvoice")[-1].request.staged_attachment_ids) == [
        "staged-bon.pdf"
    ]


async def test_a_forbidden_attachment_is_refused_in_french_before_any_deposit(signed_in, services):
    directory(services)
    services.invoices.answer("StageAttachment", staged)
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(csrf),
        files=[("attachments", ("virus.exe", b"MZ", "application/octet-stream"))],
        headers=HTML,
    )

    assert response.status_code == 422
    assert "type de fichier non accepté" in response.text
    assert services.invoices.calls_to("CreateInvoice") == []


# --- PDF tab ---------------------------------------------------------------------------------


async def test_pdf_tab_labels_the_fields_a_plain_pdf_requires(signed_in, services):
    directory(services)

    page = (await open_deposit(signed_in, "pdf")).text

    for field in (
        "recipient_siret",
        "number",
        "issue_date",
        "framework",
        "type",
        "net_total",
        "vat_total",
        "gross_total",
    ):
        label = re.search(rf'<label for="pdf-{field}">(.*?)</label>', page, re.S).group(1)
        assert "(facultatif)" not in label, field
        assert "obligatoire pour un PDF simple" in label, field


async def test_pdf_refused_keeps_the_file_and_the_next_send_names_it(signed_in, services):
    directory(services)
    services.invoices.answer("StageAttachment", staged)
    services.invoices.answer(
        "DepositPdfInvoice",
        InvalidArgument(
            "FIELD_REQUIRED",
            "Le numéro est obligatoire.",
            [FieldViolation("number", "Le numéro est obligatoire.")],
        ),
    )
    csrf = csrf_of((await open_deposit(signed_in, "pdf")).text)
    form = {"csrf_token": csrf, "supplier_structure_id": SUPPLIER_ID, "net_total": "100"}

    refused = await signed_in.post(
        "/factures/nouvelle/pdf",
        data=form,
        files=[("file", ("facture.pdf", b"%PDF-1.4", "application/pdf"))],
        headers=HTML,
    )

    assert refused.status_code == 422
    assert "Fichier conservé : <strong>facture.pdf</strong>" in refused.text
    assert 'name="file_kept" value="staged-facture.pdf|facture.pdf"' in refused.text
    assert 'value="100"' in refused.text
    again = await signed_in.post(
        "/factures/nouvelle/pdf",
        data={
            **form,
            "csrf_token": csrf_of(refused.text),
            "file_kept": "staged-facture.pdf|facture.pdf",
            "number": "P-2",
        },
        headers=HTML,
    )

    assert again.status_code == 422
    last = services.invoices.calls_to("DepositPdfInvoice")[-1].request
    assert (last.staged_pdf_id, last.content, last.header.number) == (
        "staged-facture.pdf",
        b"",
        "P-2",
    )
    assert len(services.invoices.calls_to("StageAttachment")) == 1  # staged once
