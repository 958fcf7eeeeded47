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
class LineForm:
    description: str = ""
    quantity: str = ""
    unit: str = ""
    unit_price: str = ""
    vat_rate: str = ""


@dataclass(frozen=True)
class VatForm:
    rate: str = ""
    base: str = ""
    amount: str = ""


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
    """BT-120, required when some of the invoice is at 0 %."""
