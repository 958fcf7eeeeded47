"""A portal invoice as UN/CEFACT CII of the Factur-X EN 16931 profile.

Choices the domain leaves open, made here so the XML passes EN 16931:
- VAT category: ``S`` (standard) for a positive rate, ``E`` (exempt) for 0 %, with the
  exemption reason BT-120 the invoice gives, else :data:`DEFAULT_EXEMPTION_REASON` (BR-E-10);
- the seller's VAT number (BR-S-02) when the supplier registered none but has a French SIRET:
  the intra-community number derives from the SIREN (``FR`` + key + SIREN);
- payment terms (BR-CO-25: due date or terms when something is due): the invoice's own, else
  :data:`DEFAULT_PAYMENT_TERMS`.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from lxml import etree
from lxml.builder import ElementMaker

from chorus_invoices.documents.cii_reader import NAMESPACES
from chorus_invoices.documents.content import (
    FRAMEWORK_CODES,
    SIRET_SCHEME,
    TYPE_CODES,
    DocumentInvoice,
    DocumentLine,
    PartyDetails,
    StatedTotals,
)
from chorus_invoices.domain.invoice import InvoiceContent
from chorus_invoices.domain.totals import format_decimal, line_net, round_amount

EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
DEFAULT_EXEMPTION_REASON = "Exonération de TVA"
DEFAULT_PAYMENT_TERMS = "Paiement dans le délai légal de la commande publique."
_RSM = ElementMaker(namespace=NAMESPACES["rsm"], nsmap=NAMESPACES)
_RAM = ElementMaker(namespace=NAMESPACES["ram"], nsmap=NAMESPACES)
_UDT = ElementMaker(namespace=NAMESPACES["udt"], nsmap=NAMESPACES)


def document_from_content(
    content: InvoiceContent,
    seller: PartyDetails,
    buyer: PartyDetails,
    *,
    preceding_invoice: str = "",
    vat_exemption_reason: str = "",
) -> DocumentInvoice:
    """The document a portal invoice becomes; its amounts are the domain's own. BT-25 and
    BT-120 are the content's unless given here."""
    totals = content.totals()
    exempt = any(line.vat_rate == 0 for line in content.lines)
    return DocumentInvoice(
        number=content.number,
        type_code=TYPE_CODES[content.type.value],
        issue_date=content.issue_date,
        currency=content.currency,
        framework_code=FRAMEWORK_CODES[content.framework.value],
        service_code=content.service_code,
        engagement_number=content.engagement_number,
        payment_terms=content.payment_terms or DEFAULT_PAYMENT_TERMS,
        note=content.comment,
        preceding_invoice=preceding_invoice or content.preceding_invoice,
        vat_exemption_reason=(
            vat_exemption_reason or content.vat_exemption_reason or DEFAULT_EXEMPTION_REASON
        )
        if exempt
        else "",
        seller=_with_vat_number(seller),
        buyer=buyer,
        lines=tuple(
            DocumentLine(
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                vat_rate=line.vat_rate,
                vat_category=_category(line.vat_rate),
                net_amount=line_net(line.quantity, line.unit_price),
            )
            for line in content.lines
        ),
        totals=StatedTotals(
            line_total=totals.net_total,
            allowance_total=Decimal(0),
            charge_total=Decimal(0),
            tax_exclusive=totals.net_total,
            vat_total=totals.vat_total,
            gross_total=totals.gross_total,
            prepaid=Decimal(0),
            rounding=Decimal(0),
            amount_due=totals.amount_due,
            vat_breakdown=totals.vat_breakdown,
        ),
    )


