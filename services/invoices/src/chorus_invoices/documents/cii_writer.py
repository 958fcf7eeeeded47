"""The EN 16931 model as UN/CEFACT CII D16B (EN 16931-3-3), the XML of a Factur-X
(EN 16931 profile): :func:`write_model`, every term the model states, amounts as it holds
them. A portal invoice's model (or, for one stored before the model was kept,
``content.model_of_content``) is written this way; nothing else writes CII.
"""

from __future__ import annotations

import base64
import re
from datetime import date
from decimal import Decimal

from lxml import etree
from lxml.builder import ElementMaker

from chorus_invoices.documents import cii_reader
from chorus_invoices.documents.cii_reader import NAMESPACES
from chorus_invoices.domain import en16931

_RSM = ElementMaker(namespace=NAMESPACES["rsm"], nsmap=NAMESPACES)
_RAM = ElementMaker(namespace=NAMESPACES["ram"], nsmap=NAMESPACES)
_UDT = ElementMaker(namespace=NAMESPACES["udt"], nsmap=NAMESPACES)
_QDT = ElementMaker(namespace=NAMESPACES["qdt"], nsmap=NAMESPACES)

# Element order follows the CII D16B XSD (and the Factur-X EN 16931 profile's restriction of
# it). Binding choices, each read back the same by :func:`cii_reader.read_model`:
# - an identifier without a scheme is ``ram:ID``, with a scheme ``ram:GlobalID/@schemeID``
#   (BT-29, BT-46, BT-60, BT-71), so a seller's identifiers come back schemeless first;
# - each credit transfer (BG-17) is its own ``SpecifiedTradeSettlementPaymentMeans`` with the
#   same BT-81/BT-82; the card (BG-18) and the debited account (BT-91) go on the first;
# - BT-84 is ``IBANID`` when it has the shape of an IBAN, else ``ProprietaryID``;
# - BT-7 / BT-8 are stated on every VAT breakdown (BT-8 as its UNTDID 2475 code);
# - BT-11 carries the name ``Project reference`` (the XSD requires one; it is no BT).


def write_model(invoice: en16931.Invoice) -> bytes:
    """The CII D16B XML (UTF-8) of an EN 16931 invoice, every term it states, amounts exactly
    as the model holds them; ``cii_reader.read_model`` of it gives the model back."""
    root = _RSM.CrossIndustryInvoice(
        _RSM.ExchangedDocumentContext(
            *_maybe(
                invoice.business_process,
                lambda v: _RAM.BusinessProcessSpecifiedDocumentContextParameter(_RAM.ID(v)),
            ),
            _RAM.GuidelineSpecifiedDocumentContextParameter(
                _RAM.ID(invoice.specification_identifier)
            ),
        ),
        _RSM.ExchangedDocument(
            _RAM.ID(invoice.number),
            _RAM.TypeCode(invoice.type_code),
            _RAM.IssueDateTime(_date_time(invoice.issue_date)),
            *(
                _RAM.IncludedNote(
                    _RAM.Content(note.text), *_maybe(note.subject_code, _RAM.SubjectCode)
                )
                for note in invoice.notes
            ),
        ),
        _RSM.SupplyChainTradeTransaction(
            *(_model_line(line) for line in invoice.lines),
            _model_agreement(invoice),
            _model_delivery(invoice),
            _model_settlement(invoice),
        ),
    )
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)


IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
PROJECT_NAME = "Project reference"


def _maybe(value, build) -> list[etree._Element]:
    """``[build(value)]`` when the term is stated, else nothing."""
    if value is None or value == "" or value == ():
        return []
    return [build(value)]


def _text(value: Decimal) -> str:
    """A number exactly as the model holds it (plain notation, trailing zeros kept)."""
    return format(value, "f")


def _date_time(value: date) -> etree._Element:
    return _UDT.DateTimeString(value.strftime("%Y%m%d"), format="102")


