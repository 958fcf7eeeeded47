"""The EN 16931-1 semantic model of an invoice: every business group and term of the core.

One frozen dataclass per business group (BG-n), one field per business term (BT-n), named
after the norm's term and carrying its id in the docstring. Text is ``str`` ("" when absent),
amounts, quantities, prices and rates are :class:`~decimal.Decimal` exactly as stated (never
rounded here; ``None`` when absent), dates are :class:`~datetime.date` (``None`` when absent),
repeatable groups are tuples. An identifier with its scheme (``…-1`` terms) is an
:class:`Identifier`.

The model is syntax-neutral: ``documents/`` reads UBL 2.1 and CII D16B into it and writes it
back out (UBL, CII, Factur-X); :mod:`chorus_invoices.domain.en16931_codec` turns it into the
JSON document persisted beside the invoice's indexed columns. Validity is the norm's
(the official schematron); what Chorus itself adds is in :mod:`chorus_invoices.domain.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Identifier:
    """An identifier and the identification scheme it belongs to (ISO 6523 ICD, EAS…)."""

    value: str
    scheme: str = ""


@dataclass(frozen=True)
class Note:
    """BG-1 INVOICE NOTE."""

    text: str
    """BT-22 Invoice note."""
    subject_code: str = ""
    """BT-21 Invoice note subject code (UNTDID 4451, e.g. ``AAI``, ``REG``, ``PMT``)."""


@dataclass(frozen=True)
class PrecedingInvoice:
    """BG-3 PRECEDING INVOICE REFERENCE."""

    number: str
    """BT-25 Preceding Invoice reference."""
    issue_date: date | None = None
    """BT-26 Preceding Invoice issue date."""


@dataclass(frozen=True)
class Address:
    """BG-5 / BG-8 / BG-12 / BG-15 postal address."""

    line1: str = ""
    """BT-35 / BT-50 / BT-64 / BT-75 Address line 1."""
    line2: str = ""
    """BT-36 / BT-51 / BT-65 / BT-76 Address line 2."""
    line3: str = ""
    """BT-162 / BT-163 / BT-164 / BT-165 Address line 3."""
    city: str = ""
    """BT-37 / BT-52 / BT-66 / BT-77 City."""
    postal_code: str = ""
    """BT-38 / BT-53 / BT-67 / BT-78 Post code."""
    subdivision: str = ""
    """BT-39 / BT-54 / BT-68 / BT-79 Country subdivision."""
    country: str = ""
    """BT-40 / BT-55 / BT-69 / BT-80 Country code (ISO 3166-1 alpha-2)."""


@dataclass(frozen=True)
class Contact:
    """BG-6 SELLER CONTACT / BG-9 BUYER CONTACT."""

    point: str = ""
    """BT-41 / BT-56 contact point."""
    telephone: str = ""
    """BT-42 / BT-57 contact telephone number."""
    email: str = ""
    """BT-43 / BT-58 contact email address."""


@dataclass(frozen=True)
class Seller:
    """BG-4 SELLER."""

    name: str
    """BT-27 Seller name."""
    trading_name: str = ""
    """BT-28 Seller trading name."""
    identifiers: tuple[Identifier, ...] = ()
    """BT-29 Seller identifier (with BT-29-1 scheme), repeatable."""
    legal_registration: Identifier | None = None
    """BT-30 Seller legal registration identifier (with BT-30-1 scheme: ``0009`` = SIRET,
    ``0002`` = SIREN)."""
    vat_identifier: str = ""
    """BT-31 Seller VAT identifier."""
    tax_registration: str = ""
    """BT-32 Seller tax registration identifier."""
    additional_legal_information: str = ""
    """BT-33 Seller additional legal information."""
    electronic_address: Identifier | None = None
    """BT-34 Seller electronic address (with BT-34-1 scheme, EAS)."""
    address: Address = Address()
    """BG-5 SELLER POSTAL ADDRESS."""
    contact: Contact | None = None
    """BG-6 SELLER CONTACT."""


@dataclass(frozen=True)
class Buyer:
    """BG-7 BUYER."""

    name: str
    """BT-44 Buyer name."""
    trading_name: str = ""
    """BT-45 Buyer trading name."""
    identifier: Identifier | None = None
    """BT-46 Buyer identifier (with BT-46-1 scheme)."""
    legal_registration: Identifier | None = None
    """BT-47 Buyer legal registration identifier (with BT-47-1 scheme)."""
    vat_identifier: str = ""
    """BT-48 Buyer VAT identifier."""
    electronic_address: Identifier | None = None
    """BT-49 Buyer electronic address (with BT-49-1 scheme)."""
    address: Address = Address()
    """BG-8 BUYER POSTAL ADDRESS."""
    contact: Contact | None = None
    """BG-9 BUYER CONTACT."""


@dataclass(frozen=True)
class Payee:
    """BG-10 PAYEE."""

    name: str
    """BT-59 Payee name."""
    identifier: Identifier | None = None
    """BT-60 Payee identifier (with BT-60-1 scheme)."""
    legal_registration: Identifier | None = None
    """BT-61 Payee legal registration identifier (with BT-61-1 scheme)."""


@dataclass(frozen=True)
class TaxRepresentative:
    """BG-11 SELLER TAX REPRESENTATIVE PARTY."""

    name: str
    """BT-62 Seller tax representative name."""
    vat_identifier: str
    """BT-63 Seller tax representative VAT identifier."""
    address: Address = Address()
    """BG-12 SELLER TAX REPRESENTATIVE POSTAL ADDRESS."""


@dataclass(frozen=True)
class Period:
    """BG-14 INVOICING PERIOD / BG-26 INVOICE LINE PERIOD."""

    start: date | None = None
    """BT-73 / BT-134 start date."""
    end: date | None = None
    """BT-74 / BT-135 end date."""


@dataclass(frozen=True)
class Delivery:
    """BG-13 DELIVERY INFORMATION (BG-15 the deliver-to address)."""

    party_name: str = ""
    """BT-70 Deliver to party name."""
    location: Identifier | None = None
    """BT-71 Deliver to location identifier (with BT-71-1 scheme)."""
    date: date | None = None
    """BT-72 Actual delivery date."""
    address: Address | None = None
    """BG-15 DELIVER TO ADDRESS."""


@dataclass(frozen=True)
class CreditTransfer:
    """BG-17 CREDIT TRANSFER."""

    account: str
    """BT-84 Payment account identifier (an IBAN for SEPA)."""
    account_name: str = ""
    """BT-85 Payment account name."""
    service_provider: str = ""
    """BT-86 Payment service provider identifier (a BIC)."""


@dataclass(frozen=True)
class PaymentCard:
    """BG-18 PAYMENT CARD INFORMATION."""

    primary_account_number: str
    """BT-87 Payment card primary account number (at most the last 4–6 digits)."""
    holder_name: str = ""
    """BT-88 Payment card holder name."""


@dataclass(frozen=True)
class DirectDebit:
    """BG-19 DIRECT DEBIT."""

    mandate_reference: str = ""
    """BT-89 Mandate reference identifier."""
    creditor_identifier: str = ""
    """BT-90 Bank assigned creditor identifier."""
    debited_account: str = ""
    """BT-91 Debited account identifier."""


@dataclass(frozen=True)
class PaymentInstructions:
    """BG-16 PAYMENT INSTRUCTIONS."""

    means_code: str
    """BT-81 Payment means type code (UNTDID 4461: 30 credit transfer, 58 SEPA credit transfer,
    49/59 direct debit, 48/54/55 card, 10 cash, 20 cheque, 1 not defined)."""
    means_text: str = ""
    """BT-82 Payment means text."""
    remittance_information: str = ""
    """BT-83 Remittance information."""
    credit_transfers: tuple[CreditTransfer, ...] = ()
    """BG-17 CREDIT TRANSFER, repeatable."""
    card: PaymentCard | None = None
    """BG-18 PAYMENT CARD INFORMATION."""
    direct_debit: DirectDebit | None = None
    """BG-19 DIRECT DEBIT."""


@dataclass(frozen=True)
class AllowanceCharge:
    """BG-20 DOCUMENT LEVEL ALLOWANCES (``charge=False``) / BG-21 DOCUMENT LEVEL CHARGES
    (``charge=True``): BT-92…BT-98 / BT-99…BT-105."""

    charge: bool
    amount: Decimal
    """BT-92 / BT-99 amount (without VAT)."""
    base_amount: Decimal | None = None
    """BT-93 / BT-100 base amount."""
    percentage: Decimal | None = None
    """BT-94 / BT-101 percentage."""
    vat_category: str = ""
    """BT-95 / BT-102 VAT category code (UNCL 5305: S, Z, E, AE, K, G, O, L, M)."""
    vat_rate: Decimal | None = None
    """BT-96 / BT-103 VAT rate (percent)."""
    reason: str = ""
    """BT-97 / BT-104 reason."""
    reason_code: str = ""
    """BT-98 / BT-105 reason code (UNTDID 5189 for allowances, 7161 for charges)."""


@dataclass(frozen=True)
class LineAllowanceCharge:
    """BG-27 INVOICE LINE ALLOWANCES (``charge=False``) / BG-28 INVOICE LINE CHARGES
    (``charge=True``): BT-136…BT-140 / BT-141…BT-145."""

    charge: bool
    amount: Decimal
    """BT-136 / BT-141 amount (without VAT)."""
    base_amount: Decimal | None = None
    """BT-137 / BT-142 base amount."""
    percentage: Decimal | None = None
    """BT-138 / BT-143 percentage."""
    reason: str = ""
    """BT-139 / BT-144 reason."""
    reason_code: str = ""
    """BT-140 / BT-145 reason code."""


@dataclass(frozen=True)
class DocumentTotals:
    """BG-22 DOCUMENT TOTALS, as stated."""

    line_total: Decimal
    """BT-106 Sum of Invoice line net amount."""
    tax_exclusive: Decimal
    """BT-109 Invoice total amount without VAT."""
    tax_inclusive: Decimal
    """BT-112 Invoice total amount with VAT."""
    amount_due: Decimal
    """BT-115 Amount due for payment."""
    allowance_total: Decimal | None = None
    """BT-107 Sum of allowances on document level."""
    charge_total: Decimal | None = None
    """BT-108 Sum of charges on document level."""
    vat_total: Decimal | None = None
    """BT-110 Invoice total VAT amount (in the invoice currency, BT-5)."""
    vat_total_accounting: Decimal | None = None
    """BT-111 Invoice total VAT amount in accounting currency (BT-6)."""
    prepaid: Decimal | None = None
    """BT-113 Paid amount."""
    rounding: Decimal | None = None
    """BT-114 Rounding amount."""


@dataclass(frozen=True)
class VatBreakdown:
    """BG-23 VAT BREAKDOWN."""

    category: str
    """BT-118 VAT category code (UNCL 5305)."""
    taxable_amount: Decimal
    """BT-116 VAT category taxable amount."""
    tax_amount: Decimal
    """BT-117 VAT category tax amount."""
    rate: Decimal | None = None
    """BT-119 VAT category rate (percent; absent for category O)."""
    exemption_reason: str = ""
    """BT-120 VAT exemption reason text."""
    exemption_reason_code: str = ""
    """BT-121 VAT exemption reason code (VATEX, e.g. ``VATEX-EU-F``)."""


@dataclass(frozen=True)
class SupportingDocument:
    """BG-24 ADDITIONAL SUPPORTING DOCUMENTS."""

    reference: str
    """BT-122 Supporting document reference."""
    description: str = ""
    """BT-123 Supporting document description."""
    external_location: str = ""
    """BT-124 External document location (a URL)."""
    content: bytes | None = None
    """BT-125 Attached document (the bytes, not base64)."""
    mime_code: str = ""
    """BT-125-1 Attached document Mime code."""
    filename: str = ""
    """BT-125-2 Attached document Filename."""


@dataclass(frozen=True)
class Price:
    """BG-29 PRICE DETAILS."""

    net_price: Decimal
    """BT-146 Item net price."""
    discount: Decimal | None = None
    """BT-147 Item price discount."""
    gross_price: Decimal | None = None
    """BT-148 Item gross price."""
    base_quantity: Decimal | None = None
    """BT-149 Item price base quantity."""
    base_quantity_unit: str = ""
    """BT-150 Item price base quantity unit of measure code."""


@dataclass(frozen=True)
class Classification:
    """BT-158 Item classification identifier, with BT-158-1 scheme (UNTDID 7143, e.g.
    ``STI`` CPV) and BT-158-2 scheme version."""

    value: str
    scheme: str = ""
    version: str = ""


@dataclass(frozen=True)
class ItemAttribute:
    """BG-32 ITEM ATTRIBUTES."""

    name: str
    """BT-160 Item attribute name."""
    value: str
    """BT-161 Item attribute value."""


@dataclass(frozen=True)
class Item:
    """BG-31 ITEM INFORMATION."""

    name: str
    """BT-153 Item name."""
    description: str = ""
    """BT-154 Item description."""
    seller_identifier: str = ""
    """BT-155 Item Seller's identifier."""
    buyer_identifier: str = ""
    """BT-156 Item Buyer's identifier."""
    standard_identifier: Identifier | None = None
    """BT-157 Item standard identifier (with BT-157-1 scheme, e.g. ``0160`` GTIN)."""
    classifications: tuple[Classification, ...] = ()
    """BT-158 Item classification identifier, repeatable."""
    origin_country: str = ""
    """BT-159 Item country of origin."""
    attributes: tuple[ItemAttribute, ...] = ()
    """BG-32 ITEM ATTRIBUTES, repeatable."""


