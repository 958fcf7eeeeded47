"""The official EN 16931 examples (tests/corpus/en16931: the CEN artefacts' UBL and CII
examples at a pinned commit): the service's validation says of each what the CEN schematron
says (expected.toml, written by make_expected.py from the CEN stylesheets alone)."""

from __future__ import annotations

import importlib.util
import tomllib
from decimal import Decimal

import pytest
from chorus_invoices.documents.formats import DocumentKind, detect
from chorus_invoices.documents.validation import validate_document
from lxml import etree

from .conftest import CORPUS

EN16931 = CORPUS / "en16931"
EXPECTED = tomllib.loads((EN16931 / "expected.toml").read_text())
SAMPLES = sorted(f"{p.parent.name}/{p.name}" for p in EN16931.glob("*/*"))
KINDS = {
    "ubl": {DocumentKind.UBL_INVOICE, DocumentKind.UBL_CREDIT_NOTE},
    "cii": {DocumentKind.CII},
}
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}

pytestmark = pytest.mark.usefixtures("engine")


def _make_expected():
    """tests/corpus/en16931/make_expected.py: the CEN stylesheets run without the service."""
    spec = importlib.util.spec_from_file_location("make_expected", EN16931 / "make_expected.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_official_example_has_an_expectation_and_every_expectation_a_file():
    assert sorted(EXPECTED) == SAMPLES
    assert len([s for s in SAMPLES if s.startswith("ubl/")]) == 19
    assert len([s for s in SAMPLES if s.startswith("cii/")]) == 15


@pytest.mark.parametrize("name", SAMPLES)
def test_official_example_gets_the_cen_schematrons_verdict(name):
    expected = EXPECTED[name]
    report = validate_document(detect((EN16931 / name).read_bytes()), name)
    assert report.kind in KINDS[name.split("/")[0]]
    if expected["valid"]:
        assert report.valid, report.errors
    else:
        assert report.rule_ids == set(expected["rules"]), report.errors
    assert all(not w.fatal for w in report.warnings)


@pytest.mark.parametrize(
    ("name", "total"),
    [
        ("ubl/ubl-tc434-example1.xml", "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"),
        (
            "cii/CII_example1.xml",
            "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount",
        ),
    ],
)
def test_a_broken_official_example_gets_the_rule_ids_the_cen_stylesheet_gives(name, total):
    # The examples are all valid: break one total of each syntax, and the service must name
    # exactly the rules the CEN stylesheet names when run alone.
    root = etree.fromstring((EN16931 / name).read_bytes())
    [amount] = root.xpath(total, namespaces=NS)
    amount.text = str(Decimal(amount.text) + 1)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    official = _make_expected().official_rules(name.split("/")[0], data)
    assert "BR-CO-15" in official
    assert validate_document(detect(data)).rule_ids == set(official)
