"""Format detection: UBL Invoice / CreditNote, CII by profile, Factur-X PDFs, broken PDFs."""

from __future__ import annotations

import io

import pytest
from chorus_invoices.documents.formats import (
    DocumentKind,
    DocumentLimits,
    detect,
    read_pdf,
)
from chorus_invoices.documents.pdf_rendering import render_pdf
from chorus_invoices.documents.xml_safety import XmlLimits
from chorus_platform.errors import InvalidArgument
from pypdf import PdfReader, PdfWriter

from .conftest import corpus_file

CII_EN16931 = "urn:cen.eu:en16931:2017"


def refusal(data: bytes, limits: DocumentLimits | None = None) -> str:
    with pytest.raises(InvalidArgument) as caught:
        detect(data, limits)
    return caught.value.reason


def cii_with_guideline(guideline: str) -> bytes:
    return corpus_file("valid/cii-invoice.xml").replace(CII_EN16931.encode(), guideline.encode(), 1)


def pdf_with(name: str, data: bytes) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment(name, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "kind", "level"),
    [
        ("valid/ubl-invoice.xml", DocumentKind.UBL_INVOICE, "en16931"),
        ("valid/ubl-credit-note.xml", DocumentKind.UBL_CREDIT_NOTE, "en16931"),
        ("valid/cii-invoice.xml", DocumentKind.CII, "en16931"),
        ("valid/facturx-invoice.pdf", DocumentKind.FACTURX, "en16931"),
    ],
)
def test_each_format_is_recognised(name, kind, level):
    document = detect(corpus_file(name))
    assert (document.kind, document.level) == (kind, level)
    assert b"<!--" not in document.xml  # re-serialised from the safe parse


def test_facturx_keeps_the_pdf_and_extracts_the_embedded_cii():
    data = corpus_file("valid/facturx-invoice.pdf")
    document = detect(data)
    assert document.pdf == data
    assert b"CrossIndustryInvoice" in document.xml


@pytest.mark.parametrize(
    ("guideline", "level"),
    [
        ("urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic", "basic"),
        ("urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended", "extended"),
        ("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0", "en16931"),
    ],
)
def test_cii_profiles_built_on_en16931_are_accepted(guideline, level):
    assert detect(cii_with_guideline(guideline)).level == level


@pytest.mark.parametrize(
    "guideline", ["urn:factur-x.eu:1p0:minimum", "urn:factur-x.eu:1p0:basicwl"]
)
def test_cii_profiles_without_full_invoice_content_are_refused(guideline):
    assert refusal(cii_with_guideline(guideline)) == "PROFILE_UNSUPPORTED"
    assert refusal(pdf_with("factur-x.xml", cii_with_guideline(guideline))) == (
        "PROFILE_UNSUPPORTED"
    )


@pytest.mark.parametrize(
    "guideline", ["urn:example:other", "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort"]
)
def test_a_plain_cii_naming_no_facturx_profile_is_an_en16931_invoice(guideline):
    # The CEN's own CII examples name ZUGFeRD 1 "comfort": the CEN schematron judges them.
    assert detect(cii_with_guideline(guideline)).level == "en16931"


def test_a_facturx_pdf_must_name_its_profile():
    # Its Factur-X profile schematron depends on it.
    data = pdf_with("factur-x.xml", cii_with_guideline("urn:example:other"))
    assert refusal(data) == "PROFILE_UNSUPPORTED"


def test_other_xml_vocabularies_are_unsupported():
    assert refusal(b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>') == (
        "FORMAT_UNSUPPORTED"
    )
    assert refusal(b"<Invoice/>") == "FORMAT_UNSUPPORTED"  # right name, no namespace


def test_pdf_header_may_follow_some_junk():
    data = b"\r\n  " + corpus_file("valid/facturx-invoice.pdf")
    assert detect(data).kind is DocumentKind.FACTURX


def test_zugferd_attachment_name_is_accepted():
    data = pdf_with("ZUGFeRD-invoice.xml", corpus_file("valid/cii-invoice.xml"))
    assert detect(data).kind is DocumentKind.FACTURX


def test_pdf_embedding_ubl_is_not_facturx():
    data = pdf_with("factur-x.xml", corpus_file("valid/ubl-invoice.xml"))
    assert refusal(data) == "FORMAT_UNSUPPORTED"


def test_pdf_without_invoice_xml_is_not_facturx():
    data = pdf_with("notes.xml", corpus_file("valid/cii-invoice.xml"))
    assert refusal(data) == "FACTURX_XML_MISSING"


def test_hostile_xml_inside_a_pdf_gets_the_xml_reason():
    assert refusal(corpus_file("hostile/facturx-xxe.pdf")) == "XML_FORBIDDEN_CONSTRUCT"


def test_embedded_xml_obeys_the_xml_limits():
    data = corpus_file("valid/facturx-invoice.pdf")
    limits = DocumentLimits(xml=XmlLimits(max_bytes=1000))
    assert refusal(data, limits) == "XML_TOO_LARGE"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7\nnothing else", "PDF_MALFORMED"),
        (b"%PDF-", "PDF_MALFORMED"),
        (corpus_file("hostile/fake.pdf"), "PDF_MALFORMED"),
        (corpus_file("hostile/encrypted.pdf"), "PDF_ENCRYPTED"),
    ],
    ids=["header-only", "magic-only", "fake", "encrypted"],
)
def test_broken_and_encrypted_pdfs_are_refused(data, reason):
    assert refusal(data) == reason


def test_pdf_size_limit():
    data = corpus_file("valid/facturx-invoice.pdf")
    assert refusal(data, DocumentLimits(max_pdf_bytes=len(data) - 1)) == "PDF_TOO_LARGE"
    assert detect(data, DocumentLimits(max_pdf_bytes=len(data))).kind is DocumentKind.FACTURX


def test_read_pdf_counts_pages_of_a_plain_pdf():
    from chorus_invoices.documents.mapping import read_model

    plain = render_pdf(read_model(detect(corpus_file("valid/ubl-invoice.xml"))))
    content = read_pdf(plain)
    assert content.pages == 1 and content.embedded_xml is None
    assert len(PdfReader(io.BytesIO(plain)).pages) == 1
