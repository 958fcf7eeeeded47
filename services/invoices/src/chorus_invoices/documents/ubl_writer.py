"""The EN 16931 model as UBL 2.1 (EN 16931-3-2): an Invoice, or a CreditNote for the credit
note type codes (:data:`~chorus_invoices.domain.en16931.CREDIT_NOTE_TYPE_CODES`).

Element order follows the UBL 2.1 XSDs (which differ between Invoice and CreditNote). Binding
choices, each read back the same by :func:`ubl_reader.read_model`:

- BT-21 (no UBL element) heads the note's text: ``#AAI#text``
  (:data:`~chorus_invoices.documents.ubl_reader.NOTE_SUBJECT`);
- BT-90 (no UBL element) is a ``PartyIdentification/ID`` with scheme ``SEPA``, the payee's
  when there is a payee, else the seller's;
- BT-14 without BT-13: the required ``OrderReference/ID`` is ``NA``;
- BT-8 is ``InvoicePeriod/DescriptionCode`` (an InvoicePeriod with it alone when no BG-14);
- each credit transfer (BG-17) is its own ``PaymentMeans``; the first carries BT-82 (as the
  code's ``name``), BT-83, the card (BG-18, with the network ``NA`` the XSD requires: no BT
  carries it) and the mandate (BT-89, BT-91);
- in a CreditNote (no ``DueDate``, no ``ProjectReference``): BT-9 is the first
  ``PaymentMeans/PaymentDueDate`` (so it needs payment instructions) and BT-11 an
  ``AdditionalDocumentReference`` of type 50;
- BT-32 is a ``PartyTaxScheme`` whose scheme is ``TAX`` (anything but ``VAT``);
- when BT-110 is absent but the breakdown is not, the TaxTotal the XSD requires states
  Σ BT-117 (BR-CO-14): UBL cannot carry a breakdown without it.
"""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal

from lxml import etree
from lxml.builder import ElementMaker

from chorus_invoices.documents import ubl_reader
from chorus_invoices.domain import en16931

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC_NS = ubl_reader.NAMESPACES["cac"]
CBC_NS = ubl_reader.NAMESPACES["cbc"]
OTHER_TAX_SCHEME = "TAX"
CARD_NETWORK = "NA"
_NSMAP = {"cac": CAC_NS, "cbc": CBC_NS}
_CAC = ElementMaker(namespace=CAC_NS, nsmap=_NSMAP)
_CBC = ElementMaker(namespace=CBC_NS, nsmap=_NSMAP)