def _date_only(value: date) -> etree._Element:
    return _UDT.DateString(value.strftime("%Y%m%d"), format="102")


def _schemed(tag, identifier: en16931.Identifier) -> etree._Element:
    element = tag(identifier.value)
    if identifier.scheme:
        element.set("schemeID", identifier.scheme)
    return element


def _party_ids(identifiers) -> list[etree._Element]:
    """Schemeless identifiers as ``ram:ID``, the others as ``ram:GlobalID`` (XSD order)."""
    ids = [_RAM.ID(i.value) for i in identifiers if not i.scheme]
    globals_ = [_RAM.GlobalID(i.value, schemeID=i.scheme) for i in identifiers if i.scheme]
    return ids + globals_


def _model_address(address: en16931.Address) -> list[etree._Element]:
    if address == en16931.Address():
        return []
    return [
        _RAM.PostalTradeAddress(
            *_maybe(address.postal_code, _RAM.PostcodeCode),
            *_maybe(address.line1, _RAM.LineOne),
            *_maybe(address.line2, _RAM.LineTwo),
            *_maybe(address.line3, _RAM.LineThree),
            *_maybe(address.city, _RAM.CityName),
            _RAM.CountryID(address.country),
            *_maybe(address.subdivision, _RAM.CountrySubDivisionName),
        )
    ]


def _model_contact(contact: en16931.Contact | None) -> list[etree._Element]:
    if contact is None:
        return []
    return [
        _RAM.DefinedTradeContact(
            *_maybe(contact.point, _RAM.PersonName),
            *_maybe(
                contact.telephone,
                lambda v: _RAM.TelephoneUniversalCommunication(_RAM.CompleteNumber(v)),
            ),
            *_maybe(contact.email, lambda v: _RAM.EmailURIUniversalCommunication(_RAM.URIID(v))),
        )
    ]


def _legal_organization(
    registration: en16931.Identifier | None, trading_name: str = ""
) -> list[etree._Element]:
    if registration is None and not trading_name:
        return []
    return [
        _RAM.SpecifiedLegalOrganization(
            *([_schemed(_RAM.ID, registration)] if registration is not None else []),
            *_maybe(trading_name, _RAM.TradingBusinessName),
        )
    ]


def _electronic_address(address: en16931.Identifier | None) -> list[etree._Element]:
    if address is None:
        return []
    return [_RAM.URIUniversalCommunication(_schemed(_RAM.URIID, address))]


def _tax_registrations(*pairs: tuple[str, str]) -> list[etree._Element]:
    return [
        _RAM.SpecifiedTaxRegistration(_RAM.ID(value, schemeID=scheme))
        for value, scheme in pairs
        if value
    ]


def _model_seller(seller: en16931.Seller) -> etree._Element:
    return _RAM.SellerTradeParty(
        *_party_ids(seller.identifiers),
        _RAM.Name(seller.name),
        *_maybe(seller.additional_legal_information, _RAM.Description),
        *_legal_organization(seller.legal_registration, seller.trading_name),
        *_model_contact(seller.contact),
        *_model_address(seller.address),
        *_electronic_address(seller.electronic_address),
        *_tax_registrations((seller.vat_identifier, "VA"), (seller.tax_registration, "FC")),
    )


def _model_buyer(buyer: en16931.Buyer) -> etree._Element:
    return _RAM.BuyerTradeParty(
        *_party_ids([buyer.identifier] if buyer.identifier is not None else []),
        _RAM.Name(buyer.name),
        *_legal_organization(buyer.legal_registration, buyer.trading_name),
        *_model_contact(buyer.contact),
        *_model_address(buyer.address),
        *_electronic_address(buyer.electronic_address),
        *_tax_registrations((buyer.vat_identifier, "VA")),
    )


def _referenced(tag, reference: str) -> list[etree._Element]:
    return _maybe(reference, lambda v: tag(_RAM.IssuerAssignedID(v)))


