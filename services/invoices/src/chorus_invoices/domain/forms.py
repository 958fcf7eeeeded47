"""An invoice as typed in: the portal's form, and what a structured file is turned into.

Raw strings everywhere, enums by name ("" when not given), read into domain values by
:func:`~chorus_invoices.domain.validation.validate_invoice`. The API maps requests to these
forms, the document layer maps a file's business terms to them (so a file meets exactly the
rules a typed-in invoice meets), and :mod:`~chorus_invoices.domain.contradictions` compares a
form with a document's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LineAllowanceChargeForm:
    """A line discount (``charge`` False) or charge: an amount, or a percentage of the line's
    quantity × price (or of ``base_amount``), with a reason or a reason code."""

    charge: bool = False
    amount: str = ""
    percentage: str = ""
    base_amount: str = ""
    reason: str = ""
    reason_code: str = ""


@dataclass(frozen=True)
class AllowanceChargeForm:
    """A document-level allowance ("remise globale", ``charge`` False) or charge: an amount,
    or a percentage of ``base_amount`` (else of the lines' total), with its VAT category and
    rate (default: those of the lines when they all share one) and a reason or reason code."""

    charge: bool = False
    amount: str = ""
    percentage: str = ""
    base_amount: str = ""
    vat_category: str = ""
    vat_rate: str = ""
    reason: str = ""
    reason_code: str = ""


@dataclass(frozen=True)
class LineForm:
    description: str = ""
    quantity: str = ""
    unit: str = ""
    unit_price: str = ""
    vat_rate: str = ""
    vat_category: str = ""
    """"" : S above 0 %, E at 0 %; Z (zero-rated) may be chosen at 0 %."""
    allowances_charges: tuple[LineAllowanceChargeForm, ...] = ()


@dataclass(frozen=True)
class VatForm:
    rate: str = ""
    base: str = ""
    amount: str = ""
    category: str = ""


@dataclass(frozen=True)
class PaymentForm:
    """BG-16 / BG-17: means code (UNTDID 4461), IBAN, BIC, account name, remittance text."""

    means_code: str = ""
    iban: str = ""
    bic: str = ""
    account_name: str = ""
    remittance_information: str = ""


@dataclass(frozen=True)
class AddressForm:
    line1: str = ""
    line2: str = ""
    line3: str = ""
    postal_code: str = ""
    city: str = ""
    subdivision: str = ""
    country: str = ""


@dataclass(frozen=True)
class DeliveryForm:
    """BG-13 / BG-15."""

    party_name: str = ""
    date: str = ""
    address: AddressForm | None = None


@dataclass(frozen=True)
class TotalsForm:
    """Totals as typed in for an invoice without lines (a plain PDF deposit)."""

    net_total: str = ""
    vat_total: str = ""
    gross_total: str = ""
    vat_breakdown: tuple[VatForm, ...] = ()


@dataclass(frozen=True)
class RecipientRef:
    """The recipient by id, or by (identifier type, identifier) as in the directory."""

    structure_id: str = ""
    identifier_type: str = ""
    identifier: str = ""


@dataclass(frozen=True)
class InvoiceForm:
    """An invoice as typed in: strings everywhere, enums by name ("" when not given)."""

    supplier_structure_id: str = ""
    recipient: RecipientRef = RecipientRef()
    service_code: str = ""
    engagement_number: str = ""
    framework: str = ""
    type: str = ""
    number: str = ""
    issue_date: str = ""
    currency: str = ""
    payment_terms: str = ""
    comment: str = ""
    lines: tuple[LineForm, ...] = ()
    totals: TotalsForm | None = None
    """Stated instead of ``lines`` (which must then be empty); None: computed from lines."""
    preceding_invoice: str = ""
    """BT-25, the invoice a credit note corrects."""
    vat_exemption_reason: str = ""
    """BT-120; it or ``vat_exemption_reason_code`` is required when some of the invoice is
    exempt (category E)."""
    vat_exemption_reason_code: str = ""
    """BT-121, a VATEX code (``VATEX-FR-FRANCHISE``…)."""
    allowances_charges: tuple[AllowanceChargeForm, ...] = ()
    prepaid_amount: str = ""
    """BT-113, deducted from the amount due."""
    contract_reference: str = ""
    """BT-12."""
    payment: PaymentForm | None = None
    delivery: DeliveryForm | None = None
    invoicing_period_start: str = ""
    invoicing_period_end: str = ""
    due_date: str = ""
    """BT-9."""