def write_model(invoice: en16931.Invoice) -> bytes:
    """The UBL 2.1 XML (UTF-8) of an EN 16931 invoice: a CreditNote when BT-3 is a credit
    note code, else an Invoice; ``ubl_reader.read_model`` of it gives the model back."""
    credit_note = invoice.type_code in en16931.CREDIT_NOTE_TYPE_CODES
    namespace = CREDIT_NOTE_NS if credit_note else INVOICE_NS
    root_maker = ElementMaker(namespace=namespace, nsmap={None: namespace, **_NSMAP})
    cur = invoice.currency
    header = [
        _CBC.CustomizationID(invoice.specification_identifier),
        *_maybe(invoice.business_process, _CBC.ProfileID),
        _CBC.ID(invoice.number),
        _CBC.IssueDate(invoice.issue_date.isoformat()),
    ]
    notes = [_model_note(note) for note in invoice.notes]
    tax_point = _maybe(invoice.tax_point_date, lambda v: _CBC.TaxPointDate(v.isoformat()))
    if credit_note:
        header += [*tax_point, _CBC.CreditNoteTypeCode(invoice.type_code), *notes]
    else:
        header += [
            *_maybe(invoice.due_date, lambda v: _CBC.DueDate(v.isoformat())),
            _CBC.InvoiceTypeCode(invoice.type_code),
            *notes,
            *tax_point,
        ]
    header += [
        _CBC.DocumentCurrencyCode(cur),
        *_maybe(invoice.vat_accounting_currency, _CBC.TaxCurrencyCode),
        *_maybe(invoice.buyer_accounting_reference, _CBC.AccountingCost),
        *_maybe(invoice.buyer_reference, _CBC.BuyerReference),
        *_invoice_period(invoice.invoicing_period, invoice.tax_point_date_code),
    ]
    order = []
    if invoice.purchase_order_reference or invoice.sales_order_reference:
        order = [
            _CAC.OrderReference(
                _CBC.ID(invoice.purchase_order_reference or ubl_reader.NO_ORDER),
                *_maybe(invoice.sales_order_reference, _CBC.SalesOrderID),
            )
        ]
    billing = [
        _CAC.BillingReference(
            _CAC.InvoiceDocumentReference(
                _CBC.ID(preceding.number),
                *_maybe(preceding.issue_date, lambda v: _CBC.IssueDate(v.isoformat())),
            )
        )
        for preceding in invoice.preceding_invoices
    ]
    despatch = _reference(_CAC.DespatchDocumentReference, invoice.despatch_advice_reference)
    receipt = _reference(_CAC.ReceiptDocumentReference, invoice.receiving_advice_reference)
    originator = _reference(_CAC.OriginatorDocumentReference, invoice.tender_reference)
    contract = _reference(_CAC.ContractDocumentReference, invoice.contract_reference)
    additional = []
    if invoice.invoiced_object is not None:
        additional.append(
            _CAC.AdditionalDocumentReference(
                _schemed(_CBC.ID, invoice.invoiced_object),
                _CBC.DocumentTypeCode(ubl_reader.OBJECT_TYPE_CODE),
            )
        )
    if credit_note and invoice.project_reference:
        additional.append(
            _CAC.AdditionalDocumentReference(
                _CBC.ID(invoice.project_reference),
                _CBC.DocumentTypeCode(ubl_reader.PROJECT_TYPE_CODE),
            )
        )
    additional += [_supporting_document(d) for d in invoice.supporting_documents]
    if credit_note:
        references = [*order, *billing, *despatch, *receipt, *contract, *additional, *originator]
    else:
        references = [
            *order,
            *billing,
            *despatch,
            *receipt,
            *originator,
            *contract,
            *additional,
            *_maybe(invoice.project_reference, lambda v: _CAC.ProjectReference(_CBC.ID(v))),
        ]
    payment = invoice.payment_instructions
    creditor = payment.direct_debit.creditor_identifier if payment and payment.direct_debit else ""
    parties = [
        _CAC.AccountingSupplierParty(
            _model_seller(invoice.seller, "" if invoice.payee is not None else creditor)
        ),
        _CAC.AccountingCustomerParty(_model_buyer(invoice.buyer)),
        *_maybe(invoice.payee, lambda p: _model_payee(p, creditor)),
        *_maybe(invoice.tax_representative, _model_tax_representative),
        *_maybe(invoice.delivery, _model_delivery),
        *_payment_means(payment, invoice.due_date if credit_note else None),
        *_maybe(invoice.payment_terms, lambda v: _CAC.PaymentTerms(_CBC.Note(v))),
    ]
    allowances = [_document_allowance_charge(ac, cur) for ac in invoice.allowances_charges]
    lines = [_model_line(line, cur, credit_note) for line in invoice.lines]
    root = getattr(root_maker, "CreditNote" if credit_note else "Invoice")(
        *header,
        *references,
        *parties,
        *allowances,
        *_tax_totals(invoice),
        _monetary_total(invoice.totals, cur),
        *lines,
    )
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)


def _maybe(value, build) -> list[etree._Element]:
    """``[build(value)]`` when the term is stated, else nothing."""
    if value is None or value == "" or value == ():
        return []
    return [build(value)]


def _text(value: Decimal) -> str:
    """A number exactly as the model holds it (plain notation, trailing zeros kept)."""
    return format(value, "f")