def build_cii(invoice: DocumentInvoice) -> bytes:
    """The CII XML (UTF-8) of ``invoice``, Factur-X profile EN 16931."""
    root = _RSM.CrossIndustryInvoice(
        _RSM.ExchangedDocumentContext(
            _RAM.BusinessProcessSpecifiedDocumentContextParameter(_RAM.ID(invoice.framework_code)),
            _RAM.GuidelineSpecifiedDocumentContextParameter(_RAM.ID(EN16931_GUIDELINE)),
        ),
        _RSM.ExchangedDocument(
            _RAM.ID(invoice.number),
            _RAM.TypeCode(invoice.type_code),
            _RAM.IssueDateTime(
                _UDT.DateTimeString(invoice.issue_date.strftime("%Y%m%d"), format="102")
            ),
            *([_RAM.IncludedNote(_RAM.Content(invoice.note))] if invoice.note else []),
        ),
        _RSM.SupplyChainTradeTransaction(
            *(_line(i, line) for i, line in enumerate(invoice.lines, start=1)),
            _agreement(invoice),
            _RAM.ApplicableHeaderTradeDelivery(),
            _settlement(invoice),
        ),
    )
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def french_vat_number(siren: str) -> str:
    """The intra-community VAT number of a French company: FR, 2-digit key, SIREN."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def _with_vat_number(party: PartyDetails) -> PartyDetails:
    if party.vat_number or len(party.siret) != 14 or not party.siret.isdigit():
        return party
    if party.country not in ("", "FR"):
        return party
    return replace(party, vat_number=french_vat_number(party.siret[:9]))


def _category(rate: Decimal) -> str:
    return "S" if rate > 0 else "E"


def _amount(value: Decimal) -> str:
    return format_decimal(round_amount(value))


def _number(value: Decimal) -> str:
    return format_decimal(value.normalize())


def _line(position: int, line: DocumentLine) -> etree._Element:
    return _RAM.IncludedSupplyChainTradeLineItem(
        _RAM.AssociatedDocumentLineDocument(_RAM.LineID(str(position))),
        _RAM.SpecifiedTradeProduct(_RAM.Name(line.description)),
        _RAM.SpecifiedLineTradeAgreement(
            _RAM.NetPriceProductTradePrice(_RAM.ChargeAmount(_number(line.unit_price)))
        ),
        _RAM.SpecifiedLineTradeDelivery(
            _RAM.BilledQuantity(_number(line.quantity), unitCode=line.unit)
        ),
        _RAM.SpecifiedLineTradeSettlement(
            _RAM.ApplicableTradeTax(
                _RAM.TypeCode("VAT"),
                _RAM.CategoryCode(line.vat_category),
                _RAM.RateApplicablePercent(_number(line.vat_rate)),
            ),
            _RAM.SpecifiedTradeSettlementLineMonetarySummation(
                _RAM.LineTotalAmount(_amount(line.net_amount))
            ),
        ),
    )


def _party(party: PartyDetails) -> list[etree._Element]:
    parts = [_RAM.Name(party.name)]
    if party.siret:
        parts.append(_RAM.SpecifiedLegalOrganization(_RAM.ID(party.siret, schemeID=SIRET_SCHEME)))
    address = [
        *([_RAM.PostcodeCode(party.postal_code)] if party.postal_code else []),
        *([_RAM.LineOne(party.line1)] if party.line1 else []),
        *([_RAM.LineTwo(party.line2)] if party.line2 else []),
        *([_RAM.CityName(party.city)] if party.city else []),
        _RAM.CountryID(party.country or "FR"),
    ]
    parts.append(_RAM.PostalTradeAddress(*address))
    if party.email:
        parts.append(_RAM.URIUniversalCommunication(_RAM.URIID(party.email, schemeID="EM")))
    if party.vat_number:
        parts.append(_RAM.SpecifiedTaxRegistration(_RAM.ID(party.vat_number, schemeID="VA")))
    return parts


def _agreement(invoice: DocumentInvoice) -> etree._Element:
    return _RAM.ApplicableHeaderTradeAgreement(
        *([_RAM.BuyerReference(invoice.service_code)] if invoice.service_code else []),
        _RAM.SellerTradeParty(*_party(invoice.seller)),
        _RAM.BuyerTradeParty(*_party(invoice.buyer)),
        *(
            [_RAM.BuyerOrderReferencedDocument(_RAM.IssuerAssignedID(invoice.engagement_number))]
            if invoice.engagement_number
            else []
        ),
    )


def _settlement(invoice: DocumentInvoice) -> etree._Element:
    totals = invoice.totals
    taxes = [
        _RAM.ApplicableTradeTax(
            _RAM.CalculatedAmount(_amount(vat.amount)),
            _RAM.TypeCode("VAT"),
            *([_RAM.ExemptionReason(invoice.vat_exemption_reason)] if vat.rate == 0 else []),
            _RAM.BasisAmount(_amount(vat.base)),
            _RAM.CategoryCode(_category(vat.rate)),
            _RAM.RateApplicablePercent(_number(vat.rate)),
        )
        for vat in totals.vat_breakdown
    ]
    return _RAM.ApplicableHeaderTradeSettlement(
        _RAM.InvoiceCurrencyCode(invoice.currency),
        *taxes,
        *(
            [_RAM.SpecifiedTradePaymentTerms(_RAM.Description(invoice.payment_terms))]
            if invoice.payment_terms
            else []
        ),
        _RAM.SpecifiedTradeSettlementHeaderMonetarySummation(
            _RAM.LineTotalAmount(_amount(totals.line_total)),
            _RAM.TaxBasisTotalAmount(_amount(totals.tax_exclusive)),
            _RAM.TaxTotalAmount(_amount(totals.vat_total), currencyID=invoice.currency),
            _RAM.GrandTotalAmount(_amount(totals.gross_total)),
            _RAM.DuePayableAmount(_amount(totals.amount_due)),
        ),
        *(
            [_RAM.InvoiceReferencedDocument(_RAM.IssuerAssignedID(invoice.preceding_invoice))]
            if invoice.preceding_invoice
            else []
        ),
    )
