"""UBL 2.1 Invoice / CreditNote → :class:`DocumentInvoice`, business term by business term."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from chorus_invoices.documents.content import (
    SIRET_SCHEME,
    DocumentInvoice,
    DocumentLine,
    PartyDetails,
    StatedTotals,
)
from chorus_invoices.documents.xpaths import Reader
from chorus_invoices.domain.totals import VatAmount

NAMESPACES = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
# Root-relative paths work for both roots (Invoice, CreditNote); lines differ by name.
_LINES = "cac:InvoiceLine | cac:CreditNoteLine"
_QUANTITY = "cbc:InvoicedQuantity | cbc:CreditedQuantity"
_TOTALS = "cac:LegalMonetaryTotal"

UNSUPPORTED = {
    "cac:AllowanceCharge": "remises ou frais au niveau document (BG-20, BG-21)",
    "cac:InvoiceLine/cac:AllowanceCharge | cac:CreditNoteLine/cac:AllowanceCharge": "remises"
    " ou frais de ligne (BG-27, BG-28)",
}

_read = Reader(NAMESPACES)


def read(root: etree._Element) -> DocumentInvoice:
    currency = _read.text(root, "cbc:DocumentCurrencyCode")
    type_code = _read.text(root, "cbc:InvoiceTypeCode | cbc:CreditNoteTypeCode")
    return DocumentInvoice(
        number=_read.text(root, "cbc:ID"),
        type_code=type_code,
        issue_date=_read.date_value(root, "cbc:IssueDate"),
        currency=currency,
        framework_code=_read.text(root, "cbc:ProfileID"),
        service_code=_read.text(root, "cbc:BuyerReference"),
        engagement_number=_read.text(root, "cac:OrderReference/cbc:ID"),
        payment_terms=_read.text(root, "cac:PaymentTerms/cbc:Note"),
        note="\n".join(t for t in _read.texts(root, "cbc:Note") if t),
        preceding_invoice=_read.text(
            root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
        ),
        vat_exemption_reason=_read.text(
            root, "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason"
        ),
        seller=_party(_read.first(root, "cac:AccountingSupplierParty/cac:Party")),
        buyer=_party(_read.first(root, "cac:AccountingCustomerParty/cac:Party")),
        lines=tuple(_line(line) for line in _read.all(root, _LINES)),
        totals=_totals(root, currency),
    )


def _party(party: etree._Element | None) -> PartyDetails:
    if party is None:
        return PartyDetails(name="")
    address = _read.first(party, "cac:PostalAddress")
    siret = (
        _read.text(party, f"cac:PartyLegalEntity/cbc:CompanyID[@schemeID='{SIRET_SCHEME}']")
        or _read.text(party, f"cac:PartyIdentification/cbc:ID[@schemeID='{SIRET_SCHEME}']")
        or _read.text(party, f"cbc:EndpointID[@schemeID='{SIRET_SCHEME}']")
    )
    return PartyDetails(
        name=_read.text(party, "cac:PartyLegalEntity/cbc:RegistrationName")
        or _read.text(party, "cac:PartyName/cbc:Name"),
        siret=siret,
        vat_number=_read.text(
            party, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID"
        ),
        line1=_read.text(address, "cbc:StreetName"),
        line2=_read.text(address, "cbc:AdditionalStreetName"),
        postal_code=_read.text(address, "cbc:PostalZone"),
        city=_read.text(address, "cbc:CityName"),
        country=_read.text(address, "cac:Country/cbc:IdentificationCode"),
        email=_read.text(party, "cbc:EndpointID[@schemeID='EM']"),
    )


def _line(line: etree._Element) -> DocumentLine:
    price = _read.first(line, "cac:Price")
    tax = _read.first(line, "cac:Item/cac:ClassifiedTaxCategory")
    quantity = _read.first(line, _QUANTITY)
    base_quantity = _read.decimal(price, "cbc:BaseQuantity", default="1") or Decimal(1)
    return DocumentLine(
        description=_read.text(line, "cac:Item/cbc:Name"),
        quantity=_read.decimal(line, _QUANTITY),
        unit=quantity.get("unitCode", "") if quantity is not None else "",
        unit_price=_read.decimal(price, "cbc:PriceAmount") / base_quantity,
        vat_rate=_read.decimal(tax, "cbc:Percent"),
        vat_category=_read.text(tax, "cbc:ID"),
        net_amount=_read.decimal(line, "cbc:LineExtensionAmount"),
    )


def _totals(root: etree._Element, currency: str) -> StatedTotals:
    totals = _read.first(root, _TOTALS)
    # BT-110 is the TaxTotal in the invoice currency (a second one may be in BT-6's).
    tax_totals = _read.all(root, "cac:TaxTotal")
    in_currency = [
        t for t in tax_totals if _currency_of(_read.first(t, "cbc:TaxAmount")) in ("", currency)
    ]
    tax_total = (in_currency or tax_totals or [None])[0]
    breakdown = tuple(
        VatAmount(
            rate=_read.decimal(subtotal, "cac:TaxCategory/cbc:Percent"),
            base=_read.decimal(subtotal, "cbc:TaxableAmount"),
            amount=_read.decimal(subtotal, "cbc:TaxAmount"),
        )
        for subtotal in (_read.all(tax_total, "cac:TaxSubtotal") if tax_total is not None else [])
    )
    return StatedTotals(
        line_total=_read.decimal(totals, "cbc:LineExtensionAmount"),
        allowance_total=_read.decimal(totals, "cbc:AllowanceTotalAmount"),
        charge_total=_read.decimal(totals, "cbc:ChargeTotalAmount"),
        tax_exclusive=_read.decimal(totals, "cbc:TaxExclusiveAmount"),
        vat_total=_read.decimal(tax_total, "cbc:TaxAmount"),
        gross_total=_read.decimal(totals, "cbc:TaxInclusiveAmount"),
        prepaid=_read.decimal(totals, "cbc:PrepaidAmount"),
        rounding=_read.decimal(totals, "cbc:PayableRoundingAmount"),
        amount_due=_read.decimal(totals, "cbc:PayableAmount"),
        vat_breakdown=breakdown,
    )


def _currency_of(amount: etree._Element | None) -> str:
    return amount.get("currencyID", "") if amount is not None else ""
