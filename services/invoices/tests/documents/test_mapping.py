"""From UBL and CII to the domain's input: business terms in their French CIUS places, and the
document's sums checked against the domain's own arithmetic."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from chorus_invoices.documents.content import DocumentInvoice, framework_name
from chorus_invoices.documents.formats import detect
from chorus_invoices.documents.mapping import check_totals, extract
from chorus_invoices.domain.invoice import Framework, InvoiceType
from chorus_invoices.domain.validation import validate_invoice
from chorus_platform.errors import InvalidArgument

from .conftest import corpus_file


def read(name: str, edit=None) -> DocumentInvoice:
    data = corpus_file(name)
    if edit:
        data = edit(data.decode()).encode()
    return extract(detect(data))


def test_ubl_invoice_business_terms():
    invoice = read("valid/ubl-invoice.xml")
    assert (invoice.number, invoice.type_code, invoice.issue_date) == (
        "UBL-2024-0042",
        "380",
        date(2024, 5, 2),
    )
    assert (invoice.service_code, invoice.engagement_number) == ("SERV-TECH", "EJ-2024-117")
    assert invoice.seller.siret == "33738480410006"
    assert invoice.seller.vat_number == "FR67337384804"
    assert invoice.seller.name == "Atelier Dupont SARL"
    assert (invoice.buyer.siret, invoice.buyer.city) == ("26197306910005", "Valmont-sur-Loire")
    assert invoice.payment_terms == "Paiement à 30 jours par virement."
    assert [
        (line.quantity, line.unit, line.unit_price, line.vat_rate) for line in invoice.lines
    ] == [
        (6, "HUR", Decimal("65.00"), 20),
        (2, "C62", Decimal("148.50"), 20),
        (4, "C62", Decimal("12.35"), Decimal("5.5")),
    ]
    assert invoice.totals.gross_total == Decimal("876.52")
    assert [(v.rate, v.base, v.amount) for v in invoice.totals.vat_breakdown] == [
        (20, Decimal("687.00"), Decimal("137.40")),
        (Decimal("5.5"), Decimal("49.40"), Decimal("2.72")),
    ]


def test_ubl_credit_note_is_an_avoir_referencing_its_invoice():
    invoice = read("valid/ubl-credit-note.xml")
    assert (invoice.type_code, invoice.preceding_invoice) == ("381", "UBL-2024-0042")
    assert invoice.to_form().type == "AVOIR"
    assert invoice.lines[0].quantity == 1


def test_cii_invoice_business_terms():
    invoice = read("valid/cii-invoice.xml")
    assert (invoice.number, invoice.issue_date) == ("BEM-2024-318", date(2024, 6, 10))
    assert (invoice.service_code, invoice.engagement_number) == ("DIR-TRAVAUX", "EJ-CH-2024-55")
    assert (invoice.seller.siret, invoice.buyer.siret) == ("14026066210005", "17500669110009")
    assert invoice.vat_exemption_reason == "Exonération, article 261-4-4° du CGI"
    assert [line.vat_category for line in invoice.lines] == ["S", "E", "S"]
    assert invoice.note == "Mission d'assistance à maîtrise d'ouvrage, phase 1."


@pytest.mark.parametrize("name", ["valid/ubl-invoice.xml", "valid/cii-invoice.xml"])
def test_document_becomes_a_form_the_domain_accepts(name):
    invoice = read(name)
    form = invoice.to_form(supplier_structure_id="supplier-1")
    assert (form.recipient.identifier_type, form.recipient.identifier) == (
        "SIRET",
        invoice.buyer.siret,
    )
    valid = validate_invoice(form, today=date(2024, 12, 31))
    content = valid.content
    assert content.framework is Framework.A1_FACTURE_FOURNISSEUR
    assert content.type is InvoiceType.FACTURE
    assert content.totals().gross_total == invoice.totals.gross_total
    assert [line.description for line in content.lines] == [
        line.description for line in invoice.lines
    ]


@pytest.mark.parametrize(
    ("where", "replacement"),
    [
        (
            '<cbc:CompanyID schemeID="0009">26197306910005</cbc:CompanyID>',
            '<cbc:CompanyID schemeID="0002">261973069</cbc:CompanyID>',
        ),
    ],
)
def test_siret_is_also_found_as_party_identifier(where, replacement):
    def edit(text: str) -> str:
        text = text.replace(where, replacement)
        return text.replace(
            "<cac:AccountingCustomerParty>\n    <cac:Party>",
            "<cac:AccountingCustomerParty>\n    <cac:Party>\n      <cac:PartyIdentification>"
            '<cbc:ID schemeID="0009">26197306910005</cbc:ID></cac:PartyIdentification>',
        )

    assert read("valid/ubl-invoice.xml", edit).buyer.siret == "26197306910005"


def test_cii_siret_as_global_id():
    def edit(text: str) -> str:
        return text.replace(
            "<ram:Name>Centre hospitalier de Bellerive</ram:Name>\n"
            "        <ram:SpecifiedLegalOrganization>\n"
            '          <ram:ID schemeID="0009">17500669110009</ram:ID>\n'
            "        </ram:SpecifiedLegalOrganization>",
            '<ram:GlobalID schemeID="0009">17500669110009</ram:GlobalID>\n'
            "        <ram:Name>Centre hospitalier de Bellerive</ram:Name>",
        )

    assert read("valid/cii-invoice.xml", edit).buyer.siret == "17500669110009"


def test_price_per_base_quantity_is_a_unit_price():
    def edit(text: str) -> str:
        return text.replace(
            "<ram:ChargeAmount>0.12</ram:ChargeAmount>",
            "<ram:ChargeAmount>12.00</ram:ChargeAmount>"
            '<ram:BasisQuantity unitCode="C62">100</ram:BasisQuantity>',
        )

    invoice = read("valid/cii-invoice.xml", edit)
    assert invoice.lines[2].unit_price == Decimal("0.12")
    check_totals(invoice)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("A1", "A1_FACTURE_FOURNISSEUR"),
        ("a2", "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE"),
        ("A9", "A9_FACTURE_SOUSTRAITANT"),
        ("A12", "A12_FACTURE_COTRAITANT"),
        ("", "A1_FACTURE_FOURNISSEUR"),
        ("urn:fdc:peppol.eu:2017:poacc:billing:01:1.0", "A1_FACTURE_FOURNISSEUR"),
        ("A5", "A5"),
    ],
)
def test_framework_from_business_process(code, name):
    assert framework_name(code) == name


def test_unknown_framework_and_type_are_refused_by_the_domain_not_guessed():
    def edit(text: str) -> str:
        return text.replace(
            "<cbc:ProfileID>A1</cbc:ProfileID>", "<cbc:ProfileID>A5</cbc:ProfileID>"
        ).replace(
            "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>",
            "<cbc:InvoiceTypeCode>384</cbc:InvoiceTypeCode>",
        )

    form = read("valid/ubl-invoice.xml", edit).to_form("supplier-1")
    with pytest.raises(InvalidArgument) as caught:
        validate_invoice(form, today=date(2024, 12, 31))
    assert {v.field for v in caught.value.violations} == {"framework", "type"}


def test_totals_that_hold_are_returned_recomputed():
    totals = check_totals(read("valid/ubl-invoice.xml"))
    assert (totals.net_total, totals.vat_total, totals.gross_total) == (
        Decimal("736.40"),
        Decimal("140.12"),
        Decimal("876.52"),
    )


def test_totals_mismatch_names_every_differing_amount():
    invoice = read("valid/cii-invoice.xml")
    stated = replace(invoice.totals, vat_total=Decimal("513.59"), gross_total=Decimal("4281.59"))
    with pytest.raises(InvalidArgument) as caught:
        check_totals(replace(invoice, totals=stated))
    assert caught.value.reason == "TOTALS_MISMATCH"
    assert [v.field for v in caught.value.violations] == ["totals.vat_total", "totals.gross_total"]
    assert "513.59" in caught.value.violations[0].description
    assert "513.60" in caught.value.violations[0].description


def test_missing_and_extra_vat_breakdowns_are_mismatches():
    invoice = read("valid/cii-invoice.xml")
    breakdown = invoice.totals.vat_breakdown
    extra = replace(breakdown[0], rate=Decimal("10"))
    stated = replace(invoice.totals, vat_breakdown=(breakdown[0], extra))
    with pytest.raises(InvalidArgument) as caught:
        check_totals(replace(invoice, totals=stated))
    assert [v.field for v in caught.value.violations] == [
        "totals.vat_breakdown[10]",
        "totals.vat_breakdown[0]",
    ]


def test_prepaid_amounts_are_refused_not_dropped():
    def edit(text: str) -> str:
        return text.replace(
            '<cbc:PayableAmount currencyID="EUR">876.52</cbc:PayableAmount>',
            '<cbc:PrepaidAmount currencyID="EUR">100.00</cbc:PrepaidAmount>\n'
            '    <cbc:PayableAmount currencyID="EUR">776.52</cbc:PayableAmount>',
        )

    with pytest.raises(InvalidArgument) as caught:
        read("valid/ubl-invoice.xml", edit)
    assert caught.value.reason == "DOCUMENT_CONTENT_UNSUPPORTED"
    assert [v.field for v in caught.value.violations] == ["totals.prepaid"]
    assert "acompte" in caught.value.message


LINE_SUM = "<ram:SpecifiedTradeSettlementLineMonetarySummation>"


def test_line_allowances_are_refused_not_dropped():
    def edit(text: str) -> str:
        return text.replace(
            LINE_SUM + "\n          <ram:LineTotalAmount>18.00",
            "<ram:SpecifiedTradeAllowanceCharge><ram:ChargeIndicator><udt:Indicator>false"
            "</udt:Indicator></ram:ChargeIndicator><ram:ActualAmount>1.00</ram:ActualAmount>"
            "</ram:SpecifiedTradeAllowanceCharge>" + LINE_SUM + "<ram:LineTotalAmount>18.00",
            1,
        )

    with pytest.raises(InvalidArgument) as caught:
        read("valid/cii-invoice.xml", edit)
    assert caught.value.reason == "DOCUMENT_CONTENT_UNSUPPORTED"
    assert caught.value.violations[0].field.endswith("ram:SpecifiedTradeAllowanceCharge[1]")


def test_unreadable_amount_outside_validation_is_a_value_error():
    with pytest.raises(InvalidArgument) as caught:
        read("invalid/cii-xsd-amount-not-a-number.xml")
    assert caught.value.reason == "DOCUMENT_VALUE_INVALID"
    assert "huit cent cinquante" in caught.value.message


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("999999999999999.9999999999", True),  # 15 digits before the point, 10 after
        ("1000000000000000", False),
        ("0.00000000001", False),
        ("123456789012345678901234567890", False),
    ],
)
def test_amounts_beyond_any_invoice_are_value_errors_not_arithmetic_failures(value, allowed):
    def edit(text: str) -> str:
        return text.replace(
            '<cbc:PriceAmount currencyID="EUR">65.00</cbc:PriceAmount>',
            f'<cbc:PriceAmount currencyID="EUR">{value}</cbc:PriceAmount>',
        )

    if allowed:
        assert read("valid/ubl-invoice.xml", edit).lines[0].unit_price == Decimal(value)
        return
    with pytest.raises(InvalidArgument) as caught:
        read("valid/ubl-invoice.xml", edit)
    assert caught.value.reason == "DOCUMENT_VALUE_INVALID"
    assert caught.value.violations[0].field.endswith("cac:Price[1]/cbc:PriceAmount")


@pytest.mark.parametrize(
    "name", ["hostile/ubl-amount-30-digits.xml", "hostile/ubl-absurd-quantity.xml"]
)
def test_hostile_amounts_are_refused_by_the_reading_itself(name):
    # The schematron refuses these first (expected.toml); the reading alone must too.
    with pytest.raises(InvalidArgument) as caught:
        read(name)
    assert caught.value.reason == "DOCUMENT_VALUE_INVALID"
    assert "hors limites" in caught.value.message


def test_a_date_that_does_not_exist_is_a_value_error_not_a_missing_date():
    with pytest.raises(InvalidArgument) as caught:
        read("hostile/cii-invalid-date.xml")
    assert caught.value.reason == "DOCUMENT_VALUE_INVALID"
    assert "20240230" in caught.value.message
