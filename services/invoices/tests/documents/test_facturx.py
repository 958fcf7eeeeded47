"""Factur-X of an invoice's EN 16931 model: CII EN 16931 inside a PDF/A-3 page that states
what the XML states, and back again."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from chorus_invoices.documents.content import (
    DEFAULT_EXEMPTION_REASON,
    buyer_of,
    french_vat_number,
    model_of_content,
    seller_of,
)
from chorus_invoices.documents.facturx import make_facturx_model, read_facturx_model
from chorus_invoices.documents.formats import DocumentKind, detect
from chorus_invoices.documents.pdf_rendering import document_title, iban, money, render_pdf
from chorus_invoices.documents.validation import validate_document
from chorus_invoices.domain import en16931
from chorus_invoices.domain.forms import (
    AllowanceChargeForm,
    DeliveryForm,
    InvoiceForm,
    LineAllowanceChargeForm,
    LineForm,
    PaymentForm,
    RecipientRef,
)
from chorus_invoices.domain.invoice import InvoiceType, Line
from chorus_invoices.domain.routing import Recipient
from chorus_invoices.domain.validation import DEFAULT_PAYMENT_TERMS, validate_invoice
from hypothesis import HealthCheck, given, settings
from pypdf import PdfReader

from .. import en16931_samples as samples
from .conftest import BUYER, SELLER, portal_content
from .strategies import invoices

SUPPLIER = Recipient(
    "s-1",
    "Atelier Dupont SARL",
    public=False,
    active=True,
    identifier_type="SIRET",
    identifier="33738480410006",
    address=("12 avenue des Tilleuls", "", "69003", "Lyon", "FR"),
)
RECIPIENT = Recipient(
    "r-1",
    "Commune de Valmont-sur-Loire",
    public=True,
    active=True,
    identifier_type="SIRET",
    identifier="26197306910005",
    address=("1 place de la Mairie", "", "45000", "Valmont-sur-Loire", "FR"),
)


def portal_model(**overrides):
    """A portal entry's model with every new field, parties from the directory."""
    fields = dict(
        supplier_structure_id="s-1",
        recipient=RecipientRef(structure_id="r-1"),
        framework="A1_FACTURE_FOURNISSEUR",
        type="FACTURE",
        number="F-2024-001",
        issue_date="2024-03-15",
        service_code="SERV-TECH",
        engagement_number="EJ-2024-117",
        contract_reference="MARCHE-7",
        lines=(
            LineForm(
                "Conseil",
                "2.5",
                "HUR",
                "80",
                "20",
                allowances_charges=(LineAllowanceChargeForm(percentage="5", reason="Fidélité"),),
            ),
            LineForm("Livres", "3", "", "12.35", "5.5"),
            LineForm("Formation", "1", "", "500", "0"),
            LineForm("Export", "1", "", "40", "0", vat_category="Z"),
        ),
        allowances_charges=(
            AllowanceChargeForm(amount="10", vat_rate="20", reason="Remise globale"),
            AllowanceChargeForm(charge=True, amount="5", vat_rate="20", reason_code="FC"),
        ),
        prepaid_amount="100",
        vat_exemption_reason_code="VATEX-EU-132",
        payment=PaymentForm(iban="FR7630006000011234567890189", bic="BNPAFRPP"),
        delivery=DeliveryForm(party_name="Mairie annexe", date="2024-03-14"),
        invoicing_period_start="2024-03-01",
        invoicing_period_end="2024-03-14",
        due_date="2024-04-15",
    )
    fields.update(overrides)
    valid = validate_invoice(InvoiceForm(**fields), today=date(2024, 12, 31))
    return replace(valid.content.document, seller=seller_of(SUPPLIER), buyer=buyer_of(RECIPIENT))


def test_portal_model_reads_back_from_its_facturx():
    model = portal_model()
    assert read_facturx_model(make_facturx_model(model).pdf) == model


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize(
    "overrides",
    [{}, {"type": "AVOIR", "due_date": ""}, {"prepaid_amount": "", "payment": None}],
    ids=["everything", "credit-note", "bare"],
)
def test_portal_model_facturx_passes_en16931_without_fatal_error(overrides):
    facturx = make_facturx_model(portal_model(**overrides))
    report = validate_document(detect(facturx.pdf))
    assert report.kind is DocumentKind.FACTURX
    assert report.valid, report.errors


