"""UN/CEFACT CII D16B (Factur-X, ZUGFeRD, XRechnung CII) → the EN 16931 model
(:func:`read_model`), business term by business term (EN 16931-3-3)."""

from __future__ import annotations

import base64
import binascii
from datetime import date

from lxml import etree

from chorus_invoices.documents.xpaths import Reader
from chorus_invoices.domain import en16931

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
_read = Reader(NAMESPACES)

# BT-8 is a UNTDID 2005 code in the model (and in UBL); CII states it in UNTDID 2475.
TAX_POINT_CODES_TO_CII = {"3": "5", "35": "29", "432": "72"}
TAX_POINT_CODES_FROM_CII = {cii: model for model, cii in TAX_POINT_CODES_TO_CII.items()}
# AdditionalReferencedDocument type codes (UNTDID 1001) that are not BG-24.
TENDER_TYPE_CODE = "50"
OBJECT_TYPE_CODE = "130"
SUPPORTING_TYPE_CODE = "916"
_DELIVERY = f"{_TX}/ram:ApplicableHeaderTradeDelivery"
_LINE_ITEMS = f"{_TX}/ram:IncludedSupplyChainTradeLineItem"


def read_model(root: etree._Element) -> en16931.Invoice:
    """The EN 16931 invoice a CII D16B document (Factur-X, ZUGFeRD, XRechnung CII) states,
    every business term, amounts exactly as written.

    Missing parts are "" / None / () (a required term missing is "" or zero: the schematron
    refuses such a document before anyone relies on it); only a value present but unusable (a
    date that does not exist, an absurd number) is DOCUMENT_VALUE_INVALID."""
    document = _read.first(root, "rsm:ExchangedDocument")
    context = _read.first(root, "rsm:ExchangedDocumentContext")
    agreement = _read.first(root, _AGREEMENT)
    delivery = _read.first(root, _DELIVERY)
    settlement = _read.first(root, _SETTLEMENT)
    currency = _read.string(settlement, "ram:InvoiceCurrencyCode")
    accounting_currency = _read.string(settlement, "ram:TaxCurrencyCode")
    taxes = _read.all(settlement, "ram:ApplicableTradeTax") if settlement is not None else []
    terms = (
        _read.first(settlement, "ram:SpecifiedTradePaymentTerms")
        if settlement is not None
        else None
    )
    additional = (
        _read.all(agreement, "ram:AdditionalReferencedDocument") if agreement is not None else []
    )
    invoiced_object = next(
        (d for d in additional if _read.string(d, "ram:TypeCode") == OBJECT_TYPE_CODE), None
    )
    tax_point_code = next(
        (
            _read.string(t, "ram:DueDateTypeCode")
            for t in taxes
            if _read.string(t, "ram:DueDateTypeCode")
        ),
        "",
    )
    return en16931.Invoice(
        number=_read.string(document, "ram:ID"),
        issue_date=_read.date_value(document, "ram:IssueDateTime/udt:DateTimeString") or _NO_DATE,
        type_code=_read.string(document, "ram:TypeCode"),
        currency=currency,
        seller=_model_seller(
            _read.first(agreement, "ram:SellerTradeParty") if agreement is not None else None
        ),
        buyer=_model_buyer(
            _read.first(agreement, "ram:BuyerTradeParty") if agreement is not None else None
        ),
        totals=_model_totals(settlement, currency, accounting_currency),
        vat_breakdown=tuple(_model_vat(tax) for tax in taxes),
        lines=tuple(_model_line(item) for item in _read.all(root, _LINE_ITEMS)),
        specification_identifier=_read.string(
            context, "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"
        ),
        business_process=_read.string(
            context, "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"
        ),
        vat_accounting_currency=accounting_currency,
        tax_point_date=next(
            (
                found
                for t in taxes
                if (found := _read.date_value(t, "ram:TaxPointDate/udt:DateString")) is not None
            ),
            None,
        ),
        tax_point_date_code=TAX_POINT_CODES_FROM_CII.get(tax_point_code, tax_point_code),
        due_date=_read.date_value(terms, "ram:DueDateDateTime/udt:DateTimeString"),
        buyer_reference=_read.string(agreement, "ram:BuyerReference"),
        project_reference=_read.string(agreement, "ram:SpecifiedProcuringProject/ram:ID"),
        contract_reference=_read.string(
            agreement, "ram:ContractReferencedDocument/ram:IssuerAssignedID"
        ),
        purchase_order_reference=_read.string(
            agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"
        ),
        sales_order_reference=_read.string(
            agreement, "ram:SellerOrderReferencedDocument/ram:IssuerAssignedID"
        ),
        receiving_advice_reference=_read.string(
            delivery, "ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID"
        ),
        despatch_advice_reference=_read.string(
            delivery, "ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID"
        ),
        tender_reference=next(
            (
                _read.string(d, "ram:IssuerAssignedID")
                for d in additional
                if _read.string(d, "ram:TypeCode") == TENDER_TYPE_CODE
            ),
            "",
        ),
        invoiced_object=_identifier(
            _read.string(invoiced_object, "ram:IssuerAssignedID"),
            _read.string(invoiced_object, "ram:ReferenceTypeCode"),
        )
        if invoiced_object is not None
        else None,
        buyer_accounting_reference=_read.string(
            settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"
        ),
        payment_terms=_read.string(terms, "ram:Description"),
        notes=tuple(
            en16931.Note(
                text=_read.string(note, "ram:Content"),
                subject_code=_read.string(note, "ram:SubjectCode"),
            )
            for note in (_read.all(document, "ram:IncludedNote") if document is not None else [])
        ),
        preceding_invoices=tuple(
            en16931.PrecedingInvoice(
                number=_read.string(ref, "ram:IssuerAssignedID"),
                issue_date=_read.date_value(ref, "ram:FormattedIssueDateTime/qdt:DateTimeString"),
            )
            for ref in (
                _read.all(settlement, "ram:InvoiceReferencedDocument")
                if settlement is not None
                else []
            )
        ),
        payee=_model_payee(
            _read.first(settlement, "ram:PayeeTradeParty") if settlement is not None else None
        ),
        tax_representative=_model_tax_representative(
            _read.first(agreement, "ram:SellerTaxRepresentativeTradeParty")
            if agreement is not None
            else None
        ),
        delivery=_model_delivery(delivery),
        invoicing_period=_model_period(
            _read.first(settlement, "ram:BillingSpecifiedPeriod")
            if settlement is not None
            else None
        ),
        payment_instructions=_model_payment(settlement, terms),
        allowances_charges=tuple(
            _model_allowance_charge(ac)
            for ac in (
                _read.all(settlement, "ram:SpecifiedTradeAllowanceCharge")
                if settlement is not None
                else []
            )
        ),
        supporting_documents=tuple(
            _model_supporting_document(d)
            for d in additional
            if _read.string(d, "ram:TypeCode") not in (TENDER_TYPE_CODE, OBJECT_TYPE_CODE)
        ),
    )