@dataclass(frozen=True)
class Line:
    """BG-25 INVOICE LINE."""

    identifier: str
    """BT-126 Invoice line identifier."""
    quantity: Decimal
    """BT-129 Invoiced quantity."""
    unit: str
    """BT-130 Invoiced quantity unit of measure code (UN/ECE Rec 20/21)."""
    net_amount: Decimal
    """BT-131 Invoice line net amount, as stated."""
    price: Price
    """BG-29 PRICE DETAILS."""
    vat_category: str
    """BT-151 Invoiced item VAT category code."""
    item: Item
    """BG-31 ITEM INFORMATION."""
    vat_rate: Decimal | None = None
    """BT-152 Invoiced item VAT rate (absent for category O)."""
    note: str = ""
    """BT-127 Invoice line note."""
    object_identifier: Identifier | None = None
    """BT-128 Invoice line object identifier (with BT-128-1 scheme)."""
    order_line_reference: str = ""
    """BT-132 Referenced purchase order line reference."""
    buyer_accounting_reference: str = ""
    """BT-133 Invoice line Buyer accounting reference."""
    period: Period | None = None
    """BG-26 INVOICE LINE PERIOD."""
    allowances_charges: tuple[LineAllowanceCharge, ...] = ()
    """BG-27 / BG-28, repeatable, in document order."""


