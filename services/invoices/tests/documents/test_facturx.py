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
from chorus_invoices.documents.facturx import make_facturx, read_facturx
from chorus_invoices.documents.formats import DocumentKind, detect
from chorus_invoices.documents.pdf_rendering import money
from chorus_invoices.documents.validation import validate_document
from chorus_invoices.domain.invoice import InvoiceType, Line
from chorus_invoices.domain.validation import validate_invoice
from pypdf import PdfReader

from .conftest import BUYER, SELLER, portal_content


def test_portal_invoice_reads_back_into_the_same_invoice():
    content = portal_content()
    facturx = make_facturx(content, SELLER, BUYER)
    invoice = read_facturx(facturx.pdf)
    assert invoice == document_from_content(content, SELLER, BUYER)
    form = invoice.to_form(supplier_structure_id="supplier-1")
    assert validate_invoice(form, today=date(2024, 12, 31)).content == content


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