def _amount(tag, value: Decimal, currency: str) -> etree._Element:
    return tag(_text(value), currencyID=currency)


def _schemed(tag, identifier: en16931.Identifier) -> etree._Element:
    element = tag(identifier.value)
    if identifier.scheme:
        element.set("schemeID", identifier.scheme)
    return element


def _reference(tag, reference: str) -> list[etree._Element]:
    return _maybe(reference, lambda v: tag(_CBC.ID(v)))


def _model_note(note: en16931.Note) -> etree._Element:
    return _CBC.Note(f"#{note.subject_code}#{note.text}" if note.subject_code else note.text)


def _invoice_period(period: en16931.Period | None, code: str) -> list[etree._Element]:
    if period is None and not code:
        return []
    return [
        _CAC.InvoicePeriod(
            *_period_dates(period),
            *_maybe(code, _CBC.DescriptionCode),
        )
    ]


def _period_dates(period: en16931.Period | None) -> list[etree._Element]:
    if period is None:
        return []
    return [
        *_maybe(period.start, lambda v: _CBC.StartDate(v.isoformat())),
        *_maybe(period.end, lambda v: _CBC.EndDate(v.isoformat())),
    ]


def _supporting_document(document: en16931.SupportingDocument) -> etree._Element:
    attachment = []
    if document.content is not None or document.external_location:
        attachment = [
            _CAC.Attachment(
                *(
                    [
                        _CBC.EmbeddedDocumentBinaryObject(
                            base64.b64encode(document.content).decode("ascii"),
                            mimeCode=document.mime_code,
                            filename=document.filename,
                        )
                    ]
                    if document.content is not None
                    else []
                ),
                *_maybe(
                    document.external_location,
                    lambda v: _CAC.ExternalReference(_CBC.URI(v)),
                ),
            )
        ]
    return _CAC.AdditionalDocumentReference(
        _CBC.ID(document.reference),
        *_maybe(document.description, _CBC.DocumentDescription),
        *attachment,
    )


def _model_address(tag, address: en16931.Address) -> etree._Element:
    return tag(
        *_maybe(address.line1, _CBC.StreetName),
        *_maybe(address.line2, _CBC.AdditionalStreetName),
        *_maybe(address.city, _CBC.CityName),
        *_maybe(address.postal_code, _CBC.PostalZone),
        *_maybe(address.subdivision, _CBC.CountrySubentity),
        *_maybe(address.line3, lambda v: _CAC.AddressLine(_CBC.Line(v))),
        *_maybe(address.country, lambda v: _CAC.Country(_CBC.IdentificationCode(v))),
    )


def _model_contact(contact: en16931.Contact | None) -> list[etree._Element]:
    if contact is None:
        return []
    return [
        _CAC.Contact(
            *_maybe(contact.point, _CBC.Name),
            *_maybe(contact.telephone, _CBC.Telephone),
            *_maybe(contact.email, _CBC.ElectronicMail),
        )
    ]


def _party_tax_scheme(company_id: str, scheme: str) -> list[etree._Element]:
    return _maybe(
        company_id,
        lambda v: _CAC.PartyTaxScheme(_CBC.CompanyID(v), _CAC.TaxScheme(_CBC.ID(scheme))),
    )


def _identifications(identifiers, creditor: str) -> list[etree._Element]:
    found = [_CAC.PartyIdentification(_schemed(_CBC.ID, i)) for i in identifiers]
    if creditor:
        found.append(
            _CAC.PartyIdentification(_CBC.ID(creditor, schemeID=ubl_reader.CREDITOR_SCHEME))
        )
    return found


