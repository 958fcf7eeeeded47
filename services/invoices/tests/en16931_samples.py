"""EN 16931 models written for the tests of issue 10 (every valid invoice goes in): built
here, written out with ``documents/ubl_writer.write_model`` and deposited like any file."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

from chorus_invoices.documents.content import french_vat_number
from chorus_invoices.domain import en16931 as m

SELLER_SIRET, BUYER_SIRET = "33738480410006", "26197306910005"


def seller(siret: str = SELLER_SIRET) -> m.Seller:
    return m.Seller(
        name="Atelier Dupont SARL",
        legal_registration=m.Identifier(siret, "0009"),
        vat_identifier=french_vat_number(siret[:9]),
        address=m.Address(line1="3 rue des Lilas", city="Lyon", postal_code="69003", country="FR"),
    )


def buyer(siret: str = BUYER_SIRET) -> m.Buyer:
    return m.Buyer(
        name="Commune de Valmont",
        legal_registration=m.Identifier(siret, "0009"),
        address=m.Address(city="Valmont", postal_code="76540", country="FR"),
    )


def line(
    identifier: str,
    quantity: str,
    price: str,
    category: str,
    rate: str,
    net: str | None = None,
    name: str = "Prestation",
) -> m.Line:
    return m.Line(
        identifier=identifier,
        quantity=D(quantity),
        unit="C62",
        net_amount=D(net) if net is not None else (D(quantity) * D(price)).quantize(D("0.01")),
        price=m.Price(net_price=D(price)),
        vat_category=category,
        vat_rate=D(rate),
        item=m.Item(name=name),
    )


def rich_invoice(number: str = "AUTO-389-1", **changes) -> m.Invoice:
    """A self-billed invoice (389) with what Chorus once refused: document allowance and
    charge, prepaid and rounding amounts, a 19 % rate, a zero-rated (Z) line without exemption
    reason (BR-Z-10) and an exempt (E) line with an exemption code only (BR-E-10)."""
    invoice = m.Invoice(
        number=number,
        issue_date=date(2025, 5, 1),
        type_code="389",
        currency="EUR",
        seller=seller(),
        buyer=buyer(),
        business_process="A1",
        due_date=date(2025, 6, 1),
        buyer_reference="SERV-TECH",
        purchase_order_reference="EJ-2025-9",
        contract_reference="MARCHE-2025-01",
        notes=(m.Note("Autofacturation selon mandat du 2 janvier 2025."),),
        payment_instructions=m.PaymentInstructions(
            means_code="30",
            credit_transfers=(m.CreditTransfer(account="FR7630006000011234567890189"),),
        ),
        lines=(
            line("1", "10", "100.00", "S", "19"),
            line("2", "2", "50.00", "Z", "0"),
            line("3", "1", "300.00", "E", "0"),
        ),
        allowances_charges=(
            m.AllowanceCharge(
                charge=False,
                amount=D("50.00"),
                vat_category="S",
                vat_rate=D("19"),
                reason="Remise globale",
                reason_code="95",
            ),
            m.AllowanceCharge(
                charge=True,
                amount=D("20.00"),
                vat_category="S",
                vat_rate=D("19"),
                reason="Frais de port",
                reason_code="FC",
            ),
        ),
        vat_breakdown=(
            m.VatBreakdown("S", D("970.00"), D("184.30"), D("19")),
            m.VatBreakdown("Z", D("100.00"), D("0.00"), D("0")),
            m.VatBreakdown(
                "E", D("300.00"), D("0.00"), D("0"), exemption_reason_code="VATEX-EU-132"
            ),
        ),
        totals=m.DocumentTotals(
            line_total=D("1400.00"),
            allowance_total=D("50.00"),
            charge_total=D("20.00"),
            tax_exclusive=D("1370.00"),
            vat_total=D("184.30"),
            tax_inclusive=D("1554.30"),
            prepaid=D("500.00"),
            rounding=D("0.20"),
            amount_due=D("1054.50"),
        ),
    )
    return replace(invoice, **changes)


def credit_note(number: str = "AV-SANS-REF") -> m.Invoice:
    """A credit note (381) naming no preceding invoice (BT-25 is optional)."""
    return m.Invoice(
        number=number,
        issue_date=date(2025, 5, 2),
        type_code="381",
        currency="EUR",
        seller=seller(),
        buyer=buyer(),
        business_process="A1",
        buyer_reference="SERV-TECH",
        payment_terms="Compensé sur la prochaine facture.",
        lines=(line("1", "1", "80.00", "S", "20"),),
        vat_breakdown=(m.VatBreakdown("S", D("80.00"), D("16.00"), D("20")),),
        totals=m.DocumentTotals(
            line_total=D("80.00"),
            tax_exclusive=D("80.00"),
            vat_total=D("16.00"),
            tax_inclusive=D("96.00"),
            amount_due=D("96.00"),
        ),
    )


def line_net_differs(number: str = "LIGNE-ECART") -> m.Invoice:
    """Line 2 states 29.00 where 3 × 10.00 gives 30.00; every sum follows the stated amounts."""
    return m.Invoice(
        number=number,
        issue_date=date(2025, 5, 3),
        type_code="380",
        currency="EUR",
        seller=seller(),
        buyer=buyer(),
        business_process="A1",
        buyer_reference="SERV-TECH",
        payment_terms="30 jours fin de mois.",
        lines=(line("1", "1", "100.00", "S", "20"), line("2", "3", "10.00", "S", "20", "29.00")),
        vat_breakdown=(m.VatBreakdown("S", D("129.00"), D("25.80"), D("20")),),
        totals=m.DocumentTotals(
            line_total=D("129.00"),
            tax_exclusive=D("129.00"),
            vat_total=D("25.80"),
            tax_inclusive=D("154.80"),
            amount_due=D("154.80"),
        ),
    )
