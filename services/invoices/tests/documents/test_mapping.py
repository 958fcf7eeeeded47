"""From a file to the domain: mapping.read_model, and Chorus' own checks on the model
(domain/validation.validate_model: buyer by SIRET, number, framework, header arithmetic,
line-level warnings)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from chorus_invoices.documents.formats import detect
from chorus_invoices.documents.mapping import read_model
from chorus_invoices.domain import en16931
from chorus_invoices.domain.invoice import Framework, InvoiceType, framework_name
from chorus_invoices.domain.totals import totals_of
from chorus_invoices.domain.validation import buyer_siret, seller_siret, validate_model
from chorus_platform.errors import InvalidArgument

from .conftest import corpus_file

TODAY = date(2024, 12, 31)


def read(name: str, edit=None) -> en16931.Invoice:
    data = corpus_file(name)
    if edit:
        data = edit(data.decode()).encode()
    return read_model(detect(data))


def test_ubl_invoice_business_terms():
    invoice = read("valid/ubl-invoice.xml")
    assert (invoice.number, invoice.type_code, invoice.issue_date) == (
        "UBL-2024-0042",
        "380",
        date(2024, 5, 2),
    )
    assert (invoice.buyer_reference, invoice.purchase_order_reference) == (
        "SERV-TECH",
        "EJ-2024-117",
    )
    assert seller_siret(invoice) == "33738480410006"
    assert invoice.seller.vat_identifier == "FR67337384804"
    assert invoice.seller.name == "Atelier Dupont SARL"
    assert (buyer_siret(invoice), invoice.buyer.address.city) == (
        "26197306910005",
        "Valmont-sur-Loire",
    )
    assert invoice.payment_terms == "Paiement à 30 jours par virement."
    assert [
        (line.quantity, line.unit, line.price.net_price, line.vat_rate) for line in invoice.lines
    ] == [
        (6, "HUR", Decimal("65.00"), 20),
        (2, "C62", Decimal("148.50"), 20),
        (4, "C62", Decimal("12.35"), Decimal("5.5")),
    ]
    assert totals_of(invoice).gross_total == Decimal("876.52")
    assert [(v.rate, v.base, v.amount) for v in totals_of(invoice).vat_breakdown] == [
        (20, Decimal("687.00"), Decimal("137.40")),
        (Decimal("5.5"), Decimal("49.40"), Decimal("2.72")),
    ]


def test_ubl_credit_note_is_an_avoir_referencing_its_invoice():
    invoice = read("valid/ubl-credit-note.xml")
    assert (invoice.type_code, invoice.preceding_invoices[0].number) == ("381", "UBL-2024-0042")
    assert validate_model(invoice, "supplier-1", TODAY).content.type is InvoiceType.AVOIR
    assert invoice.lines[0].quantity == 1


def test_cii_invoice_business_terms():
    invoice = read("valid/cii-invoice.xml")
    assert (invoice.number, invoice.issue_date) == ("BEM-2024-318", date(2024, 6, 10))
    assert (invoice.buyer_reference, invoice.purchase_order_reference) == (
        "DIR-TRAVAUX",
        "EJ-CH-2024-55",
    )
    assert (seller_siret(invoice), buyer_siret(invoice)) == ("14026066210005", "17500669110009")
    exempt = [v for v in invoice.vat_breakdown if v.category == "E"]
    assert exempt[0].exemption_reason == "Exonération, article 261-4-4° du CGI"
    assert [line.vat_category for line in invoice.lines] == ["S", "E", "S"]
    assert [n.text for n in invoice.notes] == [
        "Mission d'assistance à maîtrise d'ouvrage, phase 1."
    ]


@pytest.mark.parametrize("name", ["valid/ubl-invoice.xml", "valid/cii-invoice.xml"])
def test_the_model_is_what_chorus_deposits(name):
    invoice = read(name)
    valid = validate_model(invoice, "supplier-1", TODAY)
    assert (valid.recipient.identifier_type, valid.recipient.identifier) == (
        "SIRET",
        buyer_siret(invoice),
    )
    content = valid.content
    assert content.document == invoice
    assert content.framework is Framework.A1_FACTURE_FOURNISSEUR
    assert content.type is InvoiceType.FACTURE
    assert content.totals().gross_total == invoice.totals.tax_inclusive
    assert [line.description for line in content.lines] == [
        line.item.name for line in invoice.lines
    ]
    assert valid.warnings == ()


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

    assert buyer_siret(read("valid/ubl-invoice.xml", edit)) == "26197306910005"


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

    assert buyer_siret(read("valid/cii-invoice.xml", edit)) == "17500669110009"


def test_price_per_base_quantity_is_a_unit_price():
    def edit(text: str) -> str:
        return text.replace(
            "<ram:ChargeAmount>0.12</ram:ChargeAmount>",
            "<ram:ChargeAmount>12.00</ram:ChargeAmount>"
            '<ram:BasisQuantity unitCode="C62">100</ram:BasisQuantity>',
        )

    invoice = read("valid/cii-invoice.xml", edit)
    valid = validate_model(invoice, "supplier-1", TODAY)
    assert valid.content.lines[2].unit_price == Decimal("0.12")
    assert valid.warnings == ()  # 100 units at 12.00 per 100: the line net holds


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


def test_an_unknown_framework_is_refused_and_any_type_code_kept():
    def edit(text: str) -> str:
        return text.replace(
            "<cbc:ProfileID>A1</cbc:ProfileID>", "<cbc:ProfileID>A5</cbc:ProfileID>"
        ).replace(
            "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>",
            "<cbc:InvoiceTypeCode>384</cbc:InvoiceTypeCode>",
        )

    invoice = read("valid/ubl-invoice.xml", edit)
    with pytest.raises(InvalidArgument) as caught:
        validate_model(invoice, "supplier-1", TODAY)
    assert {v.field for v in caught.value.violations} == {"framework"}
    # 384 (corrected invoice) is a code EN 16931 allows: an invoice, its code kept.
    valid = validate_model(replace(invoice, business_process="A1"), "supplier-1", TODAY)
    assert (valid.content.type, valid.content.type_code) == (InvoiceType.FACTURE, "384")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("380", "FACTURE"),
        ("389", "FACTURE"),
        ("386", "FACTURE"),
        ("381", "AVOIR"),
        ("396", "AVOIR"),
    ],
)
def test_type_codes_map_to_facture_or_avoir(code, kind):
    invoice = replace(read("valid/ubl-invoice.xml"), type_code=code)
    content = validate_model(invoice, "supplier-1", TODAY).content
    assert (content.type.value, content.invoice_type_code) == (kind, code)


def test_header_arithmetic_is_checked_on_the_stated_values():
    invoice = read("valid/cii-invoice.xml")
    stated = replace(invoice.totals, vat_total=Decimal("513.59"), tax_inclusive=Decimal("4281.59"))
    with pytest.raises(InvalidArgument) as caught:
        validate_model(replace(invoice, totals=stated), "supplier-1", TODAY)
    assert caught.value.reason == "EN16931_RULES_FAILED"
    assert [v.field for v in caught.value.violations] == ["BR-CO-14", "BR-CO-16"]
    assert caught.value.violations[0].description.startswith("[BR-CO-14]")
    assert "513.59" in caught.value.violations[0].description
    assert caught.value.metadata["rules"] == "BR-CO-14,BR-CO-16"


def test_a_line_net_that_differs_from_quantity_times_price_is_a_warning():
    invoice = read("valid/ubl-line-net-differs.xml")
    valid = validate_model(invoice, "supplier-1", TODAY)
    (warning,) = valid.warnings
    assert (warning.rule_id, warning.location, warning.fatal) == (
        "CHORUS-LINE-NET",
        "lines[1].net_amount",
        False,
    )
    assert "297.00" in warning.message and "297.10" in warning.message
    assert valid.content.lines[1].net_amount == Decimal("297.00")  # as the file states it


def test_prepaid_rounding_and_allowances_are_carried_not_refused():
    def edit(text: str) -> str:
        return text.replace(
            '<cbc:PayableAmount currencyID="EUR">876.52</cbc:PayableAmount>',
            '<cbc:PrepaidAmount currencyID="EUR">100.00</cbc:PrepaidAmount>\n'
            '    <cbc:PayableRoundingAmount currencyID="EUR">0.48</cbc:PayableRoundingAmount>\n'
            '    <cbc:PayableAmount currencyID="EUR">777.00</cbc:PayableAmount>',
        )

    invoice = read("valid/ubl-invoice.xml", edit)
    totals = validate_model(invoice, "supplier-1", TODAY).content.totals()
    assert (totals.prepaid, totals.rounding, totals.amount_due) == (
        Decimal("100.00"),
        Decimal("0.48"),
        Decimal("777.00"),
    )
    allowance = read("valid/ubl-document-allowance.xml")
    totals = validate_model(allowance, "supplier-1", TODAY).content.totals()
    assert (totals.allowance_total, totals.net_total) == (Decimal("10.00"), Decimal("726.40"))


def test_a_buyer_without_siret_cannot_be_routed():
    invoice = read("valid/ubl-invoice.xml")
    anonymous = replace(
        invoice,
        buyer=replace(invoice.buyer, legal_registration=en16931.Identifier("261973069", "0002")),
    )
    with pytest.raises(InvalidArgument) as caught:
        validate_model(anonymous, "supplier-1", TODAY)
    assert [v.field for v in caught.value.violations] == ["recipient"]


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
        assert read("valid/ubl-invoice.xml", edit).lines[0].price.net_price == Decimal(value)
        return
    with pytest.raises(InvalidArgument) as caught:
        read("valid/ubl-invoice.xml", edit)
    too_large = "." not in value  # integer digits beyond the bound, else too many decimals
    assert caught.value.reason == ("AMOUNT_TOO_LARGE" if too_large else "DOCUMENT_VALUE_INVALID")
    assert caught.value.violations[0].field.endswith("cac:Price[1]/cbc:PriceAmount")


@pytest.mark.parametrize(
    "name", ["hostile/ubl-amount-30-digits.xml", "hostile/ubl-absurd-quantity.xml"]
)
def test_hostile_amounts_are_refused_by_the_reading_itself(name):
    # The schematron refuses these first (expected.toml); the reading alone must too.
    with pytest.raises(InvalidArgument) as caught:
        read(name)
    assert caught.value.reason == "AMOUNT_TOO_LARGE"
    assert "hors limites" in caught.value.message


def test_a_date_that_does_not_exist_is_a_value_error_not_a_missing_date():
    with pytest.raises(InvalidArgument) as caught:
        read("hostile/cii-invalid-date.xml")
    assert caught.value.reason == "DOCUMENT_VALUE_INVALID"
    assert "20240230" in caught.value.message