def _model_seller(seller: en16931.Seller, creditor: str) -> etree._Element:
    return _CAC.Party(
        *_maybe(seller.electronic_address, lambda v: _schemed(_CBC.EndpointID, v)),
        *_identifications(seller.identifiers, creditor),
        *_maybe(seller.trading_name, lambda v: _CAC.PartyName(_CBC.Name(v))),
        _model_address(_CAC.PostalAddress, seller.address),
        *_party_tax_scheme(seller.vat_identifier, "VAT"),
        *_party_tax_scheme(seller.tax_registration, OTHER_TAX_SCHEME),
        _CAC.PartyLegalEntity(
            _CBC.RegistrationName(seller.name),
            *_maybe(seller.legal_registration, lambda v: _schemed(_CBC.CompanyID, v)),
            *_maybe(seller.additional_legal_information, _CBC.CompanyLegalForm),
        ),
        *_model_contact(seller.contact),
    )


def _model_buyer(buyer: en16931.Buyer) -> etree._Element:
    return _CAC.Party(
        *_maybe(buyer.electronic_address, lambda v: _schemed(_CBC.EndpointID, v)),
        *_identifications([buyer.identifier] if buyer.identifier is not None else [], ""),
        *_maybe(buyer.trading_name, lambda v: _CAC.PartyName(_CBC.Name(v))),
        _model_address(_CAC.PostalAddress, buyer.address),
        *_party_tax_scheme(buyer.vat_identifier, "VAT"),
        _CAC.PartyLegalEntity(
            _CBC.RegistrationName(buyer.name),
            *_maybe(buyer.legal_registration, lambda v: _schemed(_CBC.CompanyID, v)),
        ),
        *_model_contact(buyer.contact),
    )


def _model_payee(payee: en16931.Payee, creditor: str) -> etree._Element:
    return _CAC.PayeeParty(
        *_identifications([payee.identifier] if payee.identifier is not None else [], creditor),
        _CAC.PartyName(_CBC.Name(payee.name)),
        *_maybe(
            payee.legal_registration,
            lambda v: _CAC.PartyLegalEntity(_schemed(_CBC.CompanyID, v)),
        ),
    )


def _model_tax_representative(representative: en16931.TaxRepresentative) -> etree._Element:
    return _CAC.TaxRepresentativeParty(
        _CAC.PartyName(_CBC.Name(representative.name)),
        _model_address(_CAC.PostalAddress, representative.address),
        *_party_tax_scheme(representative.vat_identifier, "VAT"),
    )


def _model_delivery(delivery: en16931.Delivery) -> etree._Element:
    location = []
    if delivery.location is not None or delivery.address is not None:
        location = [
            _CAC.DeliveryLocation(
                *_maybe(delivery.location, lambda v: _schemed(_CBC.ID, v)),
                *_maybe(delivery.address, lambda v: _model_address(_CAC.Address, v)),
            )
        ]
    return _CAC.Delivery(
        *_maybe(delivery.date, lambda v: _CBC.ActualDeliveryDate(v.isoformat())),
        *location,
        *_maybe(
            delivery.party_name,
            lambda v: _CAC.DeliveryParty(_CAC.PartyName(_CBC.Name(v))),
        ),
    )


def _payment_means(
    payment: en16931.PaymentInstructions | None, due_date: date | None
) -> list[etree._Element]:
    if payment is None:
        return []
    debit = payment.direct_debit
    transfers: list[en16931.CreditTransfer | None] = list(payment.credit_transfers) or [None]
    means = []
    for position, transfer in enumerate(transfers):
        first = position == 0
        code = _CBC.PaymentMeansCode(payment.means_code)
        if first and payment.means_text:
            code.set("name", payment.means_text)
        card = []
        if first and payment.card is not None:
            card = [
                _CAC.CardAccount(
                    _CBC.PrimaryAccountNumberID(payment.card.primary_account_number),
                    _CBC.NetworkID(CARD_NETWORK),
                    *_maybe(payment.card.holder_name, _CBC.HolderName),
                )
            ]
        account = []
        if transfer is not None:
            account = [
                _CAC.PayeeFinancialAccount(
                    _CBC.ID(transfer.account),
                    *_maybe(transfer.account_name, _CBC.Name),
                    *_maybe(
                        transfer.service_provider,
                        lambda v: _CAC.FinancialInstitutionBranch(_CBC.ID(v)),
                    ),
                )
            ]
        mandate = []
        if first and debit is not None and (debit.mandate_reference or debit.debited_account):
            mandate = [
                _CAC.PaymentMandate(
                    *_maybe(debit.mandate_reference, _CBC.ID),
                    *_maybe(
                        debit.debited_account,
                        lambda v: _CAC.PayerFinancialAccount(_CBC.ID(v)),
                    ),
                )
            ]
        means.append(
            _CAC.PaymentMeans(
                code,
                *(_maybe(due_date, lambda v: _CBC.PaymentDueDate(v.isoformat())) if first else []),
                *(_maybe(payment.remittance_information, _CBC.PaymentID) if first else []),
                *card,
                *account,
                *mandate,
            )
        )
    return means