def pages_of(pdf: bytes) -> list[str]:
    """The text of each page, spaces and non-breaking spaces as one space."""
    return [
        " ".join(page.extract_text().replace("\u00a0", " ").split())
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def amount(value: str, currency: str = "EUR") -> str:
    return money(Decimal(value), currency).replace("\u00a0", " ")


def everything() -> en16931.Invoice:
    """The rich sample (389, allowance and charge, prepaid, rounding, S/Z/E with a VATEX code
    only) with every other part a page shows."""
    return replace(
        samples.rich_invoice(),
        tax_point_date_code="432",
        project_reference="PROJET-ECOLE",
        sales_order_reference="CMD-VENDEUR-4",
        receiving_advice_reference="RECEP-8",
        despatch_advice_reference="BL-77",
        tender_reference="LOT-3",
        invoiced_object=en16931.Identifier("COMPTEUR-12", "AAA"),
        buyer_accounting_reference="6063-ENTRETIEN",
        vat_accounting_currency="CHF",
        totals=replace(samples.rich_invoice().totals, vat_total_accounting=Decimal("176.93")),
        preceding_invoices=(en16931.PrecedingInvoice("AUTO-388-9", date(2025, 4, 1)),),
        payee=en16931.Payee(
            "Affacturage du Centre", legal_registration=en16931.Identifier("44229377500031", "0009")
        ),
        tax_representative=en16931.TaxRepresentative(
            "Représentation fiscale SAS",
            "FR32123456789",
            en16931.Address(city="Paris", postal_code="75008", country="FR"),
        ),
        delivery=en16931.Delivery(
            party_name="École Jules Ferry",
            date=date(2025, 4, 28),
            address=en16931.Address(
                line1="2 rue des Écoles", city="Valmont", postal_code="76540", country="FR"
            ),
        ),
        invoicing_period=en16931.Period(date(2025, 4, 1), date(2025, 4, 30)),
        payment_terms="Paiement à 30 jours, pénalités au taux légal.",
        payment_instructions=en16931.PaymentInstructions(
            means_code="58",
            remittance_information="AUTO-389-1 / Valmont",
            credit_transfers=(
                en16931.CreditTransfer(
                    "FR7630006000011234567890189",
                    account_name="Atelier Dupont",
                    service_provider="AGRIFRPP882",
                ),
            ),
        ),
        notes=(
            en16931.Note("Autofacturation selon mandat du 2 janvier 2025."),
            en16931.Note("Indemnité forfaitaire de 40 euros.", "PMT"),
        ),
    )


def test_the_page_states_what_the_xml_states():
    model = everything()
    text = " ".join(pages_of(render_pdf(model)))
    for expected in (
        "AUTOFACTURE N° AUTO-389-1",
        "Date d'émission : 01/05/2025",
        "Date d'échéance : 01/06/2025",
        "Période de facturation : du 01/04/2025 au 30/04/2025",
        "Exigibilité de la TVA : à la date de paiement",
        "Facture d'origine : AUTO-388-9 du 01/04/2025",
        "Atelier Dupont SARL",
        "SIRET : 33738480410006",
        "N° TVA : FR67337384804",
        "Commune de Valmont",
        "SIRET : 26197306910005",
        "Affacturage du Centre",
        "SIRET : 44229377500031",
        "Représentation fiscale SAS",
        "N° TVA : FR32123456789",
        "École Jules Ferry",
        "Date de livraison : 28/04/2025",
        "2 rue des Écoles",
        "Code service : SERV-TECH",
        "N° d'engagement / bon de commande : EJ-2025-9",
        "Contrat : MARCHE-2025-01",
        "Projet : PROJET-ECOLE",
        "Commande vendeur : CMD-VENDEUR-4",
        "Avis de réception : RECEP-8",
        "Avis d'expédition : BL-77",
        "Appel d'offres / lot : LOT-3",
        "Objet facturé : COMPTEUR-12 (AAA)",
        "Référence comptable de l'acheteur : 6063-ENTRETIEN",
        "Cadre de facturation : A1",
        "Devise de comptabilisation de la TVA : CHF",
        # Document allowance and charge, with their reasons.
        f"Remise Remise globale (95) 19 % {amount('-50.00')}",
        f"Frais Frais de port (FC) 19 % {amount('20.00')}",
        # VAT breakdown per category and rate, exemption by its code.
        f"Soumis à TVA (S) 19 % {amount('970.00')} {amount('184.30')}",
        f"Taux zéro (Z) 0 % {amount('100.00')} {amount('0.00')}",
        "Exonéré (E) 0 %",
        "article 132 de la directive 2006/112/CE (VATEX-EU-132)",
        # Totals BT-106 … BT-115.
        f"Total HT des lignes {amount('1400.00')}",
        f"Remises {amount('-50.00')}",
        f"Frais {amount('20.00')}",
        f"Total HT {amount('1370.00')}",
        f"Total TVA {amount('184.30')}",
        f"Total TVA en CHF {amount('176.93', 'CHF')}",
        f"Total TTC {amount('1554.30')}",
        f"Acompte versé {amount('-500.00')}",
        f"Arrondi {amount('0.20')}",
        f"Net à payer {amount('1054.50')}",
        # Payment.
        "Moyen de paiement : Virement SEPA (58)",
        "IBAN : FR76 3000 6000 0112 3456 7890 189",
        "BIC : AGRIFRPP882",
        "Titulaire : Atelier Dupont",
        "Référence à rappeler avec le paiement : AUTO-389-1 / Valmont",
        "Conditions de paiement : Paiement à 30 jours, pénalités au taux légal.",
        # Notes.
        "Commentaire : Autofacturation selon mandat du 2 janvier 2025.",
        "Indemnité forfaitaire de recouvrement : Indemnité forfaitaire de 40 euros.",
    ):
        assert expected in text, expected


def test_a_portal_entry_page_states_its_discounts_prepaid_and_bank_details():
    model = portal_model()
    text = " ".join(pages_of(render_pdf(model)))
    line_discount = next(ac for ac in model.lines[0].allowances_charges)
    for expected in (
        "Contrat : MARCHE-7",
        "N° d'engagement / bon de commande : EJ-2024-117",
        "Date de livraison : 14/03/2024",
        "Mairie annexe",
        "Période de facturation : du 01/03/2024 au 14/03/2024",
        "Date d'échéance : 15/04/2024",
        f"Remise : {amount(str(-line_discount.amount))} (5 % de {amount('200.00')}) — Fidélité",
        f"Remise Remise globale 20 % {amount('-10.00')}",
        f"Frais code FC 20 % {amount('5.00')}",
        f"Acompte versé {amount('-100.00')}",
        f"Net à payer {amount(str(model.totals.amount_due))}",
        "IBAN : FR76 3000 6000 0112 3456 7890 189",
        "BIC : BNPAFRPP",
        "Exonéré (E) 0 %",
        "(VATEX-EU-132)",
        "Taux zéro (Z) 0 %",
    ):
        assert expected in text, expected


@pytest.mark.parametrize(
    ("code", "title"),
    [
        ("380", "FACTURE N°"),
        ("381", "AVOIR N°"),
        ("384", "FACTURE RECTIFICATIVE N°"),
        ("386", "FACTURE D'ACOMPTE N°"),
        ("389", "AUTOFACTURE N°"),
        ("393", "FACTURE (TYPE 393) N°"),
        ("396", "AVOIR (TYPE 396) N°"),
    ],
)
def test_the_title_names_the_type_of_document(code, title):
    assert document_title(code).upper() + " N°" == title
    pages = pages_of(render_pdf(replace(samples.credit_note("DOC-1"), type_code=code)))
    assert pages[0].startswith(f"{title} DOC-1")


def test_iban_is_written_by_groups_of_four():
    assert iban("FR7630006000011234567890189") == "FR76 3000 6000 0112 3456 7890 189"
    assert iban("fr76 3000 6000 0112 3456 7890 189") == "FR76 3000 6000 0112 3456 7890 189"
    assert iban("123-456") == "123-456"


def long_invoice(count: int = 200) -> en16931.Invoice:
    lines = tuple(
        samples.line(str(i), "1", "10.00", "S", "20", name=f"Article n°{i} du bordereau")
        for i in range(1, count + 1)
    )
    base = Decimal(10 * count).quantize(Decimal("0.01"))
    vat = (base / 5).quantize(Decimal("0.01"))
    return replace(
        samples.line_net_differs("LONGUE-200"),
        lines=lines,
        vat_breakdown=(en16931.VatBreakdown("S", base, vat, Decimal("20")),),
        totals=en16931.DocumentTotals(
            line_total=base,
            tax_exclusive=base,
            vat_total=vat,
            tax_inclusive=base + vat,
            amount_due=base + vat,
        ),
    )


@pytest.mark.usefixtures("engine")
def test_a_long_invoice_paginates_with_its_totals_on_the_last_page():
    model = long_invoice()
    facturx = make_facturx_model(model)
    pages = pages_of(facturx.pdf)
    assert len(pages) >= 4
    for number, text in enumerate(pages, start=1):
        assert f"Facture N° LONGUE-200 — page {number}/{len(pages)}" in text
    lines_pages = [text for text in pages if "Article n°" in text]
    assert len(lines_pages) >= 4
    assert all("Désignation" in text for text in lines_pages)  # headings on every page
    everything_said = " ".join(pages)
    assert all(f"Article n°{i} du bordereau" in everything_said for i in range(1, 201))
    assert "Net à payer" not in " ".join(pages[:-1])
    assert f"Net à payer {amount('2400.00')}" in pages[-1]
    assert f"Total HT {amount('2000.00')}" in pages[-1]
    report = validate_document(detect(facturx.pdf))
    assert report.valid, report.errors
    assert read_facturx_model(facturx.pdf) == model


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=invoices())
def test_any_valid_model_renders(model):
    pages = pages_of(render_pdf(model))
    assert pages[0].startswith(document_title(model.type_code).upper())
    net = money(model.totals.amount_due, model.currency).replace("\u00a0", " ")
    assert f"Net à payer {net}" in " ".join(pages)
    assert f"page {len(pages)}/{len(pages)}" in pages[-1]


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize(
    "content",
    [
        portal_content(preceding_invoice="F-2024-000"),
        portal_content(payment_terms="", comment="", service_code="", engagement_number=""),
        portal_content(
            type=InvoiceType.AVOIR,
            number="AV-2024-001",
            preceding_invoice="F-2024-000",
            lines=(Line("Remboursement", Decimal("1"), "C62", Decimal("80"), Decimal("10")),),
        ),
        portal_content(
            lines=tuple(
                Line(f"Article {i}", Decimal("0.333"), "KGM", Decimal("1.999999"), Decimal("2.1"))
                for i in range(40)
            )
        ),
    ],
    ids=["three-rates", "bare", "credit-note", "many-lines-six-decimals"],
)
def test_an_invoice_stored_before_the_model_gets_a_valid_facturx(content):
    facturx = make_facturx_model(model_of_content(content, SELLER, BUYER))
    report = validate_document(detect(facturx.pdf))
    assert report.kind is DocumentKind.FACTURX
    assert report.valid, report.errors


