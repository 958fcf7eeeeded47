"""The invoice entity and its parts, as the rest of the service sees them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from chorus_invoices.domain import en16931
from chorus_invoices.domain.lifecycle import Status, lifecycle_code
from chorus_invoices.domain.listing import ListCriteria, ListOrder
from chorus_invoices.domain.totals import (
    Totals,
    compute_totals,
    default_category,
    line_net,
    totals_of,
)


class Framework(StrEnum):
    """Cadre de facturation."""

    A1_FACTURE_FOURNISSEUR = "A1_FACTURE_FOURNISSEUR"
    A2_FACTURE_FOURNISSEUR_DEJA_PAYEE = "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE"
    A9_FACTURE_SOUSTRAITANT = "A9_FACTURE_SOUSTRAITANT"
    A12_FACTURE_COTRAITANT = "A12_FACTURE_COTRAITANT"


FRAMEWORK_CODES = {
    Framework.A1_FACTURE_FOURNISSEUR: "A1",
    Framework.A2_FACTURE_FOURNISSEUR_DEJA_PAYEE: "A2",
    Framework.A9_FACTURE_SOUSTRAITANT: "A9",
    Framework.A12_FACTURE_COTRAITANT: "A12",
}
"""The cadre de facturation as BT-23 carries it."""


def framework_name(code: str) -> str:
    """BT-23 ``A1`` → ``A1_FACTURE_FOURNISSEUR``; an unknown ``A``/``B``-code is passed on as
    it is (refused by name); anything else (a Peppol profile URN, nothing) is the default A1."""
    code = code.strip().upper()
    names = {value: name.value for name, value in FRAMEWORK_CODES.items()}
    if code in names:
        return names[code]
    if len(code) <= 3 and code[:1] in ("A", "B") and code[1:].isdigit():
        return code
    return Framework.A1_FACTURE_FOURNISSEUR.value


class InvoiceType(StrEnum):
    FACTURE = "FACTURE"
    AVOIR = "AVOIR"


TYPE_CODES = {InvoiceType.FACTURE: "380", InvoiceType.AVOIR: "381"}
"""The UNTDID 1001 code a portal invoice of each type carries."""


def invoice_type_of(type_code: str) -> InvoiceType:
    """AVOIR for the credit-note codes EN 16931 allows (81, 83, 381, 396, 532), FACTURE for
    every other (380, 384, 386, 389…)."""
    if type_code.strip() in en16931.CREDIT_NOTE_TYPE_CODES:
        return InvoiceType.AVOIR
    return InvoiceType.FACTURE


class DepositMode(StrEnum):
    """How an invoice came in (Chorus Pro ``modeDepot``)."""

    ENTRY = "ENTRY"
    """CreateInvoice: typed in (the portal form, or an entry through the API)."""
    PDF = "PDF"
    """DepositPdfInvoice: a PDF, plain or Factur-X."""
    FILE = "FILE"
    """DepositStructuredInvoice: one UBL, CII or Factur-X file."""
    BATCH = "BATCH"
    """DepositInvoiceBatch: one file of an archive."""
    FLOW = "FLOW"
    """DepositFlow: one file of a flow deposited through the Chorus Pro API."""


SYSTEM_ACTOR = "system"

InvoiceRef = str | int
"""How a caller names one invoice: its UUID (``str``) or its integer ``cpp_id`` (``int``)."""


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    """Net price of one unit (BT-146 / BT-149)."""
    vat_rate: Decimal
    vat_category: str = ""
    """BT-151; "" on lines stored before categories were kept (S above 0 %, E at 0 %)."""
    net: Decimal | None = None
    """BT-131 as stated or computed with the line's allowances and charges; None: quantity ×
    unit price (lines stored before)."""
    allowances_charges: tuple[en16931.LineAllowanceCharge, ...] = ()

    @property
    def net_amount(self) -> Decimal:
        return self.net if self.net is not None else line_net(self.quantity, self.unit_price)

    @property
    def category(self) -> str:
        return self.vat_category or default_category(self.vat_rate)


def lines_of(model: en16931.Invoice) -> tuple[Line, ...]:
    """The model's lines as the service indexes and shows them."""
    return tuple(
        Line(
            description=line.item.name,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=(
                line.price.net_price / line.price.base_quantity
                if line.price.base_quantity
                else line.price.net_price
            ),
            vat_rate=line.vat_rate if line.vat_rate is not None else Decimal(0),
            vat_category=line.vat_category,
            net=line.net_amount,
            allowances_charges=line.allowances_charges,
        )
        for line in model.lines
    )


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
    """BT-120: why the exempt amounts are exempt ("" when there are none)."""
    type_code: str = ""
    """BT-3 (UNTDID 1001); "" for an invoice stored before it was kept (380 or 381 by type)."""
    document: en16931.Invoice | None = None
    """The whole EN 16931 model: read from the deposited file, or built from the portal entry
    (its seller and buyer filled from the directory at deposit); None for invoices stored
    before the model was kept."""

    @property
    def invoice_type_code(self) -> str:
        return self.type_code or TYPE_CODES[self.type]

    def totals(self) -> Totals:
        if self.document is not None:
            return totals_of(self.document)
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
    cpp_id: int = 0
    """The integer id (Chorus Pro ``identifiantFactureCPP``) the database gives at creation;
    0 until the invoice is stored."""
    deposit_mode: DepositMode = DepositMode.ENTRY
    flow_number: str = ""
    """The flow (DepositFlow) that brought the invoice, "" for none."""
    recipient_downloaded_at: datetime | None = None
    """When a recipient-side user first downloaded the invoice's document."""

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
    offset: int | None = None
    """Paging by number: skip this many (instead of the keyset ``after``)."""
    number_prefix: str = ""
    service_limited: tuple[tuple[str, str], ...] = ()
    """(structure id, service code): received invoices of these services of these structures,
    beside every invoice of ``structure_ids`` (users limited to some services)."""
    after: tuple[datetime, str] | None = None
    """Keyset cursor: only invoices strictly older than this (created_at, id)."""
    limit: int = 20
    criteria: ListCriteria = field(default_factory=ListCriteria)
    """Dates, amounts, other party, service."""
    order: ListOrder = field(default_factory=ListOrder)
    """Deposit time, newest first, unless paging by number (``offset``)."""