def _tax_category(tag, category: str, rate: Decimal | None, *exemption) -> etree._Element:
    return tag(
        _CBC.ID(category),
        *_maybe(rate, lambda v: _CBC.Percent(_text(v))),
        *exemption,
        _CAC.TaxScheme(_CBC.ID("VAT")),
    )


def _allowance_charge_parts(ac, currency: str) -> list[etree._Element]:
    return [
        _CBC.ChargeIndicator("true" if ac.charge else "false"),
        *_maybe(ac.reason_code, _CBC.AllowanceChargeReasonCode),
        *_maybe(ac.reason, _CBC.AllowanceChargeReason),
        *_maybe(ac.percentage, lambda v: _CBC.MultiplierFactorNumeric(_text(v))),
        _amount(_CBC.Amount, ac.amount, currency),
        *_maybe(ac.base_amount, lambda v: _amount(_CBC.BaseAmount, v, currency)),
    ]


def _document_allowance_charge(ac: en16931.AllowanceCharge, currency: str) -> etree._Element:
    tax = []
    if ac.vat_category or ac.vat_rate is not None:
        tax = [_tax_category(_CAC.TaxCategory, ac.vat_category, ac.vat_rate)]
    return _CAC.AllowanceCharge(*_allowance_charge_parts(ac, currency), *tax)


def _tax_totals(invoice: en16931.Invoice) -> list[etree._Element]:
    totals = invoice.totals
    cur = invoice.currency
    found = []
    vat_total = totals.vat_total
    if vat_total is None and invoice.vat_breakdown:
        vat_total = sum((vat.tax_amount for vat in invoice.vat_breakdown), Decimal("0.00"))
    if vat_total is not None:
        found.append(
            _CAC.TaxTotal(
                _amount(_CBC.TaxAmount, vat_total, cur),
                *(
                    _CAC.TaxSubtotal(
                        _amount(_CBC.TaxableAmount, vat.taxable_amount, cur),
                        _amount(_CBC.TaxAmount, vat.tax_amount, cur),
                        _tax_category(
                            _CAC.TaxCategory,
                            vat.category,
                            vat.rate,
                            *_maybe(vat.exemption_reason_code, _CBC.TaxExemptionReasonCode),
                            *_maybe(vat.exemption_reason, _CBC.TaxExemptionReason),
                        ),
                    )
                    for vat in invoice.vat_breakdown
                ),
            )
        )
    if totals.vat_total_accounting is not None:
        found.append(
            _CAC.TaxTotal(
                _amount(
                    _CBC.TaxAmount,
                    totals.vat_total_accounting,
                    invoice.vat_accounting_currency or cur,
                )
            )
        )
    return found