def _model_agreement(invoice: en16931.Invoice) -> etree._Element:
    representative = invoice.tax_representative
    additional = [
        _RAM.AdditionalReferencedDocument(
            _RAM.IssuerAssignedID(document.reference),
            *_maybe(document.external_location, _RAM.URIID),
            _RAM.TypeCode(cii_reader.SUPPORTING_TYPE_CODE),
            *_maybe(document.description, _RAM.Name),
            *(
                [
                    _RAM.AttachmentBinaryObject(
                        base64.b64encode(document.content).decode("ascii"),
                        mimeCode=document.mime_code,
                        filename=document.filename,
                    )
                ]
                if document.content is not None
                else []
            ),
        )
        for document in invoice.supporting_documents
    ]
    if invoice.tender_reference:
        additional.append(
            _RAM.AdditionalReferencedDocument(
                _RAM.IssuerAssignedID(invoice.tender_reference),
                _RAM.TypeCode(cii_reader.TENDER_TYPE_CODE),
            )
        )
    if invoice.invoiced_object is not None:
        additional.append(
            _RAM.AdditionalReferencedDocument(
                _RAM.IssuerAssignedID(invoice.invoiced_object.value),
                _RAM.TypeCode(cii_reader.OBJECT_TYPE_CODE),
                *_maybe(invoice.invoiced_object.scheme, _RAM.ReferenceTypeCode),
            )
        )
    return _RAM.ApplicableHeaderTradeAgreement(
        *_maybe(invoice.buyer_reference, _RAM.BuyerReference),
        _model_seller(invoice.seller),
        _model_buyer(invoice.buyer),
        *(
            [
                _RAM.SellerTaxRepresentativeTradeParty(
                    _RAM.Name(representative.name),
                    *_model_address(representative.address),
                    *_tax_registrations((representative.vat_identifier, "VA")),
                )
            ]
            if representative is not None
            else []
        ),
        *_referenced(_RAM.SellerOrderReferencedDocument, invoice.sales_order_reference),
        *_referenced(_RAM.BuyerOrderReferencedDocument, invoice.purchase_order_reference),
        *_referenced(_RAM.ContractReferencedDocument, invoice.contract_reference),
        *additional,
        *_maybe(
            invoice.project_reference,
            lambda v: _RAM.SpecifiedProcuringProject(_RAM.ID(v), _RAM.Name(PROJECT_NAME)),
        ),
    )


def _model_delivery(invoice: en16931.Invoice) -> etree._Element:
    delivery = invoice.delivery
    parts: list[etree._Element] = []
    if delivery is not None:
        if delivery.party_name or delivery.location is not None or delivery.address is not None:
            parts.append(
                _RAM.ShipToTradeParty(
                    *_party_ids([delivery.location] if delivery.location is not None else []),
                    *_maybe(delivery.party_name, _RAM.Name),
                    *(_model_address(delivery.address) if delivery.address is not None else []),
                )
            )
        if delivery.date is not None:
            parts.append(
                _RAM.ActualDeliverySupplyChainEvent(
                    _RAM.OccurrenceDateTime(_date_time(delivery.date))
                )
            )
    return _RAM.ApplicableHeaderTradeDelivery(
        *parts,
        *_referenced(_RAM.DespatchAdviceReferencedDocument, invoice.despatch_advice_reference),
        *_referenced(_RAM.ReceivingAdviceReferencedDocument, invoice.receiving_advice_reference),
    )


def _period(period: en16931.Period | None) -> list[etree._Element]:
    if period is None:
        return []
    return [
        _RAM.BillingSpecifiedPeriod(
            *_maybe(period.start, lambda v: _RAM.StartDateTime(_date_time(v))),
            *_maybe(period.end, lambda v: _RAM.EndDateTime(_date_time(v))),
        )
    ]


