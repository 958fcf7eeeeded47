"""UN/CEFACT CII (Factur-X) → :class:`DocumentInvoice`, business term by business term."""

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
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
_TX = "rsm:SupplyChainTradeTransaction"
_AGREEMENT = f"{_TX}/ram:ApplicableHeaderTradeAgreement"
_SETTLEMENT = f"{_TX}/ram:ApplicableHeaderTradeSettlement"
_SUMMATION = "ram:SpecifiedTradeSettlementHeaderMonetarySummation"

# Features of EN 16931 that the invoices domain does not carry: reading past them would
# store an invoice that differs from the document.
UNSUPPORTED = {
    f"{_SETTLEMENT}/ram:SpecifiedTradeAllowanceCharge": "remises ou frais au niveau document"
    " (BG-20, BG-21)",
    f"{_TX}/ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeSettlement"
    "/ram:SpecifiedTradeAllowanceCharge": "remises ou frais de ligne (BG-27, BG-28)",
}

_read = Reader(NAMESPACES)


def read(root: etree._Element) -> DocumentInvoice:
    document = _read.first(root, "rsm:ExchangedDocument")
    agreement = _read.first(root, _AGREEMENT)
    settlement = _read.first(root, _SETTLEMENT)
    currency = _read.text(settlement, "ram:InvoiceCurrencyCode")
    return DocumentInvoice(
        number=_read.text(document, "ram:ID"),
        type_code=_read.text(document, "ram:TypeCode"),
        issue_date=_read.date_value(document, "ram:IssueDateTime/udt:DateTimeString"),
        currency=currency,
        framework_code=_read.text(
            root,
            "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter"
            "/ram:ID",
        ),
        service_code=_read.text(agreement, "ram:BuyerReference"),
        engagement_number=_read.text(
            agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"
        ),
        payment_terms=_read.text(settlement, "ram:SpecifiedTradePaymentTerms/ram:Description"),
        note="\n".join(
            t for t in _read.texts(root, "rsm:ExchangedDocument/ram:IncludedNote/ram:Content") if t
        ),
        preceding_invoice=_read.text(
            settlement, "ram:InvoiceReferencedDocument/ram:IssuerAssignedID"
        ),
        vat_exemption_reason=_read.text(settlement, "ram:ApplicableTradeTax/ram:ExemptionReason"),
        seller=_party(_read.first(root, f"{_AGREEMENT}/ram:SellerTradeParty")),
        buyer=_party(_read.first(root, f"{_AGREEMENT}/ram:BuyerTradeParty")),
        lines=tuple(
            _line(item) for item in _read.all(root, f"{_TX}/ram:IncludedSupplyChainTradeLineItem")
        ),
        totals=_totals(settlement, currency),
    )


def _party(party: etree._Element | None) -> PartyDetails:
    if party is None:
        return PartyDetails(name="")
    address = _read.first(party, "ram:PostalTradeAddress")
    siret = (
        _read.text(party, f"ram:SpecifiedLegalOrganization/ram:ID[@schemeID='{SIRET_SCHEME}']")
        or _read.text(party, f"ram:GlobalID[@schemeID='{SIRET_SCHEME}']")
        or _read.text(party, f"ram:URIUniversalCommunication/ram:URIID[@schemeID='{SIRET_SCHEME}']")
    )
    return PartyDetails(
        name=_read.text(party, "ram:Name"),
        siret=siret,
        vat_number=_read.text(party, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"),
        line1=_read.text(address, "ram:LineOne"),
        line2=_read.text(address, "ram:LineTwo"),
        postal_code=_read.text(address, "ram:PostcodeCode"),
        city=_read.text(address, "ram:CityName"),
        country=_read.text(address, "ram:CountryID"),
        email=_read.text(party, "ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']"),
    )


def _line(item: etree._Element) -> DocumentLine:
    price = _read.first(item, "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice")
    tax = _read.first(item, "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax")
    quantity = _read.first(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")
    base_quantity = _read.decimal(price, "ram:BasisQuantity", default="1") or Decimal(1)
    return DocumentLine(
        description=_read.text(item, "ram:SpecifiedTradeProduct/ram:Name"),
        quantity=_read.decimal(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"),
        unit=quantity.get("unitCode", "") if quantity is not None else "",
        unit_price=_read.decimal(price, "ram:ChargeAmount") / base_quantity,
        vat_rate=_read.decimal(tax, "ram:RateApplicablePercent"),
        vat_category=_read.text(tax, "ram:CategoryCode"),
        net_amount=_read.decimal(
            item,
            "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation"
            "/ram:LineTotalAmount",
        ),
    )


def _totals(settlement: etree._Element | None, currency: str) -> StatedTotals:
    summation = _read.first(settlement, _SUMMATION) if settlement is not None else None
    # BT-110 is the TaxTotalAmount in the invoice currency (a second one may be in BT-6's).
    vat_totals = _read.all(summation, "ram:TaxTotalAmount") if summation is not None else []
    in_currency = [a for a in vat_totals if a.get("currencyID", currency) == currency]
    vat_total = _read.decimal((in_currency or vat_totals or [None])[0], ".")
    breakdown = tuple(
        VatAmount(
            rate=_read.decimal(tax, "ram:RateApplicablePercent"),
            base=_read.decimal(tax, "ram:BasisAmount"),
            amount=_read.decimal(tax, "ram:CalculatedAmount"),
        )
        for tax in (
            _read.all(settlement, "ram:ApplicableTradeTax") if settlement is not None else []
        )
    )
    return StatedTotals(
        line_total=_read.decimal(summation, "ram:LineTotalAmount"),
        allowance_total=_read.decimal(summation, "ram:AllowanceTotalAmount"),
        charge_total=_read.decimal(summation, "ram:ChargeTotalAmount"),
        tax_exclusive=_read.decimal(summation, "ram:TaxBasisTotalAmount"),
        vat_total=vat_total,
        gross_total=_read.decimal(summation, "ram:GrandTotalAmount"),
        prepaid=_read.decimal(summation, "ram:TotalPrepaidAmount"),
        rounding=_read.decimal(summation, "ram:RoundingAmount"),
        amount_due=_read.decimal(summation, "ram:DuePayableAmount"),
        vat_breakdown=breakdown,
    )