def _monetary_total(totals: en16931.DocumentTotals, currency: str) -> etree._Element:
    return _CAC.LegalMonetaryTotal(
        _amount(_CBC.LineExtensionAmount, totals.line_total, currency),
        _amount(_CBC.TaxExclusiveAmount, totals.tax_exclusive, currency),
        _amount(_CBC.TaxInclusiveAmount, totals.tax_inclusive, currency),
        *_maybe(totals.allowance_total, lambda v: _amount(_CBC.AllowanceTotalAmount, v, currency)),
        *_maybe(totals.charge_total, lambda v: _amount(_CBC.ChargeTotalAmount, v, currency)),
        *_maybe(totals.prepaid, lambda v: _amount(_CBC.PrepaidAmount, v, currency)),
        *_maybe(totals.rounding, lambda v: _amount(_CBC.PayableRoundingAmount, v, currency)),
        _amount(_CBC.PayableAmount, totals.amount_due, currency),
    )


def _quantity(tag, value: Decimal, unit: str) -> etree._Element:
    element = tag(_text(value))
    if unit:
        element.set("unitCode", unit)
    return element


def _model_line(line: en16931.Line, currency: str, credit_note: bool) -> etree._Element:
    price = line.price
    item = line.item
    maker = _CAC.CreditNoteLine if credit_note else _CAC.InvoiceLine
    quantity = _CBC.CreditedQuantity if credit_note else _CBC.InvoicedQuantity
    price_discount = []
    if price.discount is not None or price.gross_price is not None:
        price_discount = [
            _CAC.AllowanceCharge(
                _CBC.ChargeIndicator("false"),
                _amount(
                    _CBC.Amount,
                    price.discount if price.discount is not None else Decimal("0"),
                    currency,
                ),
                *_maybe(price.gross_price, lambda v: _amount(_CBC.BaseAmount, v, currency)),
            )
        ]
    return maker(
        _CBC.ID(line.identifier),
        *_maybe(line.note, _CBC.Note),
        _quantity(quantity, line.quantity, line.unit),
        _amount(_CBC.LineExtensionAmount, line.net_amount, currency),
        *_maybe(line.buyer_accounting_reference, _CBC.AccountingCost),
        *_maybe(line.period, lambda v: _CAC.InvoicePeriod(*_period_dates(v))),
        *_maybe(line.order_line_reference, lambda v: _CAC.OrderLineReference(_CBC.LineID(v))),
        *_maybe(
            line.object_identifier,
            lambda v: _CAC.DocumentReference(
                _schemed(_CBC.ID, v), _CBC.DocumentTypeCode(ubl_reader.OBJECT_TYPE_CODE)
            ),
        ),
        *(
            _CAC.AllowanceCharge(*_allowance_charge_parts(ac, currency))
            for ac in line.allowances_charges
        ),
        _CAC.Item(
            *_maybe(item.description, _CBC.Description),
            _CBC.Name(item.name),
            *_maybe(item.buyer_identifier, lambda v: _CAC.BuyersItemIdentification(_CBC.ID(v))),
            *_maybe(item.seller_identifier, lambda v: _CAC.SellersItemIdentification(_CBC.ID(v))),
            *_maybe(
                item.standard_identifier,
                lambda v: _CAC.StandardItemIdentification(_schemed(_CBC.ID, v)),
            ),
            *_maybe(
                item.origin_country,
                lambda v: _CAC.OriginCountry(_CBC.IdentificationCode(v)),
            ),
            *(_CAC.CommodityClassification(_classification(c)) for c in item.classifications),
            _tax_category(_CAC.ClassifiedTaxCategory, line.vat_category, line.vat_rate),
            *(
                _CAC.AdditionalItemProperty(_CBC.Name(a.name), _CBC.Value(a.value))
                for a in item.attributes
            ),
        ),
        _CAC.Price(
            _amount(_CBC.PriceAmount, price.net_price, currency),
            *_maybe(
                price.base_quantity,
                lambda v: _quantity(_CBC.BaseQuantity, v, price.base_quantity_unit),
            ),
            *price_discount,
        ),
    )


def _classification(classification: en16931.Classification) -> etree._Element:
    code = _CBC.ItemClassificationCode(classification.value)
    if classification.scheme:
        code.set("listID", classification.scheme)
    if classification.version:
        code.set("listVersionID", classification.version)
    return code