def _payment_means(payment: en16931.PaymentInstructions | None) -> list[etree._Element]:
    if payment is None:
        return []
    debited = payment.direct_debit.debited_account if payment.direct_debit is not None else ""
    transfers: list[en16931.CreditTransfer | None] = list(payment.credit_transfers) or [None]
    means = []
    for position, transfer in enumerate(transfers):
        first = position == 0
        means.append(
            _RAM.SpecifiedTradeSettlementPaymentMeans(
                _RAM.TypeCode(payment.means_code),
                *_maybe(payment.means_text, _RAM.Information),
                *(
                    [
                        _RAM.ApplicableTradeSettlementFinancialCard(
                            _RAM.ID(payment.card.primary_account_number),
                            *_maybe(payment.card.holder_name, _RAM.CardholderName),
                        )
                    ]
                    if first and payment.card is not None
                    else []
                ),
                *(
                    [_RAM.PayerPartyDebtorFinancialAccount(_RAM.IBANID(debited))]
                    if first and debited
                    else []
                ),
                *(_creditor_account(transfer) if transfer is not None else []),
            )
        )
    return means


def _creditor_account(transfer: en16931.CreditTransfer) -> list[etree._Element]:
    name = _maybe(transfer.account_name, _RAM.AccountName)
    if IBAN_SHAPE.fullmatch(transfer.account):
        parts = [_RAM.IBANID(transfer.account), *name]
    else:
        parts = [*name, _RAM.ProprietaryID(transfer.account)]
    return [
        _RAM.PayeePartyCreditorFinancialAccount(*parts),
        *_maybe(
            transfer.service_provider,
            lambda v: _RAM.PayeeSpecifiedCreditorFinancialInstitution(_RAM.BICID(v)),
        ),
    ]


def _model_vat(invoice: en16931.Invoice, vat: en16931.VatBreakdown, first: bool) -> etree._Element:
    """One BG-23; BT-7 on the first only (CII-SR-461: one TaxPointDate per invoice)."""
    code = invoice.tax_point_date_code
    return _RAM.ApplicableTradeTax(
        _RAM.CalculatedAmount(_text(vat.tax_amount)),
        _RAM.TypeCode("VAT"),
        *_maybe(vat.exemption_reason, _RAM.ExemptionReason),
        _RAM.BasisAmount(_text(vat.taxable_amount)),
        _RAM.CategoryCode(vat.category),
        *_maybe(vat.exemption_reason_code, _RAM.ExemptionReasonCode),
        *_maybe(
            invoice.tax_point_date if first else None,
            lambda v: _RAM.TaxPointDate(_date_only(v)),
        ),
        *_maybe(
            code,
            lambda v: _RAM.DueDateTypeCode(cii_reader.TAX_POINT_CODES_TO_CII.get(v, v)),
        ),
        *_maybe(vat.rate, lambda v: _RAM.RateApplicablePercent(_text(v))),
    )


def _allowance_charge(
    ac: en16931.AllowanceCharge | en16931.LineAllowanceCharge,
    tax: list[etree._Element],
) -> etree._Element:
    return _RAM.SpecifiedTradeAllowanceCharge(
        _RAM.ChargeIndicator(_UDT.Indicator("true" if ac.charge else "false")),
        *_maybe(ac.percentage, lambda v: _RAM.CalculationPercent(_text(v))),
        *_maybe(ac.base_amount, lambda v: _RAM.BasisAmount(_text(v))),
        _RAM.ActualAmount(_text(ac.amount)),
        *_maybe(ac.reason_code, _RAM.ReasonCode),
        *_maybe(ac.reason, _RAM.Reason),
        *tax,
    )


def _document_allowance_charge(ac: en16931.AllowanceCharge) -> etree._Element:
    tax = []
    if ac.vat_category or ac.vat_rate is not None:
        tax = [
            _RAM.CategoryTradeTax(
                _RAM.TypeCode("VAT"),
                _RAM.CategoryCode(ac.vat_category),
                *_maybe(ac.vat_rate, lambda v: _RAM.RateApplicablePercent(_text(v))),
            )
        ]
    return _allowance_charge(ac, tax)