# A document without its issue date (BR-02 refuses it) still reads: the model needs a date.
_NO_DATE = date.min


def _identifier(value: str, scheme: str) -> en16931.Identifier | None:
    return en16931.Identifier(value, scheme) if value or scheme else None


def _scheme_identifier(node: etree._Element | None, path: str) -> en16931.Identifier | None:
    if node is None:
        return None
    found = _read.first(node, path)
    if found is None:
        return None
    return en16931.Identifier((found.text or "").strip(), (found.get("schemeID") or "").strip())


def _party_identifiers(party: etree._Element) -> list[en16931.Identifier]:
    """``ram:ID`` (no scheme) then ``ram:GlobalID`` (with its scheme), in document order."""
    return [
        en16931.Identifier((node.text or "").strip(), (node.get("schemeID") or "").strip())
        for node in _read.all(party, "ram:ID | ram:GlobalID")
    ]


def _model_address(address: etree._Element | None) -> en16931.Address:
    return en16931.Address(
        line1=_read.string(address, "ram:LineOne"),
        line2=_read.string(address, "ram:LineTwo"),
        line3=_read.string(address, "ram:LineThree"),
        city=_read.string(address, "ram:CityName"),
        postal_code=_read.string(address, "ram:PostcodeCode"),
        subdivision=_read.string(address, "ram:CountrySubDivisionName"),
        country=_read.string(address, "ram:CountryID"),
    )


def _model_contact(party: etree._Element) -> en16931.Contact | None:
    contact = _read.first(party, "ram:DefinedTradeContact")
    if contact is None:
        return None
    return en16931.Contact(
        point=_read.string(contact, "ram:PersonName")
        or _read.string(contact, "ram:DepartmentName"),
        telephone=_read.string(contact, "ram:TelephoneUniversalCommunication/ram:CompleteNumber"),
        email=_read.string(contact, "ram:EmailURIUniversalCommunication/ram:URIID"),
    )


def _tax_registration(party: etree._Element | None, scheme: str) -> str:
    return _read.string(party, f"ram:SpecifiedTaxRegistration/ram:ID[@schemeID='{scheme}']")


