"""Portal and the EN 16931 details (issue 10): the entry form's global allowances/charges, line
discounts, "Taux manuel", prepaid, references, payment and delivery sent to CreateInvoice; the
service's errors beside those fields; the live totals panel and its script; the PDF form's
header details; the invoice page showing what the file says."""

from __future__ import annotations

import json

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument

from .api_samples import document, staged
from .test_portal import HTML, csrf_of
from .test_portal_invoices import (
    INVOICE_ID,
    NBSP,
    entry_form,
    invoice,
    memberships,
    open_deposit,
    signed_in,  # noqa: F401 — the fixture
    with_detail,
)


def details(csrf: str, **changes: str) -> dict[str, str]:
    return entry_form(
        csrf,
        **{
            "lines-0-discount": "10",
            "lines-2-vat_rate": "manuel",
            "lines-2-vat_manual": "8,5",
            "charges-0-kind": "remise",
            "charges-0-reason": "Remise globale",
            "charges-0-percentage": "5",
            "charges-0-vat_rate": "5.5",
            "charges-1-kind": "frais",
            "charges-1-reason": "Frais de port",
            "charges-1-amount": "12,50",
            "charges-1-vat_rate": "20",
            "prepaid_amount": "100",
            "engagement_number": "EJ-1",
            "contract_reference": "MARCHE-42",
            "due_date": "2026-02-20",
            "invoicing_period_start": "2026-01-01",
            "invoicing_period_end": "2026-01-31",
            "payment_means_code": "58",
            "payment_iban": "fr76 3000 6000 0112 3456 7890 189",
            "payment_bic": "agrifrpp",
            "delivery_date": "2026-01-18",
            "delivery_line1": "1 place de la Mairie",
            "delivery_postal_code": "75001",
            "delivery_city": "Paris",
            "delivery_country": "fr",
            **changes,
        },
    )


async def test_the_entry_form_offers_the_details_and_the_live_totals(signed_in, services):  # noqa: F811
    services.structures.answer("ListMyMemberships", memberships())

    page = (await open_deposit(signed_in)).text

    for name in (
        "charges-0-reason",
        "charges-0-percentage",
        "lines-0-discount",
        "lines-0-vat_manual",
        "prepaid_amount",
        "contract_reference",
        "payment_iban",
        "payment_bic",
        "delivery_date",
        "delivery_line1",
        "invoicing_period_start",
        "due_date",
    ):
        assert f'name="{name}"' in page, name
    assert '<option value="manuel">Taux manuel</option>' in page
    assert "Acompte déjà versé" in page and "Numéro d&#39;engagement / bon de commande" in page
    assert 'id="live-totals" class="live-totals" aria-labelledby="live-totals-title" hidden' in page
    assert '<script src="/static/invoice-totals.js" defer></script>' in page
    assert "<script>" not in page  # the page's CSP forbids inline script


async def test_the_entry_sends_the_details(signed_in, services):  # noqa: F811
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer(
        "CreateInvoice", pb.CreateInvoiceResponse(invoice=pb.Invoice(id=INVOICE_ID))
    )
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post("/factures/nouvelle", data=details(csrf), headers=HTML)

    assert response.status_code == 303, response.text
    sent = services.invoices.calls_to("CreateInvoice")[0].request
    first, second = sent.lines
    assert [
        (a.charge, a.percentage, a.reason, a.reason_code) for a in first.allowances_charges
    ] == [(False, "10", "Remise", "95")]
    assert second.vat_rate == "8.5" and list(second.allowances_charges) == []
    assert [
        (a.charge, a.amount, a.percentage, a.vat_rate, a.reason) for a in sent.allowances_charges
    ] == [
        (False, "", "5", "5.5", "Remise globale"),
        (True, "12.50", "", "20", "Frais de port"),
    ]
    assert sent.prepaid_amount == "100"
    assert (sent.engagement_number, sent.contract_reference) == ("EJ-1", "MARCHE-42")
    assert (sent.due_date, sent.invoicing_period_start, sent.invoicing_period_end) == (
        "2026-02-20",
        "2026-01-01",
        "2026-01-31",
    )
    assert sent.payment == pb.PaymentMeans(
        means_code="58", iban="FR7630006000011234567890189", bic="AGRIFRPP"
    )
    assert sent.delivery.date == "2026-01-18"
    assert (sent.delivery.address.line1, sent.delivery.address.country) == (
        "1 place de la Mairie",
        "FR",
    )


async def test_an_entry_without_details_sends_none(signed_in, services):  # noqa: F811
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer(
        "CreateInvoice", pb.CreateInvoiceResponse(invoice=pb.Invoice(id=INVOICE_ID))
    )
    csrf = csrf_of((await open_deposit(signed_in)).text)

    await signed_in.post(
        "/factures/nouvelle",
        data=entry_form(csrf, delivery_country="FR", payment_means_code="30"),
        headers=HTML,
    )

    sent = services.invoices.calls_to("CreateInvoice")[0].request
    assert not sent.HasField("payment") and not sent.HasField("delivery")
    assert list(sent.allowances_charges) == [] and sent.prepaid_amount == ""
    assert all(list(line.allowances_charges) == [] for line in sent.lines)


