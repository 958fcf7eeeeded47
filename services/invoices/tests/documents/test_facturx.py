"""Factur-X of a portal invoice: CII EN 16931 inside a PDF/A-3 page, and back again."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from chorus_invoices.documents.cii_writer import (
    DEFAULT_EXEMPTION_REASON,
    DEFAULT_PAYMENT_TERMS,
    document_from_content,
    french_vat_number,
)
from chorus_invoices.documents.content import buyer_of, seller_of
from chorus_invoices.documents.facturx import make_facturx, make_facturx_model, read_facturx_model
from chorus_invoices.documents.formats import DocumentKind, detect
from chorus_invoices.documents.pdf_rendering import money
from chorus_invoices.documents.validation import validate_document
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
from chorus_invoices.domain.validation import validate_invoice
from pypdf import PdfReader

from .conftest import BUYER, SELLER, portal_content

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


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize(
    "content",
    [
        portal_content(),
        portal_content(payment_terms="", comment="", service_code="", engagement_number=""),
        portal_content(
            type=InvoiceType.AVOIR,
            number="AV-2024-001",
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
def test_generated_facturx_passes_en16931_without_fatal_error(content):
    facturx = make_facturx(content, SELLER, BUYER, preceding_invoice="F-2024-000")
    report = validate_document(detect(facturx.pdf))
    assert report.kind is DocumentKind.FACTURX
    assert report.valid, report.errors


def test_pdf_is_pdfa3_with_the_xml_as_its_data_attachment():
    facturx = make_facturx(portal_content(), SELLER, BUYER)
    reader = PdfReader(io.BytesIO(facturx.pdf))
    assert reader.attachments["factur-x.xml"] == [facturx.xml]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"<pdfaid:part>3</pdfaid:part>" in xmp
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


def test_pdf_reads_as_a_french_invoice():
    content = portal_content()
    text = PdfReader(io.BytesIO(make_facturx(content, SELLER, BUYER).pdf)).pages[0].extract_text()
    for expected in (
        "FACTURE N° F-2024-001",
        "15/03/2024",
        "Atelier Dupont SARL",
        "SIRET : 26197306910005",
        "Code service : SERV-TECH",
        "N° d'engagement : EJ-2024-117",
        "Net à payer",
        "« urgente »",
        "Exonération de TVA",
    ):
        assert expected in text, expected
    assert money(content.totals().gross_total, "EUR") in text


def test_choices_made_for_en16931():
    bare = replace(SELLER, vat_number="")
    invoice = document_from_content(
        portal_content(payment_terms="", vat_exemption_reason=""), bare, BUYER
    )
    assert invoice.seller.vat_number == french_vat_number("337384804") == "FR67337384804"
    assert invoice.payment_terms == DEFAULT_PAYMENT_TERMS
    assert invoice.vat_exemption_reason == DEFAULT_EXEMPTION_REASON
    assert [line.vat_category for line in invoice.lines] == ["S", "S", "E"]
    foreign = replace(SELLER, vat_number="", country="BE")
    assert document_from_content(portal_content(), foreign, BUYER).seller.vat_number == ""


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
