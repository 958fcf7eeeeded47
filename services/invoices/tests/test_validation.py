"""Validation of portal-entered invoices (domain/validation.py) and routing rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from chorus_invoices.domain.forms import InvoiceForm, LineForm, RecipientRef
from chorus_invoices.domain.routing import Recipient, RecipientService, check_routing
from chorus_invoices.domain.validation import validate_invoice
from chorus_platform.errors import InvalidArgument

TODAY = date(2025, 6, 15)
GOOD_LINE = LineForm("Prestation", "2", "", "50", "20")


def form(**overrides) -> InvoiceForm:
    fields = {
        "supplier_structure_id": "s-1",
        "recipient": RecipientRef(structure_id="r-1"),
        "framework": "A1_FACTURE_FOURNISSEUR",
        "type": "FACTURE",
        "number": "F-2025/001_a",
        "issue_date": "2025-06-01",
        "lines": (GOOD_LINE,),
    }
    fields.update(overrides)
    return InvoiceForm(**fields)


def problems(**overrides) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        validate_invoice(form(**overrides), TODAY)
    return raised.value


def test_a_valid_invoice_gets_defaults_and_decimals():
    valid = validate_invoice(form(currency=""), TODAY)

    content = valid.content
    assert content.currency == "EUR"
    assert content.issue_date == date(2025, 6, 1)
    assert content.lines[0].unit == "C62"
    assert content.lines[0].net_amount == D("100.00")
    assert content.totals().gross_total == D("120.00")


def test_credit_note_takes_the_same_data_and_names_the_invoice_it_corrects():
    valid = validate_invoice(form(type="AVOIR", preceding_invoice=" F-2024-001 "), TODAY)
    assert (valid.content.type, valid.content.preceding_invoice) == ("AVOIR", "F-2024-001")
    assert valid.content.type_code == valid.content.document.type_code == "381"
    assert valid.content.document.preceding_invoices[0].number == "F-2024-001"


def test_a_credit_note_may_leave_out_the_invoice_it_corrects():
    # BT-25 is optional in EN 16931 (issue 10: CREDIT_NOTE_REFERENCE_REQUIRED is gone).
    valid = validate_invoice(form(type="AVOIR"), TODAY)
    assert (valid.content.type, valid.content.preceding_invoice) == ("AVOIR", "")


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        (
            {
                "type": "AVOIR",
                "preceding_invoice": "F-1",
                "framework": "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE",
            },
            "FRAMEWORK_TYPE_INCONSISTENT",
            "type",
        ),
        (
            {"type": "AVOIR", "preceding_invoice": "F 1 ?"},
            "PRECEDING_INVOICE_INVALID",
            "preceding_invoice_number",
        ),
        (
            {"lines": (LineForm("Formation", "1", "", "500", "0"),)},
            "VAT_EXEMPTION_REASON_REQUIRED",
            "vat_exemption_reason",
        ),
    ],
    ids=["credit-note-already-paid", "bad-reference", "exempt"],
)
def test_type_framework_and_exemption_rules(changes, reason, field):
    with pytest.raises(InvalidArgument) as raised:
        validate_invoice(form(**changes), TODAY)
    assert raised.value.reason == reason
    assert field in [v.field for v in raised.value.violations]


def test_an_exemption_reason_without_exempt_lines_is_not_kept():
    valid = validate_invoice(form(vat_exemption_reason="Art. 293 B"), TODAY)
    assert valid.content.vat_exemption_reason == ""


@pytest.mark.parametrize(
    ("line", "reason", "field"),
    [
        (LineForm("x", "0", "", "1", "20"), "QUANTITY_INVALID", "quantity"),
        (LineForm("x", "-1", "", "1", "20"), "QUANTITY_INVALID", "quantity"),
        (LineForm("x", "abc", "", "1", "20"), "QUANTITY_INVALID", "quantity"),
        (LineForm("x", "1", "", "-0.01", "20"), "UNIT_PRICE_INVALID", "unit_price"),
        (LineForm("x", "1", "", "1.1234567", "20"), "UNIT_PRICE_INVALID", "unit_price"),
        (LineForm("x", "1", "", "1e3", "20"), "UNIT_PRICE_INVALID", "unit_price"),
        (LineForm("x", "1", "", "", "20"), "UNIT_PRICE_INVALID", "unit_price"),
        (LineForm("x", "1", "", "1", "19.666"), "VAT_RATE_INVALID", "vat_rate"),
        (LineForm("x", "1", "", "1", "100"), "VAT_RATE_INVALID", "vat_rate"),
        (LineForm("x", "1", "", "1", "-1"), "VAT_RATE_INVALID", "vat_rate"),
        (LineForm("x", "1", "", "1", ""), "VAT_RATE_INVALID", "vat_rate"),
        (LineForm("x", "1", "", "1", "NaN"), "VAT_RATE_INVALID", "vat_rate"),
        (LineForm("", "1", "", "1", "20"), "FIELD_REQUIRED", "description"),
        (LineForm("x", "1", "heures", "1", "20"), "UNIT_INVALID", "unit"),
    ],
)
def test_bad_lines_are_reported_with_their_index(line, reason, field):
    error = problems(lines=(GOOD_LINE, GOOD_LINE, line))

    assert error.reason == reason
    assert [v.field for v in error.violations] == [f"lines[2].{field}"]


@pytest.mark.parametrize("rate", ["20", "20.0", "10", "5.5", "5.50", "2.1", "0", "0.00"])
def test_french_vat_rates_are_accepted(rate):
    line = LineForm("x", "1", "", "1", rate)
    valid = validate_invoice(form(lines=(line,), vat_exemption_reason="Art. 293 B du CGI"), TODAY)
    assert valid.content.lines[0].vat_rate == D(rate)


@pytest.mark.parametrize("rate", ["19.6", "8.5", "7", "0.9", "99.99", "13 %"])
def test_a_manual_rate_is_accepted_with_two_decimals_at_most(rate):
    valid = validate_invoice(form(lines=(LineForm("x", "1", "", "100", rate),)), TODAY)
    (vat,) = valid.content.document.vat_breakdown
    assert (vat.category, vat.rate) == ("S", D(rate.removesuffix(" %")))


def test_unit_price_may_be_zero_with_six_decimals():
    line = LineForm("x", "1.5", "hur", "0.123456", "20")
    valid = validate_invoice(form(lines=(line,)), TODAY)
    assert valid.content.lines[0].unit == "HUR"
    assert valid.content.lines[0].unit_price == D("0.123456")


def test_lines_are_required_and_limited_to_a_thousand():
    assert problems(lines=()).reason == "LINES_REQUIRED"
    assert problems(lines=(GOOD_LINE,) * 1001).reason == "LINES_TOO_MANY"
    assert len(validate_invoice(form(lines=(GOOD_LINE,) * 1000), TODAY).content.lines) == 1000


@pytest.mark.parametrize("number", ["", "F 001", "F-001!", "É001", "A" * 21])
def test_invoice_number_shape(number):
    error = problems(number=number)
    assert (error.reason, error.violations[0].field) == ("INVOICE_NUMBER_INVALID", "number")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("framework", "", "FIELD_REQUIRED"),
        ("framework", "A99", "FRAMEWORK_INVALID"),
        ("type", "", "FIELD_REQUIRED"),
        ("supplier_structure_id", " ", "FIELD_REQUIRED"),
        ("recipient", RecipientRef(), "FIELD_REQUIRED"),
        ("issue_date", "", "FIELD_REQUIRED"),
        ("issue_date", "14/06/2025", "ISSUE_DATE_INVALID"),
        ("issue_date", "2025-02-30", "ISSUE_DATE_INVALID"),
        ("issue_date", "20250601", "ISSUE_DATE_INVALID"),
        ("issue_date", "2031-01-01", "ISSUE_DATE_INVALID"),
        ("issue_date", "1999-12-31", "ISSUE_DATE_INVALID"),
        ("currency", "EURO", "CURRENCY_INVALID"),
        ("currency", "€", "CURRENCY_INVALID"),
        ("service_code", "S" * 101, "FIELD_TOO_LONG"),
    ],
)
def test_header_fields(field, value, reason):
    error = problems(**{field: value})
    assert error.reason == reason
    assert error.violations[0].field == field


def test_recipient_by_identifier_needs_a_known_type():
    error = problems(recipient=RecipientRef(identifier_type="SIREN", identifier="123456789"))
    assert (error.reason, error.violations[0].field) == (
        "IDENTIFIER_TYPE_INVALID",
        "recipient.identifier_type",
    )
    valid = validate_invoice(
        form(recipient=RecipientRef(identifier_type="siret", identifier=" 123 456 789 00012")),
        TODAY,
    )
    assert valid.recipient == RecipientRef("", "SIRET", "12345678900012")


def test_every_problem_is_reported_at_once():
    error = problems(number="", currency="1", lines=(LineForm(),))

    assert error.reason == "INVOICE_NUMBER_INVALID"
    assert [v.field for v in error.violations] == [
        "number",
        "currency",
        "lines[0].description",
        "lines[0].quantity",
        "lines[0].unit_price",
        "lines[0].vat_rate",
    ]
    assert "6 erreurs" in error.message


def recipient(**kwargs) -> Recipient:
    fields = {
        "structure_id": "r-1",
        "raison_sociale": "Commune",
        "public": True,
        "active": True,
        "services": (
            RecipientService("TECH", True, False),
            RecipientService("OLD", False, False),
            RecipientService("ACHATS", True, True),
        ),
    }
    fields.update(kwargs)
    return Recipient(**fields)


@pytest.mark.parametrize(
    ("params", "service", "engagement", "reason"),
    [
        ({"public": False}, "", "", "RECIPIENT_NOT_PUBLIC"),
        ({"active": False}, "", "", "RECIPIENT_INACTIVE"),
        ({"service_code_required": True}, "", "EJ1", "SERVICE_CODE_REQUIRED"),
        ({}, "NOPE", "", "SERVICE_CODE_UNKNOWN"),
        ({}, "OLD", "", "SERVICE_CODE_UNKNOWN"),
        ({"engagement_required": True}, "TECH", "", "ENGAGEMENT_REQUIRED"),
        ({}, "ACHATS", "", "ENGAGEMENT_REQUIRED"),
        ({"service_or_engagement_required": True}, "", "", "SERVICE_OR_ENGAGEMENT_REQUIRED"),
    ],
)
def test_routing_rules_refuse(params, service, engagement, reason):
    with pytest.raises(InvalidArgument) as raised:
        check_routing(recipient(**params), service, engagement)
    assert raised.value.reason == reason


def test_routing_returns_the_service_code_as_the_recipient_spells_it():
    assert check_routing(recipient(service_code_required=True), "tech", "") == "TECH"
    assert check_routing(recipient(), "", "") == ""


def test_reserved_service_is_refused_to_private_suppliers_only():
    reserved = recipient(services=(RecipientService("FACTURES_PUBLIQUES", True, False, True),))
    with pytest.raises(InvalidArgument) as raised:
        check_routing(reserved, "FACTURES_PUBLIQUES", "")
    assert raised.value.reason == "SERVICE_RESERVED"
    assert (
        check_routing(reserved, "factures_publiques", "", supplier_public=True)
        == "FACTURES_PUBLIQUES"
    )