def _model_settlement(invoice: en16931.Invoice) -> etree._Element:
    totals = invoice.totals
    payment = invoice.payment_instructions
    debit = payment.direct_debit if payment is not None else None
    mandate = debit.mandate_reference if debit is not None else ""
    terms = []
    if invoice.payment_terms or invoice.due_date is not None or mandate:
        terms = [
            _RAM.SpecifiedTradePaymentTerms(
                *_maybe(invoice.payment_terms, _RAM.Description),
                *_maybe(invoice.due_date, lambda v: _RAM.DueDateDateTime(_date_time(v))),
                *_maybe(mandate, _RAM.DirectDebitMandateID),
            )
        ]
    tax_totals = []
    if totals.vat_total is not None:
        tax_totals.append(_RAM.TaxTotalAmount(_text(totals.vat_total), currencyID=invoice.currency))
    if totals.vat_total_accounting is not None:
        tax_totals.append(
            _RAM.TaxTotalAmount(
                _text(totals.vat_total_accounting),
                currencyID=invoice.vat_accounting_currency or invoice.currency,
            )
        )
    payee = invoice.payee
    return _RAM.ApplicableHeaderTradeSettlement(
        *_maybe(debit.creditor_identifier if debit is not None else "", _RAM.CreditorReferenceID),
        *_maybe(
            payment.remittance_information if payment is not None else "", _RAM.PaymentReference
        ),
        *_maybe(invoice.vat_accounting_currency, _RAM.TaxCurrencyCode),
        _RAM.InvoiceCurrencyCode(invoice.currency),
        *(
            [
                _RAM.PayeeTradeParty(
                    *_party_ids([payee.identifier] if payee.identifier is not None else []),
                    _RAM.Name(payee.name),
                    *_legal_organization(payee.legal_registration),
                )
            ]
            if payee is not None
            else []
        ),
        *_payment_means(payment),
        *(_model_vat(invoice, vat, i == 0) for i, vat in enumerate(invoice.vat_breakdown)),
        *_period(invoice.invoicing_period),
        *(_document_allowance_charge(ac) for ac in invoice.allowances_charges),
        *terms,
        _RAM.SpecifiedTradeSettlementHeaderMonetarySummation(
            _RAM.LineTotalAmount(_text(totals.line_total)),
            *_maybe(totals.charge_total, lambda v: _RAM.ChargeTotalAmount(_text(v))),
            *_maybe(totals.allowance_total, lambda v: _RAM.AllowanceTotalAmount(_text(v))),
            _RAM.TaxBasisTotalAmount(_text(totals.tax_exclusive)),
            *tax_totals,
            *_maybe(totals.rounding, lambda v: _RAM.RoundingAmount(_text(v))),
            _RAM.GrandTotalAmount(_text(totals.tax_inclusive)),
            *_maybe(totals.prepaid, lambda v: _RAM.TotalPrepaidAmount(_text(v))),
            _RAM.DuePayableAmount(_text(totals.amount_due)),
        ),
        *(
            _RAM.InvoiceReferencedDocument(
                _RAM.IssuerAssignedID(preceding.number),
                *_maybe(
                    preceding.issue_date,
                    lambda v: _RAM.FormattedIssueDateTime(
                        _QDT.DateTimeString(v.strftime("%Y%m%d"), format="102")
                    ),
                ),
            )
            for preceding in invoice.preceding_invoices
        ),
        *_maybe(
            invoice.buyer_accounting_reference,
            lambda v: _RAM.ReceivableSpecifiedTradeAccountingAccount(_RAM.ID(v)),
        ),
    )


def _quantity(tag, value: Decimal, unit: str) -> etree._Element:
    element = tag(_text(value))
    if unit:
        element.set("unitCode", unit)
    return element