def _model_seller(party: etree._Element | None) -> en16931.Seller:
    if party is None:
        return en16931.Seller(name="")
    return en16931.Seller(
        name=_read.string(party, "ram:Name"),
        trading_name=_read.string(party, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
        identifiers=tuple(_party_identifiers(party)),
        legal_registration=_scheme_identifier(party, "ram:SpecifiedLegalOrganization/ram:ID"),
        vat_identifier=_tax_registration(party, "VA"),
        tax_registration=_tax_registration(party, "FC"),
        additional_legal_information=_read.string(party, "ram:Description"),
        electronic_address=_scheme_identifier(party, "ram:URIUniversalCommunication/ram:URIID"),
        address=_model_address(_read.first(party, "ram:PostalTradeAddress")),
        contact=_model_contact(party),
    )


def _model_buyer(party: etree._Element | None) -> en16931.Buyer:
    if party is None:
        return en16931.Buyer(name="")
    identifiers = _party_identifiers(party)
    return en16931.Buyer(
        name=_read.string(party, "ram:Name"),
        trading_name=_read.string(party, "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
        identifier=identifiers[0] if identifiers else None,
        legal_registration=_scheme_identifier(party, "ram:SpecifiedLegalOrganization/ram:ID"),
        vat_identifier=_tax_registration(party, "VA"),
        electronic_address=_scheme_identifier(party, "ram:URIUniversalCommunication/ram:URIID"),
        address=_model_address(_read.first(party, "ram:PostalTradeAddress")),
        contact=_model_contact(party),
    )


def _model_payee(party: etree._Element | None) -> en16931.Payee | None:
    if party is None:
        return None
    identifiers = _party_identifiers(party)
    return en16931.Payee(
        name=_read.string(party, "ram:Name"),
        identifier=identifiers[0] if identifiers else None,
        legal_registration=_scheme_identifier(party, "ram:SpecifiedLegalOrganization/ram:ID"),
    )


def _model_tax_representative(party: etree._Element | None) -> en16931.TaxRepresentative | None:
    if party is None:
        return None
    return en16931.TaxRepresentative(
        name=_read.string(party, "ram:Name"),
        vat_identifier=_tax_registration(party, "VA"),
        address=_model_address(_read.first(party, "ram:PostalTradeAddress")),
    )


def _model_delivery(delivery: etree._Element | None) -> en16931.Delivery | None:
    if delivery is None:
        return None
    party = _read.first(delivery, "ram:ShipToTradeParty")
    date_found = _read.date_value(
        delivery, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString"
    )
    if party is None and date_found is None:
        return None
    identifiers = _party_identifiers(party) if party is not None else []
    address = _read.first(party, "ram:PostalTradeAddress") if party is not None else None
    return en16931.Delivery(
        party_name=_read.string(party, "ram:Name"),
        location=identifiers[0] if identifiers else None,
        date=date_found,
        address=_model_address(address) if address is not None else None,
    )


def _model_period(period: etree._Element | None) -> en16931.Period | None:
    if period is None:
        return None
    return en16931.Period(
        start=_read.date_value(period, "ram:StartDateTime/udt:DateTimeString"),
        end=_read.date_value(period, "ram:EndDateTime/udt:DateTimeString"),
    )


def _model_payment(
    settlement: etree._Element | None, terms: etree._Element | None
) -> en16931.PaymentInstructions | None:
    means = (
        _read.all(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        if settlement is not None
        else []
    )
    if not means:
        return None
    first = means[0]
    transfers = []
    for one in means:
        account = _read.first(one, "ram:PayeePartyCreditorFinancialAccount")
        if account is None:
            continue
        transfers.append(
            en16931.CreditTransfer(
                account=_read.string(account, "ram:IBANID")
                or _read.string(account, "ram:ProprietaryID"),
                account_name=_read.string(account, "ram:AccountName"),
                service_provider=_read.string(
                    one, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID"
                ),
            )
        )
    card = next(
        (
            c
            for one in means
            if (c := _read.first(one, "ram:ApplicableTradeSettlementFinancialCard")) is not None
        ),
        None,
    )
    mandate = _read.string(terms, "ram:DirectDebitMandateID")
    creditor = _read.string(settlement, "ram:CreditorReferenceID")
    debited = next(
        (
            a
            for one in means
            if (a := _read.string(one, "ram:PayerPartyDebtorFinancialAccount/ram:IBANID"))
        ),
        "",
    )
    return en16931.PaymentInstructions(
        means_code=_read.string(first, "ram:TypeCode"),
        means_text=_read.string(first, "ram:Information"),
        remittance_information=_read.string(settlement, "ram:PaymentReference"),
        credit_transfers=tuple(transfers),
        card=en16931.PaymentCard(
            primary_account_number=_read.string(card, "ram:ID"),
            holder_name=_read.string(card, "ram:CardholderName"),
        )
        if card is not None
        else None,
        direct_debit=en16931.DirectDebit(
            mandate_reference=mandate, creditor_identifier=creditor, debited_account=debited
        )
        if mandate or creditor or debited
        else None,
    )


def _charge_indicator(node: etree._Element) -> bool:
    return _read.string(node, "ram:ChargeIndicator/udt:Indicator").lower() in ("true", "1")


def _model_allowance_charge(node: etree._Element) -> en16931.AllowanceCharge:
    return en16931.AllowanceCharge(
        charge=_charge_indicator(node),
        amount=_read.decimal(node, "ram:ActualAmount"),
        base_amount=_read.optional_decimal(node, "ram:BasisAmount"),
        percentage=_read.optional_decimal(node, "ram:CalculationPercent"),
        vat_category=_read.string(node, "ram:CategoryTradeTax/ram:CategoryCode"),
        vat_rate=_read.optional_decimal(node, "ram:CategoryTradeTax/ram:RateApplicablePercent"),
        reason=_read.string(node, "ram:Reason"),
        reason_code=_read.string(node, "ram:ReasonCode"),
    )


def _model_line_allowance_charge(node: etree._Element) -> en16931.LineAllowanceCharge:
    return en16931.LineAllowanceCharge(
        charge=_charge_indicator(node),
        amount=_read.decimal(node, "ram:ActualAmount"),
        base_amount=_read.optional_decimal(node, "ram:BasisAmount"),
        percentage=_read.optional_decimal(node, "ram:CalculationPercent"),
        reason=_read.string(node, "ram:Reason"),
        reason_code=_read.string(node, "ram:ReasonCode"),
    )


def _model_totals(
    settlement: etree._Element | None, currency: str, accounting_currency: str
) -> en16931.DocumentTotals:
    summation = _read.first(settlement, _SUMMATION) if settlement is not None else None
    vat_totals = _read.all(summation, "ram:TaxTotalAmount") if summation is not None else []
    in_currency = [a for a in vat_totals if a.get("currencyID", currency) == currency]
    vat_total = in_currency[0] if in_currency else None
    in_accounting = [
        a
        for a in vat_totals
        if a is not vat_total and accounting_currency and a.get("currencyID") == accounting_currency
    ]
    return en16931.DocumentTotals(
        line_total=_read.decimal(summation, "ram:LineTotalAmount"),
        tax_exclusive=_read.decimal(summation, "ram:TaxBasisTotalAmount"),
        tax_inclusive=_read.decimal(summation, "ram:GrandTotalAmount"),
        amount_due=_read.decimal(summation, "ram:DuePayableAmount"),
        allowance_total=_read.optional_decimal(summation, "ram:AllowanceTotalAmount"),
        charge_total=_read.optional_decimal(summation, "ram:ChargeTotalAmount"),
        vat_total=_read.optional_decimal(vat_total, "."),
        vat_total_accounting=_read.optional_decimal(in_accounting[0], ".")
        if in_accounting
        else None,
        prepaid=_read.optional_decimal(summation, "ram:TotalPrepaidAmount"),
        rounding=_read.optional_decimal(summation, "ram:RoundingAmount"),
    )


def _model_vat(tax: etree._Element) -> en16931.VatBreakdown:
    return en16931.VatBreakdown(
        category=_read.string(tax, "ram:CategoryCode"),
        taxable_amount=_read.decimal(tax, "ram:BasisAmount"),
        tax_amount=_read.decimal(tax, "ram:CalculatedAmount"),
        rate=_read.optional_decimal(tax, "ram:RateApplicablePercent"),
        exemption_reason=_read.string(tax, "ram:ExemptionReason"),
        exemption_reason_code=_read.string(tax, "ram:ExemptionReasonCode"),
    )


def _model_supporting_document(node: etree._Element) -> en16931.SupportingDocument:
    attachment = _read.first(node, "ram:AttachmentBinaryObject")
    return en16931.SupportingDocument(
        reference=_read.string(node, "ram:IssuerAssignedID"),
        description=_read.string(node, "ram:Name"),
        external_location=_read.string(node, "ram:URIID"),
        content=_binary(attachment),
        mime_code=(attachment.get("mimeCode") or "").strip() if attachment is not None else "",
        filename=(attachment.get("filename") or "").strip() if attachment is not None else "",
    )


def _binary(node: etree._Element | None) -> bytes | None:
    """BT-125's bytes (base64 in the XML); None when absent or not base64 (the XSD refuses
    such a document)."""
    if node is None:
        return None
    try:
        return base64.b64decode("".join((node.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _model_line(item: etree._Element) -> en16931.Line:
    product = _read.first(item, "ram:SpecifiedTradeProduct")
    agreement = _read.first(item, "ram:SpecifiedLineTradeAgreement")
    settlement = _read.first(item, "ram:SpecifiedLineTradeSettlement")
    net = _read.first(agreement, "ram:NetPriceProductTradePrice") if agreement is not None else None
    gross = (
        _read.first(agreement, "ram:GrossPriceProductTradePrice") if agreement is not None else None
    )
    basis = _read.first(net, "ram:BasisQuantity") if net is not None else None
    if basis is None and gross is not None:
        basis = _read.first(gross, "ram:BasisQuantity")
    quantity = _read.first(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")
    tax = _read.first(settlement, "ram:ApplicableTradeTax") if settlement is not None else None
    referenced = (
        _read.first(
            settlement, f"ram:AdditionalReferencedDocument[ram:TypeCode='{OBJECT_TYPE_CODE}']"
        )
        if settlement is not None
        else None
    )
    if referenced is None and settlement is not None:
        referenced = _read.first(settlement, "ram:AdditionalReferencedDocument")
    return en16931.Line(
        identifier=_read.string(item, "ram:AssociatedDocumentLineDocument/ram:LineID"),
        quantity=_read.decimal(quantity, "."),
        unit=(quantity.get("unitCode") or "").strip() if quantity is not None else "",
        net_amount=_read.decimal(
            settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
        ),
        price=en16931.Price(
            net_price=_read.decimal(net, "ram:ChargeAmount"),
            discount=_read.optional_decimal(
                gross, "ram:AppliedTradeAllowanceCharge/ram:ActualAmount"
            ),
            gross_price=_read.optional_decimal(gross, "ram:ChargeAmount"),
            base_quantity=_read.optional_decimal(basis, "."),
            base_quantity_unit=(basis.get("unitCode") or "").strip() if basis is not None else "",
        ),
        vat_category=_read.string(tax, "ram:CategoryCode"),
        item=en16931.Item(
            name=_read.string(product, "ram:Name"),
            description=_read.string(product, "ram:Description"),
            seller_identifier=_read.string(product, "ram:SellerAssignedID"),
            buyer_identifier=_read.string(product, "ram:BuyerAssignedID"),
            standard_identifier=_scheme_identifier(product, "ram:GlobalID"),
            classifications=tuple(
                en16931.Classification(
                    value=(code.text or "").strip(),
                    scheme=(code.get("listID") or "").strip(),
                    version=(code.get("listVersionID") or "").strip(),
                )
                for code in (
                    _read.all(product, "ram:DesignatedProductClassification/ram:ClassCode")
                    if product is not None
                    else []
                )
            ),
            origin_country=_read.string(product, "ram:OriginTradeCountry/ram:ID"),
            attributes=tuple(
                en16931.ItemAttribute(
                    name=_read.string(attribute, "ram:Description"),
                    value=_read.string(attribute, "ram:Value"),
                )
                for attribute in (
                    _read.all(product, "ram:ApplicableProductCharacteristic")
                    if product is not None
                    else []
                )
            ),
        ),
        vat_rate=_read.optional_decimal(tax, "ram:RateApplicablePercent"),
        note=_read.string(item, "ram:AssociatedDocumentLineDocument/ram:IncludedNote/ram:Content"),
        object_identifier=_identifier(
            _read.string(referenced, "ram:IssuerAssignedID"),
            _read.string(referenced, "ram:ReferenceTypeCode"),
        )
        if referenced is not None
        else None,
        order_line_reference=_read.string(agreement, "ram:BuyerOrderReferencedDocument/ram:LineID"),
        buyer_accounting_reference=_read.string(
            settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"
        ),
        period=_model_period(
            _read.first(settlement, "ram:BillingSpecifiedPeriod")
            if settlement is not None
            else None
        ),
        allowances_charges=tuple(
            _model_line_allowance_charge(ac)
            for ac in (
                _read.all(settlement, "ram:SpecifiedTradeAllowanceCharge")
                if settlement is not None
                else []
            )
        ),
    )
