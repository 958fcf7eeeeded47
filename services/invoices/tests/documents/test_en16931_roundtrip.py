"""Round trips of the EN 16931 model through its syntax bindings, on random valid invoices.

model → CII → :func:`cii_reader.read_model` and model → UBL → :func:`ubl_reader.read_model`
give the model back, down to how each amount is written (its JSON document is the same); and
every CII written is schema-valid and passes the official schematron with no fatal finding, as
does the Factur-X built from it.
"""

from __future__ import annotations

import io

import pytest
from chorus_invoices.documents import cii_reader, cii_writer, ubl_reader, ubl_writer, validation
from chorus_invoices.documents.formats import DocumentKind, detect
from chorus_invoices.domain import en16931, en16931_codec
from hypothesis import HealthCheck, given, settings
from lxml import etree

from .strategies import invoices

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def _parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, _PARSER)


def _assert_same(found: en16931.Invoice, model: en16931.Invoice) -> None:
    assert found == model
    # Decimal equality ignores trailing zeros; the JSON document states each amount as written.
    assert en16931_codec.to_json(found) == en16931_codec.to_json(model)


_QUICK = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@_QUICK
@given(invoices())
def test_model_to_cii_and_back_is_the_same_model(model):
    _assert_same(cii_reader.read_model(_parse(cii_writer.write_model(model))), model)


@_QUICK
@given(invoices())
def test_model_to_ubl_and_back_is_the_same_model(model):
    xml = ubl_writer.write_model(model)
    root = _parse(xml)
    expected_root = "CreditNote" if model.type_code in en16931.CREDIT_NOTE_TYPE_CODES else "Invoice"
    assert etree.QName(root).localname == expected_root
    _assert_same(ubl_reader.read_model(root), model)


@_QUICK
@given(invoices())
def test_ubl_to_cii_through_the_model_keeps_everything(model):
    from_ubl = ubl_reader.read_model(_parse(ubl_writer.write_model(model)))
    _assert_same(cii_reader.read_model(_parse(cii_writer.write_model(from_ubl))), model)


def _blank_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Facture")
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()


def _fatal(report: validation.ValidationReport) -> list[str]:
    return [f"{v.rule_id}: {v.message} ({v.location})" for v in report.errors]


@pytest.fixture(scope="module")
def blank_pdf() -> bytes:
    return _blank_pdf()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(model=invoices())
def test_every_cii_written_passes_the_official_schematrons(engine, blank_pdf, model):
    from facturx import generate_from_binary

    xml = cii_writer.write_model(model)
    document = detect(xml)
    assert document.kind is DocumentKind.CII
    report = validation.validate_document(document)
    assert _fatal(report) == [], xml.decode()

    pdf = generate_from_binary(
        blank_pdf, xml, flavor="factur-x", level="en16931", check_xsd=False
    )
    facturx = detect(pdf)
    assert facturx.kind is DocumentKind.FACTURX
    assert facturx.level == "en16931"
    report = validation.validate_document(facturx)
    assert _fatal(report) == [], xml.decode()
    assert cii_reader.read_model(facturx.root) == model


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(model=invoices())
def test_every_ubl_written_passes_the_official_schematron(engine, model):
    xml = ubl_writer.write_model(model)
    report = validation.validate_document(detect(xml))
    assert _fatal(report) == [], xml.decode()
