"""The invoice entity and its parts, as the rest of the service sees them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from chorus_invoices.domain.lifecycle import Status, lifecycle_code
from chorus_invoices.domain.listing import ListCriteria
from chorus_invoices.domain.totals import Totals, compute_totals, line_net


class Framework(StrEnum):
    """Cadre de facturation."""

    A1_FACTURE_FOURNISSEUR = "A1_FACTURE_FOURNISSEUR"
    A2_FACTURE_FOURNISSEUR_DEJA_PAYEE = "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE"
    A9_FACTURE_SOUSTRAITANT = "A9_FACTURE_SOUSTRAITANT"
    A12_FACTURE_COTRAITANT = "A12_FACTURE_COTRAITANT"


class InvoiceType(StrEnum):
    FACTURE = "FACTURE"
    AVOIR = "AVOIR"


SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    vat_rate: Decimal

    @property
    def net_amount(self) -> Decimal:
        return line_net(self.quantity, self.unit_price)


@dataclass(frozen=True)
class InvoiceContent:
    """What the supplier states about an invoice (besides who sends it to whom), validated."""

    service_code: str
    engagement_number: str
    framework: Framework
    type: InvoiceType
    number: str
    issue_date: date
    currency: str
    payment_terms: str
    comment: str
    lines: tuple[Line, ...]
    stated_totals: Totals | None = None
    """Totals stated by the supplier for an invoice without lines (a plain PDF deposit,
    checked by :func:`~chorus_invoices.domain.totals.stated_totals`); None: computed from
    the lines."""
    preceding_invoice: str = ""
    """BT-25: the number of the invoice a credit note corrects."""
    vat_exemption_reason: str = ""
    """BT-120: why the amounts at 0 % are exempt ("" when there are none)."""

    @property
    def has_exempt_amounts(self) -> bool:
        """Whether some of the invoice is at the 0 % rate (it then needs an exemption reason)."""
        if self.stated_totals is not None:
            return any(v.rate == 0 and v.base != 0 for v in self.stated_totals.vat_breakdown)
        return any(line.vat_rate == 0 for line in self.lines)

    def totals(self) -> Totals:
        if self.stated_totals is not None:
            return self.stated_totals
        return compute_totals((line.net_amount, line.vat_rate) for line in self.lines)


@dataclass(frozen=True)
class StructureRef:
    """A structure named on the invoice, with its name (raison sociale) as it was at deposit."""

    structure_id: str
    name: str


@dataclass(frozen=True)
class Invoice:
    id: str
    content: InvoiceContent
    supplier: StructureRef
    recipient: StructureRef
    totals: Totals
    status: Status
    created_by: str
    created_at: datetime
    updated_at: datetime
    deposited_by: str = ""
    deposited_at: datetime | None = None
    rejection_acknowledged_at: datetime | None = None
    """When the supplier acknowledged the rejection of this REJETEE invoice."""

    @property
    def lifecycle_code(self) -> int | None:
        return lifecycle_code(self.status)

    def moved_to(self, status: Status, at: datetime, by: str) -> Invoice:
        """This invoice in ``status``; entering DEPOSEE also records who deposited it."""
        if status is Status.DEPOSEE:
            return replace(self, status=status, updated_at=at, deposited_by=by, deposited_at=at)
        return replace(self, status=status, updated_at=at)


@dataclass(frozen=True)
class HistoryEntry:
    status: Status
    at: datetime
    actor: str
    comment: str = ""

    @property
    def lifecycle_code(self) -> int | None:
        return lifecycle_code(self.status)


@dataclass(frozen=True)
class InvoiceFilter:
    """What ListInvoices asks for; ``structure_ids`` already limited to what the caller sees."""

    structure_ids: tuple[str, ...]
    received: bool
    statuses: tuple[Status, ...]
    """Only invoices in one of these statuses (never empty)."""
    number_prefix: str = ""
    service_limited: tuple[tuple[str, str], ...] = ()
    """(structure id, service code): received invoices of these services of these structures,
    beside every invoice of ``structure_ids`` (users limited to some services)."""
    after: tuple[datetime, str] | None = None
    """Keyset cursor: only invoices strictly older than this (created_at, id)."""
    limit: int = 20
    criteria: ListCriteria = field(default_factory=ListCriteria)
    """Dates, amounts, other party, service."""