@dataclass(frozen=True)
class Invoice:
    """BG-0 the invoice, as EN 16931 states it."""

    number: str
    """BT-1 Invoice number."""
    issue_date: date
    """BT-2 Invoice issue date."""
    type_code: str
    """BT-3 Invoice type code (UNTDID 1001: 380 commercial invoice, 381 credit note, 384
    corrected invoice, 386 prepayment invoice, 389 self-billed invoice…)."""
    currency: str
    """BT-5 Invoice currency code (ISO 4217)."""
    seller: Seller
    """BG-4 SELLER."""
    buyer: Buyer
    """BG-7 BUYER."""
    totals: DocumentTotals
    """BG-22 DOCUMENT TOTALS."""
    vat_breakdown: tuple[VatBreakdown, ...]
    """BG-23 VAT BREAKDOWN, one per category and rate."""
    lines: tuple[Line, ...]
    """BG-25 INVOICE LINE, at least one."""
    specification_identifier: str = "urn:cen.eu:en16931:2017"
    """BT-24 Specification identifier (BG-2 PROCESS CONTROL)."""
    business_process: str = ""
    """BT-23 Business process type (BG-2; the French CIUS carries the cadre de facturation,
    ``A1``…, here)."""
    vat_accounting_currency: str = ""
    """BT-6 VAT accounting currency code."""
    tax_point_date: date | None = None
    """BT-7 Value added tax point date."""
    tax_point_date_code: str = ""
    """BT-8 Value added tax point date code (UNTDID 2005: 3, 35, 432)."""
    due_date: date | None = None
    """BT-9 Payment due date."""
    buyer_reference: str = ""
    """BT-10 Buyer reference (the French CIUS: the recipient's service code)."""
    project_reference: str = ""
    """BT-11 Project reference."""
    contract_reference: str = ""
    """BT-12 Contract reference."""
    purchase_order_reference: str = ""
    """BT-13 Purchase order reference (the French CIUS: the engagement number)."""
    sales_order_reference: str = ""
    """BT-14 Sales order reference."""
    receiving_advice_reference: str = ""
    """BT-15 Receiving advice reference."""
    despatch_advice_reference: str = ""
    """BT-16 Despatch advice reference."""
    tender_reference: str = ""
    """BT-17 Tender or lot reference."""
    invoiced_object: Identifier | None = None
    """BT-18 Invoiced object identifier (with BT-18-1 scheme)."""
    buyer_accounting_reference: str = ""
    """BT-19 Buyer accounting reference."""
    payment_terms: str = ""
    """BT-20 Payment terms."""
    notes: tuple[Note, ...] = ()
    """BG-1 INVOICE NOTE, repeatable."""
    preceding_invoices: tuple[PrecedingInvoice, ...] = ()
    """BG-3 PRECEDING INVOICE REFERENCE, repeatable."""
    payee: Payee | None = None
    """BG-10 PAYEE."""
    tax_representative: TaxRepresentative | None = None
    """BG-11 SELLER TAX REPRESENTATIVE PARTY."""
    delivery: Delivery | None = None
    """BG-13 DELIVERY INFORMATION."""
    invoicing_period: Period | None = None
    """BG-14 INVOICING PERIOD."""
    payment_instructions: PaymentInstructions | None = None
    """BG-16 PAYMENT INSTRUCTIONS."""
    allowances_charges: tuple[AllowanceCharge, ...] = ()
    """BG-20 / BG-21, repeatable, in document order."""
    supporting_documents: tuple[SupportingDocument, ...] = ()
    """BG-24 ADDITIONAL SUPPORTING DOCUMENTS, repeatable."""

    @property
    def allowances(self) -> tuple[AllowanceCharge, ...]:
        """BG-20 only."""
        return tuple(ac for ac in self.allowances_charges if not ac.charge)

    @property
    def charges(self) -> tuple[AllowanceCharge, ...]:
        """BG-21 only."""
        return tuple(ac for ac in self.allowances_charges if ac.charge)


CREDIT_NOTE_TYPE_CODES = frozenset({"81", "83", "381", "396", "532"})
"""UNTDID 1001 codes EN 16931 allows that are credit notes (the rest are invoices)."""