def _model_line(line: en16931.Line) -> etree._Element:
    price = line.price
    item = line.item
    gross = []
    if price.gross_price is not None or price.discount is not None:
        # CII states BT-147 inside the gross price: a discount without BT-148 (UBL allows it)
        # comes with the gross price it implies, BT-146 + BT-147.
        gross_price = price.gross_price
        if gross_price is None:
            gross_price = price.net_price + (price.discount or Decimal(0))
        gross = [
            _RAM.GrossPriceProductTradePrice(
                _RAM.ChargeAmount(_text(gross_price)),
                *(
                    [
                        _RAM.AppliedTradeAllowanceCharge(
                            _RAM.ChargeIndicator(_UDT.Indicator("false")),
                            _RAM.ActualAmount(_text(price.discount)),
                        )
                    ]
                    if price.discount is not None
                    else []
                ),
            )
        ]
    return _RAM.IncludedSupplyChainTradeLineItem(
        _RAM.AssociatedDocumentLineDocument(
            _RAM.LineID(line.identifier),
            *_maybe(line.note, lambda v: _RAM.IncludedNote(_RAM.Content(v))),
        ),
        _RAM.SpecifiedTradeProduct(
            *(
                [_schemed(_RAM.GlobalID, item.standard_identifier)]
                if item.standard_identifier is not None
                else []
            ),
            *_maybe(item.seller_identifier, _RAM.SellerAssignedID),
            *_maybe(item.buyer_identifier, _RAM.BuyerAssignedID),
            _RAM.Name(item.name),
            *_maybe(item.description, _RAM.Description),
            *(
                _RAM.ApplicableProductCharacteristic(
                    _RAM.Description(attribute.name), _RAM.Value(attribute.value)
                )
                for attribute in item.attributes
            ),
            *(
                _RAM.DesignatedProductClassification(_classification(c))
                for c in item.classifications
            ),
            *_maybe(item.origin_country, lambda v: _RAM.OriginTradeCountry(_RAM.ID(v))),
        ),
        _RAM.SpecifiedLineTradeAgreement(
            *_maybe(
                line.order_line_reference,
                lambda v: _RAM.BuyerOrderReferencedDocument(_RAM.LineID(v)),
            ),
            *gross,
            _RAM.NetPriceProductTradePrice(
                _RAM.ChargeAmount(_text(price.net_price)),
                *_maybe(
                    price.base_quantity,
                    lambda v: _quantity(_RAM.BasisQuantity, v, price.base_quantity_unit),
                ),
            ),
        ),
        _RAM.SpecifiedLineTradeDelivery(_quantity(_RAM.BilledQuantity, line.quantity, line.unit)),
        _RAM.SpecifiedLineTradeSettlement(
            _RAM.ApplicableTradeTax(
                _RAM.TypeCode("VAT"),
                _RAM.CategoryCode(line.vat_category),
                *_maybe(line.vat_rate, lambda v: _RAM.RateApplicablePercent(_text(v))),
            ),
            *_period(line.period),
            *(_allowance_charge(ac, []) for ac in line.allowances_charges),
            _RAM.SpecifiedTradeSettlementLineMonetarySummation(
                _RAM.LineTotalAmount(_text(line.net_amount))
            ),
            *(
                [
                    _RAM.AdditionalReferencedDocument(
                        _RAM.IssuerAssignedID(line.object_identifier.value),
                        _RAM.TypeCode(cii_reader.OBJECT_TYPE_CODE),
                        *_maybe(line.object_identifier.scheme, _RAM.ReferenceTypeCode),
                    )
                ]
                if line.object_identifier is not None
                else []
            ),
            *_maybe(
                line.buyer_accounting_reference,
                lambda v: _RAM.ReceivableSpecifiedTradeAccountingAccount(_RAM.ID(v)),
            ),
        ),
    )


def _classification(classification: en16931.Classification) -> etree._Element:
    code = _RAM.ClassCode(classification.value)
    if classification.scheme:
        code.set("listID", classification.scheme)
    if classification.version:
        code.set("listVersionID", classification.version)
    return code