@pytest.mark.usefixtures("engine")
def test_pdf_is_pdfa3_with_the_xml_as_its_data_attachment():
    facturx = make_facturx_model(everything())
    report = validate_document(detect(facturx.pdf))
    assert report.kind is DocumentKind.FACTURX
    assert report.valid, report.errors
    reader = PdfReader(io.BytesIO(facturx.pdf))
    assert reader.attachments["factur-x.xml"] == [facturx.xml]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in xmp
    assert b"<pdfaid:conformance>B</pdfaid:conformance>" in xmp
    assert b"<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>" in xmp
    root = reader.trailer["/Root"]
    assert root["/AF"][0].get_object()["/AFRelationship"] == "/Data"
    assert "/OutputIntents" in root
    fonts = [
        font.get_object() for page in reader.pages for font in page["/Resources"]["/Font"].values()
    ]
    assert fonts and all(
        "/FontFile2" in f["/DescendantFonts"][0].get_object()["/FontDescriptor"] for f in fonts
    )


def test_pdf_of_an_invoice_stored_before_the_model_reads_as_a_french_invoice():
    content = portal_content()
    pdf = make_facturx_model(model_of_content(content, SELLER, BUYER)).pdf
    text = " ".join(pages_of(pdf))
    for expected in (
        "FACTURE N° F-2024-001",
        "15/03/2024",
        "Atelier Dupont SARL",
        "SIRET : 26197306910005",
        "Code service : SERV-TECH",
        "N° d'engagement / bon de commande : EJ-2024-117",
        "Net à payer",
        "« urgente »",
        "Exonération de TVA, article 261-4-4° du CGI",
        "Conditions de paiement : 30 jours fin de mois",
    ):
        assert expected in text, expected
    assert amount(str(content.totals().gross_total)) in text