async def test_the_services_errors_are_shown_beside_the_details(signed_in, services):  # noqa: F811
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer(
        "CreateInvoice",
        InvalidArgument(
            "FIELD_INVALID",
            "La facture comporte 4 erreurs : corrigez les champs signalés.",
            [
                FieldViolation("payment.iban", "IBAN invalide : clé de contrôle fausse."),
                FieldViolation("allowances_charges[1].amount", "Montant invalide."),
                FieldViolation("lines[0].allowances_charges[0].percentage", "Remise invalide."),
                FieldViolation("lines[1].vat_rate", "Taux manuel : entre 0 et 100."),
            ],
        ),
    )
    csrf = csrf_of((await open_deposit(signed_in)).text)

    response = await signed_in.post("/factures/nouvelle", data=details(csrf), headers=HTML)

    assert response.status_code == 422
    page = response.text
    assert 'id="payment_iban-error">IBAN invalide : clé de contrôle fausse.' in page
    assert 'id="charges-1-amount-error">Montant invalide.' in page
    assert 'id="lines-0-discount-error">Remise invalide.' in page
    # the service's second line is the form's third row, its manual rate typed kept
    assert 'id="lines-2-vat_manual-error">Taux manuel : entre 0 et 100.' in page
    assert 'value="8,5"' in page and 'value="Frais de port"' in page


async def test_the_pdf_form_sends_the_header_details(signed_in, services):  # noqa: F811
    services.structures.answer("ListMyMemberships", memberships())
    services.invoices.answer(
        "DepositPdfInvoice", pb.DepositPdfInvoiceResponse(invoice=pb.Invoice(id=INVOICE_ID))
    )
    services.invoices.answer("StageAttachment", staged)  # the PDF is staged first (kept on error)
    page = (await open_deposit(signed_in, "pdf")).text
    assert 'id="pdf-payment_iban"' in page and 'id="pdf-prepaid_amount"' in page

    response = await signed_in.post(
        "/factures/nouvelle/pdf",
        data={
            "csrf_token": csrf_of(page),
            "supplier_structure_id": invoice().supplier_structure_id,
            "prepaid_amount": "50",
            "contract_reference": "MARCHE-42",
            "payment_iban": "FR7630006000011234567890189",
            "delivery_date": "2026-01-18",
            "invoicing_period_start": "2026-01-01",
        },
        files={"file": ("f.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        headers=HTML,
    )

    assert response.status_code == 303, response.text
    header = services.invoices.calls_to("DepositPdfInvoice")[0].request.header
    assert (header.prepaid_amount, header.contract_reference) == ("50", "MARCHE-42")
    assert header.payment.iban == "FR7630006000011234567890189"
    assert header.delivery.date == "2026-01-18" and not header.delivery.HasField("address")
    assert header.invoicing_period_start == "2026-01-01"


async def test_the_invoice_page_shows_what_the_file_says(signed_in, services):  # noqa: F811
    found = invoice(
        totals=pb.Totals(
            line_total="900.00",
            allowance_total="50.00",
            net_total="850.00",
            vat_total="170.00",
            gross_total="1020.00",
            prepaid_amount="100.00",
            amount_due="920.00",
            vat_breakdown=[
                pb.VatBreakdown(rate="20", base="850.00", amount="170.00", category="S")
            ],
        ),
        document_json=json.dumps(document()),
    )
    with_detail(services, found)

    response = await signed_in.get(f"/factures/{INVOICE_ID}", headers=HTML)

    assert response.status_code == 200, response.text
    page = response.text
    # parties with their ids, addresses and contacts
    assert "ACME SAS" in page and "12345678200010" in page and ">SIRET<" not in page
    assert "(SIRET)" in page and "FR32123456782" in page and "compta@acme.example" in page
    # references, delivery, period, payment: the IBAN whole, in groups of four
    assert "MARCHE-42" in page and "EJ-2026-1" in page and "SERV-1" in page
    assert "10/01/2026" in page and "du 01/01/2026 au 31/01/2026" in page
    assert '<dd class="iban">FR76 3000 6000 0112 3456 7890 189</dd>' in page
    assert "AGRIFRPP" in page and "Virement SEPA" in page
    # the global allowance, the line's discount, prices and item details
    assert "Remise globale" in page
    assert f"Remise 10 % : -100,00{NBSP}€" in page
    assert "Classification STI 79212000" in page and "Niveau : Expert" in page
    # totals BT-106…BT-115 and the VAT breakdown by category
    assert f'<dd id="line-total">900,00{NBSP}€</dd>' in page
    assert f'<dd id="allowance-total">50,00{NBSP}€</dd>' in page
    assert f'<dd id="prepaid">100,00{NBSP}€</dd>' in page
    assert f'<dd id="amount-due">920,00{NBSP}€</dd>' in page
    assert "Taux normal" in page
    # supporting documents by name and size, never their content
    assert "BL-7" in page and "bl.pdf" in page and "https://example.org/pv" in page


async def test_an_invoice_without_document_keeps_the_former_page(signed_in, services):  # noqa: F811
    with_detail(services, invoice())

    response = await signed_in.get(f"/factures/{INVOICE_ID}", headers=HTML)

    assert response.status_code == 200
    assert 'id="parties-title"' not in response.text
    assert "Tomme de Savoie" in response.text
