"""UBL 2.1 Invoice / CreditNote → the EN 16931 model (:func:`read_model`), business term
by business term (EN 16931-3-2)."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date

from lxml import etree

from chorus_invoices.documents.xpaths import Reader
from chorus_invoices.domain import en16931

NAMESPACES = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
# Root-relative paths work for both roots (Invoice, CreditNote); lines differ by name.
_LINES = "cac:InvoiceLine | cac:CreditNoteLine"
_QUANTITY = "cbc:InvoicedQuantity | cbc:CreditedQuantity"
_TOTALS = "cac:LegalMonetaryTotal"
_read = Reader(NAMESPACES)

# BT-21 has no UBL element: the note's subject code is written at the head of its text as
# ``#AAI#text`` (the convention of the CEN and Peppol examples). A note read as ``#XYZ#…`` with
# a code of 1 to 3 letters is that code and the rest its text; any other note is text only.
NOTE_SUBJECT = re.compile(r"#([A-Za-z]{1,3})#(.*)", re.DOTALL)
# UBL has no element for BT-90 either: it is the seller's (or payee's) party identifier with
# scheme ``SEPA``.
CREDITOR_SCHEME = "SEPA"
# AdditionalDocumentReference type codes that are not BG-24: BT-18 (130) and, in a credit note
# (which has no ProjectReference), BT-11 (50).
OBJECT_TYPE_CODE = "130"
PROJECT_TYPE_CODE = "50"
# BT-13 is required in a UBL OrderReference: a sales order reference alone comes with "NA".
NO_ORDER = "NA"
_DOC_REFERENCES = "cac:AdditionalDocumentReference"


def _currency_of(amount: etree._Element | None) -> str:
    return amount.get("currencyID", "") if amount is not None else ""


def read_model(root: etree._Element) -> en16931.Invoice:
    """The EN 16931 invoice a UBL 2.1 Invoice or CreditNote states, every business term,
    amounts exactly as written.

    Missing parts are "" / None / () (a required term missing is "" or zero: the schematron
    refuses such a document before anyone relies on it); only a value present but unusable (a
    date that does not exist, an absurd number) is DOCUMENT_VALUE_INVALID."""
    currency = _read.string(root, "cbc:DocumentCurrencyCode")
    accounting_currency = _read.string(root, "cbc:TaxCurrencyCode")
    means = _read.all(root, "cac:PaymentMeans")
    seller_party = _read.first(root, "cac:AccountingSupplierParty/cac:Party")
    payee_party = _read.first(root, "cac:PayeeParty")
    creditor = _creditor_identifier(payee_party) or _creditor_identifier(seller_party)
    references = _read.all(root, _DOC_REFERENCES)
    invoiced_object = next(
        (r for r in references if _read.string(r, "cbc:DocumentTypeCode") == OBJECT_TYPE_CODE), None
    )
    is_credit_note = etree.QName(root).localname == "CreditNote"
    order = _read.first(root, "cac:OrderReference")
    sales_order = _read.string(order, "cbc:SalesOrderID")
    purchase_order = _read.string(order, "cbc:ID")
    if purchase_order == NO_ORDER and sales_order:
        purchase_order = ""
    period = _read.first(root, "cac:InvoicePeriod")
    return en16931.Invoice(
        number=_read.string(root, "cbc:ID"),
        issue_date=_read.date_value(root, "cbc:IssueDate") or date.min,
        type_code=_read.string(root, "cbc:InvoiceTypeCode | cbc:CreditNoteTypeCode"),
        currency=currency,
        seller=_model_seller(seller_party, keep_creditor=not means),
        buyer=_model_buyer(_read.first(root, "cac:AccountingCustomerParty/cac:Party")),
        totals=_model_totals(root, currency, accounting_currency),
        vat_breakdown=tuple(
            _model_vat(subtotal)
            for subtotal in _read.all(_vat_total(root, currency), "cac:TaxSubtotal")
        ),
        lines=tuple(_model_line(line) for line in _read.all(root, _LINES)),
        specification_identifier=_read.string(root, "cbc:CustomizationID"),
        business_process=_read.string(root, "cbc:ProfileID"),
        vat_accounting_currency=accounting_currency,
        tax_point_date=_read.date_value(root, "cbc:TaxPointDate"),
        tax_point_date_code=_read.string(period, "cbc:DescriptionCode"),
        due_date=_read.date_value(root, "cbc:DueDate")
        or next(
            (d for m in means if (d := _read.date_value(m, "cbc:PaymentDueDate")) is not None), None
        ),
        buyer_reference=_read.string(root, "cbc:BuyerReference"),
        project_reference=_read.string(root, "cac:ProjectReference/cbc:ID")
        or (
            next(
                (
                    _read.string(r, "cbc:ID")
                    for r in references
                    if _read.string(r, "cbc:DocumentTypeCode") == PROJECT_TYPE_CODE
                ),
                "",
            )
            if is_credit_note
            else ""
        ),
        contract_reference=_read.string(root, "cac:ContractDocumentReference/cbc:ID"),
        purchase_order_reference=purchase_order,
        sales_order_reference=sales_order,
        receiving_advice_reference=_read.string(root, "cac:ReceiptDocumentReference/cbc:ID"),
        despatch_advice_reference=_read.string(root, "cac:DespatchDocumentReference/cbc:ID"),
        tender_reference=_read.string(root, "cac:OriginatorDocumentReference/cbc:ID"),
        invoiced_object=_scheme_identifier(invoiced_object, "cbc:ID"),
        buyer_accounting_reference=_read.string(root, "cbc:AccountingCost"),
        payment_terms=_read.string(root, "cac:PaymentTerms/cbc:Note"),
        notes=tuple(_model_note(note) for note in _read.all(root, "cbc:Note")),
        preceding_invoices=tuple(
            en16931.PrecedingInvoice(
                number=_read.string(ref, "cbc:ID"),
                issue_date=_read.date_value(ref, "cbc:IssueDate"),
            )
            for ref in _read.all(root, "cac:BillingReference/cac:InvoiceDocumentReference")
        ),
        payee=_model_payee(payee_party),
        tax_representative=_model_tax_representative(
            _read.first(root, "cac:TaxRepresentativeParty")
        ),
        delivery=_model_delivery(_read.first(root, "cac:Delivery")),
        invoicing_period=_model_period(period),
        payment_instructions=_model_payment(root, means, creditor),
        allowances_charges=tuple(
            _model_allowance_charge(ac) for ac in _read.all(root, "cac:AllowanceCharge")
        ),
        supporting_documents=tuple(
            _model_supporting_document(r)
            for r in references
            if _read.string(r, "cbc:DocumentTypeCode") != OBJECT_TYPE_CODE
            and not (
                is_credit_note and _read.string(r, "cbc:DocumentTypeCode") == PROJECT_TYPE_CODE
            )
        ),
    )


def _creditor_identifier(party: etree._Element | None) -> str:
    for node in _read.all(party, "cac:PartyIdentification/cbc:ID"):
        if (node.get("schemeID") or "").strip().upper() == CREDITOR_SCHEME:
            return (node.text or "").strip()
    return ""


def _party_identifiers(
    party: etree._Element | None, *, keep_creditor: bool = False
) -> list[en16931.Identifier]:
    found = []
    for node in _read.all(party, "cac:PartyIdentification/cbc:ID"):
        scheme = (node.get("schemeID") or "").strip()
        if scheme.upper() == CREDITOR_SCHEME and not keep_creditor:
            continue
        found.append(en16931.Identifier((node.text or "").strip(), scheme))
    return found


def _scheme_identifier(node: etree._Element | None, path: str) -> en16931.Identifier | None:
    found = _read.first(node, path)
    if found is None:
        return None
    return en16931.Identifier((found.text or "").strip(), (found.get("schemeID") or "").strip())


def _model_note(note: etree._Element) -> en16931.Note:
    text = (note.text or "").strip()
    match = NOTE_SUBJECT.fullmatch(text)
    if match:
        return en16931.Note(text=match.group(2).strip(), subject_code=match.group(1))
    return en16931.Note(text=text)


def _model_address(address: etree._Element | None) -> en16931.Address:
    return en16931.Address(
        line1=_read.string(address, "cbc:StreetName"),
        line2=_read.string(address, "cbc:AdditionalStreetName"),
        line3=_read.string(address, "cac:AddressLine/cbc:Line"),
        city=_read.string(address, "cbc:CityName"),
        postal_code=_read.string(address, "cbc:PostalZone"),
        subdivision=_read.string(address, "cbc:CountrySubentity"),
        country=_read.string(address, "cac:Country/cbc:IdentificationCode"),
    )


def _model_contact(party: etree._Element) -> en16931.Contact | None:
    contact = _read.first(party, "cac:Contact")
    if contact is None:
        return None
    return en16931.Contact(
        point=_read.string(contact, "cbc:Name"),
        telephone=_read.string(contact, "cbc:Telephone"),
        email=_read.string(contact, "cbc:ElectronicMail"),
    )


_VAT_SCHEME = (
    "cac:PartyTaxScheme[translate(normalize-space(cac:TaxScheme/cbc:ID), 'vat', 'VAT')='VAT']"
)
_OTHER_SCHEME = (
    "cac:PartyTaxScheme[translate(normalize-space(cac:TaxScheme/cbc:ID), 'vat', 'VAT')!='VAT']"
)


def _model_seller(party: etree._Element | None, *, keep_creditor: bool) -> en16931.Seller:
    if party is None:
        return en16931.Seller(name="")
    return en16931.Seller(
        name=_read.string(party, "cac:PartyLegalEntity/cbc:RegistrationName"),
        trading_name=_read.string(party, "cac:PartyName/cbc:Name"),
        identifiers=tuple(_party_identifiers(party, keep_creditor=keep_creditor)),
        legal_registration=_scheme_identifier(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        vat_identifier=_read.string(party, f"{_VAT_SCHEME}/cbc:CompanyID"),
        tax_registration=_read.string(party, f"{_OTHER_SCHEME}/cbc:CompanyID"),
        additional_legal_information=_read.string(
            party, "cac:PartyLegalEntity/cbc:CompanyLegalForm"
        ),
        electronic_address=_scheme_identifier(party, "cbc:EndpointID"),
        address=_model_address(_read.first(party, "cac:PostalAddress")),
        contact=_model_contact(party),
    )


def _model_buyer(party: etree._Element | None) -> en16931.Buyer:
    if party is None:
        return en16931.Buyer(name="")
    identifiers = _party_identifiers(party, keep_creditor=True)
    return en16931.Buyer(
        name=_read.string(party, "cac:PartyLegalEntity/cbc:RegistrationName"),
        trading_name=_read.string(party, "cac:PartyName/cbc:Name"),
        identifier=identifiers[0] if identifiers else None,
        legal_registration=_scheme_identifier(party, "cac:PartyLegalEntity/cbc:CompanyID"),
        vat_identifier=_read.string(party, f"{_VAT_SCHEME}/cbc:CompanyID"),
        electronic_address=_scheme_identifier(party, "cbc:EndpointID"),
        address=_model_address(_read.first(party, "cac:PostalAddress")),
        contact=_model_contact(party),
    )


def _model_payee(party: etree._Element | None) -> en16931.Payee | None:
    if party is None:
        return None
    identifiers = _party_identifiers(party)
    return en16931.Payee(
        name=_read.string(party, "cac:PartyName/cbc:Name"),
        identifier=identifiers[0] if identifiers else None,
        legal_registration=_scheme_identifier(party, "cac:PartyLegalEntity/cbc:CompanyID"),
    )


def _model_tax_representative(party: etree._Element | None) -> en16931.TaxRepresentative | None:
    if party is None:
        return None
    return en16931.TaxRepresentative(
        name=_read.string(party, "cac:PartyName/cbc:Name"),
        vat_identifier=_read.string(party, "cac:PartyTaxScheme/cbc:CompanyID"),
        address=_model_address(_read.first(party, "cac:PostalAddress")),
    )


def _model_delivery(delivery: etree._Element | None) -> en16931.Delivery | None:
    if delivery is None:
        return None
    address = _read.first(delivery, "cac:DeliveryLocation/cac:Address")
    return en16931.Delivery(
        party_name=_read.string(delivery, "cac:DeliveryParty/cac:PartyName/cbc:Name"),
        location=_scheme_identifier(delivery, "cac:DeliveryLocation/cbc:ID"),
        date=_read.date_value(delivery, "cbc:ActualDeliveryDate"),
        address=_model_address(address) if address is not None else None,
    )


def _model_period(period: etree._Element | None) -> en16931.Period | None:
    if period is None:
        return None
    start = _read.date_value(period, "cbc:StartDate")
    end = _read.date_value(period, "cbc:EndDate")
    if start is None and end is None:
        # An InvoicePeriod may carry BT-8 (DescriptionCode) alone.
        return None
    return en16931.Period(start=start, end=end)


def _model_payment(
    root: etree._Element, means: list[etree._Element], creditor: str
) -> en16931.PaymentInstructions | None:
    if not means:
        return None
    first = means[0]
    transfers = [
        en16931.CreditTransfer(
            account=_read.string(account, "cbc:ID"),
            account_name=_read.string(account, "cbc:Name"),
            service_provider=_read.string(account, "cac:FinancialInstitutionBranch/cbc:ID"),
        )
        for one in means
        for account in _read.all(one, "cac:PayeeFinancialAccount")
    ]
    card = next(
        (c for one in means if (c := _read.first(one, "cac:CardAccount")) is not None), None
    )
    mandate = next(
        (m for one in means if (m := _read.first(one, "cac:PaymentMandate")) is not None), None
    )
    mandate_reference = _read.string(mandate, "cbc:ID")
    debited = _read.string(mandate, "cac:PayerFinancialAccount/cbc:ID")
    return en16931.PaymentInstructions(
        means_code=_read.string(first, "cbc:PaymentMeansCode"),
        means_text=next(
            (
                (code.get("name") or "").strip()
                for one in means
                if (code := _read.first(one, "cbc:PaymentMeansCode")) is not None
                and code.get("name")
            ),
            "",
        ),
        remittance_information=next(
            (r for one in means if (r := _read.string(one, "cbc:PaymentID"))), ""
        ),
        credit_transfers=tuple(transfers),
        card=en16931.PaymentCard(
            primary_account_number=_read.string(card, "cbc:PrimaryAccountNumberID"),
            holder_name=_read.string(card, "cbc:HolderName"),
        )
        if card is not None
        else None,
        direct_debit=en16931.DirectDebit(
            mandate_reference=mandate_reference,
            creditor_identifier=creditor,
            debited_account=debited,
        )
        if mandate_reference or creditor or debited
        else None,
    )


def _charge_indicator(node: etree._Element) -> bool:
    return _read.string(node, "cbc:ChargeIndicator").lower() in ("true", "1")


def _model_allowance_charge(node: etree._Element) -> en16931.AllowanceCharge:
    return en16931.AllowanceCharge(
        charge=_charge_indicator(node),
        amount=_read.decimal(node, "cbc:Amount"),
        base_amount=_read.optional_decimal(node, "cbc:BaseAmount"),
        percentage=_read.optional_decimal(node, "cbc:MultiplierFactorNumeric"),
        vat_category=_read.string(node, "cac:TaxCategory/cbc:ID"),
        vat_rate=_read.optional_decimal(node, "cac:TaxCategory/cbc:Percent"),
        reason=_read.string(node, "cbc:AllowanceChargeReason"),
        reason_code=_read.string(node, "cbc:AllowanceChargeReasonCode"),
    )


def _model_line_allowance_charge(node: etree._Element) -> en16931.LineAllowanceCharge:
    return en16931.LineAllowanceCharge(
        charge=_charge_indicator(node),
        amount=_read.decimal(node, "cbc:Amount"),
        base_amount=_read.optional_decimal(node, "cbc:BaseAmount"),
        percentage=_read.optional_decimal(node, "cbc:MultiplierFactorNumeric"),
        reason=_read.string(node, "cbc:AllowanceChargeReason"),
        reason_code=_read.string(node, "cbc:AllowanceChargeReasonCode"),
    )


def _vat_total(root: etree._Element, currency: str) -> etree._Element | None:
    """The TaxTotal of BT-110 (in the invoice currency; it carries the breakdown)."""
    tax_totals = _read.all(root, "cac:TaxTotal")
    in_currency = [
        t for t in tax_totals if _currency_of(_read.first(t, "cbc:TaxAmount")) in ("", currency)
    ]
    with_breakdown = [t for t in tax_totals if _read.first(t, "cac:TaxSubtotal") is not None]
    return (in_currency or with_breakdown or [None])[0]


def _model_totals(
    root: etree._Element, currency: str, accounting_currency: str
) -> en16931.DocumentTotals:
    totals = _read.first(root, _TOTALS)
    vat_total = _vat_total(root, currency)
    in_accounting = [
        t
        for t in _read.all(root, "cac:TaxTotal")
        if t is not vat_total
        and accounting_currency
        and _currency_of(_read.first(t, "cbc:TaxAmount")) == accounting_currency
    ]
    return en16931.DocumentTotals(
        line_total=_read.decimal(totals, "cbc:LineExtensionAmount"),
        tax_exclusive=_read.decimal(totals, "cbc:TaxExclusiveAmount"),
        tax_inclusive=_read.decimal(totals, "cbc:TaxInclusiveAmount"),
        amount_due=_read.decimal(totals, "cbc:PayableAmount"),
        allowance_total=_read.optional_decimal(totals, "cbc:AllowanceTotalAmount"),
        charge_total=_read.optional_decimal(totals, "cbc:ChargeTotalAmount"),
        vat_total=_read.optional_decimal(vat_total, "cbc:TaxAmount"),
        vat_total_accounting=_read.optional_decimal(in_accounting[0], "cbc:TaxAmount")
        if in_accounting
        else None,
        prepaid=_read.optional_decimal(totals, "cbc:PrepaidAmount"),
        rounding=_read.optional_decimal(totals, "cbc:PayableRoundingAmount"),
    )


def _model_vat(subtotal: etree._Element) -> en16931.VatBreakdown:
    category = _read.first(subtotal, "cac:TaxCategory")
    return en16931.VatBreakdown(
        category=_read.string(category, "cbc:ID"),
        taxable_amount=_read.decimal(subtotal, "cbc:TaxableAmount"),
        tax_amount=_read.decimal(subtotal, "cbc:TaxAmount"),
        rate=_read.optional_decimal(category, "cbc:Percent"),
        exemption_reason=_read.string(category, "cbc:TaxExemptionReason"),
        exemption_reason_code=_read.string(category, "cbc:TaxExemptionReasonCode"),
    )


def _model_supporting_document(node: etree._Element) -> en16931.SupportingDocument:
    attachment = _read.first(node, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
    return en16931.SupportingDocument(
        reference=_read.string(node, "cbc:ID"),
        description=_read.string(node, "cbc:DocumentDescription"),
        external_location=_read.string(node, "cac:Attachment/cac:ExternalReference/cbc:URI"),
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


def _model_line(line: etree._Element) -> en16931.Line:
    item = _read.first(line, "cac:Item")
    price = _read.first(line, "cac:Price")
    tax = _read.first(item, "cac:ClassifiedTaxCategory")
    quantity = _read.first(line, _QUANTITY)
    base_quantity = _read.first(price, "cbc:BaseQuantity")
    discount = _read.first(price, "cac:AllowanceCharge")
    return en16931.Line(
        identifier=_read.string(line, "cbc:ID"),
        quantity=_read.decimal(quantity, "."),
        unit=(quantity.get("unitCode") or "").strip() if quantity is not None else "",
        net_amount=_read.decimal(line, "cbc:LineExtensionAmount"),
        price=en16931.Price(
            net_price=_read.decimal(price, "cbc:PriceAmount"),
            discount=_read.optional_decimal(discount, "cbc:Amount"),
            gross_price=_read.optional_decimal(discount, "cbc:BaseAmount"),
            base_quantity=_read.optional_decimal(base_quantity, "."),
            base_quantity_unit=(base_quantity.get("unitCode") or "").strip()
            if base_quantity is not None
            else "",
        ),
        vat_category=_read.string(tax, "cbc:ID"),
        item=en16931.Item(
            name=_read.string(item, "cbc:Name"),
            description=_read.string(item, "cbc:Description"),
            seller_identifier=_read.string(item, "cac:SellersItemIdentification/cbc:ID"),
            buyer_identifier=_read.string(item, "cac:BuyersItemIdentification/cbc:ID"),
            standard_identifier=_scheme_identifier(item, "cac:StandardItemIdentification/cbc:ID"),
            classifications=tuple(
                en16931.Classification(
                    value=(code.text or "").strip(),
                    scheme=(code.get("listID") or "").strip(),
                    version=(code.get("listVersionID") or "").strip(),
                )
                for code in _read.all(
                    item, "cac:CommodityClassification/cbc:ItemClassificationCode"
                )
            ),
            origin_country=_read.string(item, "cac:OriginCountry/cbc:IdentificationCode"),
            attributes=tuple(
                en16931.ItemAttribute(
                    name=_read.string(p, "cbc:Name"), value=_read.string(p, "cbc:Value")
                )
                for p in _read.all(item, "cac:AdditionalItemProperty")
            ),
        ),
        vat_rate=_read.optional_decimal(tax, "cbc:Percent"),
        note=_read.string(line, "cbc:Note"),
        object_identifier=_scheme_identifier(line, "cac:DocumentReference/cbc:ID"),
        order_line_reference=_read.string(line, "cac:OrderLineReference/cbc:LineID"),
        buyer_accounting_reference=_read.string(line, "cbc:AccountingCost"),
        period=_model_period(_read.first(line, "cac:InvoicePeriod")),
        allowances_charges=tuple(
            _model_line_allowance_charge(ac) for ac in _read.all(line, "cac:AllowanceCharge")
        ),
    )
