"""Every corpus file read as a structured deposit gives what corpus/expected.toml says."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest
from chorus_invoices.documents.intake import read_deposit
from chorus_invoices.domain.validation import validate_model
from chorus_platform.errors import InvalidArgument

from .conftest import CORPUS

EXPECTED = tomllib.loads((CORPUS / "expected.toml").read_text())["files"]
# en16931/ holds the official examples, with their own expectations (test_en16931_corpus.py).
SAMPLES = sorted(
    p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*.*") if p.parent.name != "en16931"
)


def test_every_sample_has_an_expectation_and_every_expectation_a_sample():
    assert sorted(EXPECTED) == SAMPLES


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("name", SAMPLES)
def test_corpus_sample(name):
    expected = EXPECTED[name]
    data = (CORPUS / name).read_bytes()
    if "kind" in expected:
        intake = read_deposit(data)
        assert intake.kind.value == expected["kind"]
        assert intake.invoice.number == expected["number"]
        assert intake.invoice.totals.tax_inclusive == Decimal(expected["gross_total"])
        assert not any(w.fatal for w in intake.warnings)
        valid = validate_model(intake.invoice, "supplier", today=intake.invoice.issue_date)
        assert [w.rule_id for w in valid.warnings] == expected.get("deposit_warnings", [])
        return
    if "deposit_reason" in expected:
        # Reads, but Chorus' own checks refuse it.
        intake = read_deposit(data)
        with pytest.raises(InvalidArgument) as caught:
            validate_model(intake.invoice, "supplier", today=intake.invoice.issue_date)
        assert caught.value.reason == expected["deposit_reason"]
        assert [v.field for v in caught.value.violations] == expected["deposit_fields"]
        return
    with pytest.raises(InvalidArgument) as caught:
        read_deposit(data)
    error = caught.value
    assert error.reason == expected["reason"], error.message
    assert error.message and error.violations
    if "rules" in expected:
        assert sorted(set(error.metadata["rules"].split(","))) == sorted(expected["rules"])
        for violation in error.violations:
            assert violation.description.startswith("[")  # "[BR-CO-10] message"
            assert violation.field
    if "fields" in expected:
        assert [v.field for v in error.violations] == expected["fields"]


def test_oversized_xml_is_refused_before_parsing():
    data = b"<Invoice>" + b" " * (10 * 1024 * 1024) + b"</Invoice>"
    with pytest.raises(InvalidArgument) as caught:
        read_deposit(data)
    assert caught.value.reason == "XML_TOO_LARGE"


def test_oversized_pdf_is_refused_before_parsing():
    data = b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)
    with pytest.raises(InvalidArgument) as caught:
        read_deposit(data)
    assert caught.value.reason == "PDF_TOO_LARGE"