def test_choices_made_for_an_invoice_stored_before_the_model():
    bare = replace(SUPPLIER, vat_number="")
    model = model_of_content(
        portal_content(payment_terms="", vat_exemption_reason=""), seller_of(bare), BUYER
    )
    assert model.seller.vat_identifier == french_vat_number("337384804") == "FR67337384804"
    assert model.payment_terms == DEFAULT_PAYMENT_TERMS
    assert [line.vat_category for line in model.lines] == ["S", "S", "E"]
    exempt = [v for v in model.vat_breakdown if v.category == "E"]
    assert [v.exemption_reason for v in exempt] == [DEFAULT_EXEMPTION_REASON]
    assert model.type_code == "380" and model.business_process == "A1"
    assert (model.buyer_reference, model.purchase_order_reference) == ("SERV-TECH", "EJ-2024-117")
    assert model.notes == (en16931.Note("Intervention du 14 mars « urgente »"),)
    foreign = replace(bare, address=("Rue Neuve 1", "", "1000", "Bruxelles", "BE"))
    assert model_of_content(portal_content(), seller_of(foreign), BUYER).seller.vat_identifier == ""
    kept = portal_model()
    assert model_of_content(replace(portal_content(), document=kept), SELLER, BUYER) is kept


def test_known_french_vat_number():
    assert french_vat_number("732829320") == "FR44732829320"


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (Decimal("1234.5"), "EUR", "1\u00a0234,50\u00a0€"),
        (Decimal("0.005"), "EUR", "0,01\u00a0€"),
        (Decimal("1234567.891"), "USD", "1\u00a0234\u00a0567,89\u00a0USD"),
        (Decimal("-80"), "EUR", "-80,00\u00a0€"),
    ],
)
def test_money_is_written_the_french_way(value, currency, text):
    assert money(value, currency) == text
