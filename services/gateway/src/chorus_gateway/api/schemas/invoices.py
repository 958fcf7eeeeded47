"""Invoices: REST models and their mapping to/from ``chorus.invoices.v1``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from uuid import UUID

from chorus.invoices.v1 import invoices_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_gateway.api.amounts import Amount
from chorus_gateway.edge.conversions import RequestModel, optional, timestamp
from chorus_gateway.edge.enums import ProtoEnum
from chorus_gateway.edge.invoices import (
    FRAMEWORK,
    INVOICE_STATUS,
    INVOICE_TYPE,
    Framework,
    InvoiceStatus,
    InvoiceType,
)
from chorus_gateway.edge.problems import FieldError, ProblemError
from chorus_gateway.edge.structures import IdentifierType


class RecipientBody(RequestModel):
    identifier_type: IdentifierType
    identifier: str


class LineBody(RequestModel):
    description: str
    quantity: Amount
    unit: str = Field(description='UN/ECE rec. 20 unit code, e.g. "C62" (unit), "HUR" (hour).')
    unit_price: Amount
    vat_rate: Amount = Field(description='VAT rate in percent: "20", "10", "5.5", "2.1", "0".')


class CreateInvoiceBody(RequestModel):
    """A portal-entry invoice: the recipient by identifier or by structure id (one of them)."""

    supplier_structure_id: UUID
    recipient: RecipientBody | None = None
    recipient_structure_id: UUID | None = None
    service_code: str | None = None
    engagement_number: str | None = None
    framework: Framework
    type: InvoiceType
    number: str
    issue_date: date
    currency: str = "EUR"
    payment_terms: str | None = None
    lines: list[LineBody]
    comment: str | None = None
    preceding_invoice_number: str | None = Field(
        None, description="BT-25: the invoice a credit note (AVOIR) corrects; required then."
    )
    vat_exemption_reason: str | None = Field(
        None,
        description="BT-120: why amounts at 0 % are exempt; required when a line is at 0 %.",
    )


class Line(BaseModel):
    description: str
    quantity: str
    unit: str
    unit_price: str
    vat_rate: str
    net_amount: str


class VatBreakdown(BaseModel):
    rate: str
    base: str
    amount: str


class Totals(BaseModel):
    net_total: str
    vat_total: str
    gross_total: str
    amount_due: str
    vat_breakdown: list[VatBreakdown]


class RuleFinding(BaseModel):
    rule_id: str = Field(description='EN 16931 rule, e.g. "BR-CO-10" ("XSD" for the schema).')
    message: str
    location: str = Field(description="XPath of the offending element.")
    fatal: bool


class InvoiceDocumentRef(BaseModel):
    id: str
    role: str = Field(description="FACTURX (generated at portal entry) or ORIGINAL (deposited).")
    filename: str
    media_type: str
    size: int


class LifecycleCode(BaseModel):
    code: int = Field(description="Lifecycle code of the 2026 reform, e.g. 204.")
    label: str = Field(description='The reform\'s label, e.g. "Prise en charge".')
    description: str = Field(
        description="The code, its label and the Chorus status that gave it, e.g. "
        '"204 Prise en charge — service fait".'
    )


_LIFECYCLE_CODE = (
    "Lifecycle code of the 2026 reform the status gives (DSE Chorus Pro v1.1, tables 8, 11, "
    "12): 200 DEPOSEE, 201 EN_COURS_ACHEMINEMENT, 203 MISE_A_DISPOSITION, 204 "
    "PRISE_EN_COMPTE_DESTINATAIRE to COMPTABILISEE, 208 SUSPENDUE, 209 COMPLETEE, 210 "
    "REJETEE and A_RECYCLER, 211 MISE_EN_PAIEMENT; null for a draft."
)
_LIFECYCLE_LABEL = 'The reform\'s label of lifecycle_code, e.g. "Prise en charge".'
_LIFECYCLE_DESCRIPTION = (
    "The code, its label and the Chorus status that gave it, e.g. "
    '"204 Prise en charge — service fait".'
)
_LIFECYCLE_CODES = (
    "Every reform code the status gives, lifecycle_code first: MISE_EN_PAIEMENT gives 211 "
    "Paiement transmis then 212 Encaissée (Chorus produces it for historic B2G invoices)."
)


class Invoice(BaseModel):
    id: str
    number: str
    supplier_structure_id: str
    recipient_structure_id: str | None
    service_code: str | None
    engagement_number: str | None
    framework: Framework | None
    type: InvoiceType | None
    issue_date: str | None = Field(description="ISO date, YYYY-MM-DD.")
    currency: str
    payment_terms: str | None
    lines: list[Line]
    totals: Totals
    status: InvoiceStatus | None
    lifecycle_code: int | None = Field(description=_LIFECYCLE_CODE)
    lifecycle_label: str | None = Field(None, description=_LIFECYCLE_LABEL)
    lifecycle_description: str | None = Field(None, description=_LIFECYCLE_DESCRIPTION)
    lifecycle_codes: list[LifecycleCode] = Field(default_factory=list, description=_LIFECYCLE_CODES)
    comment: str | None
    preceding_invoice_number: str | None = Field(
        None, description="BT-25: the invoice a credit note corrects."
    )
    vat_exemption_reason: str | None = Field(
        None, description="BT-120: why amounts at 0 % are exempt."
    )
    created_by: str | None
    created_at: datetime | None
    updated_at: datetime | None
    allowed_actions: list[str] = Field(description='Actions the caller may take now ("SUBMIT").')
    rejection_acknowledged_at: datetime | None = Field(
        None, description="When the supplier acknowledged the rejection (REJETEE only)."
    )
    warnings: list[RuleFinding] = Field(
        default_factory=list, description="EN 16931 warnings of a structured deposit."
    )
    documents: list[InvoiceDocumentRef] = Field(
        default_factory=list, description="Files kept with the invoice (detail only)."
    )


class InvoicePage(BaseModel):
    items: list[Invoice]
    next_page_token: str | None


class HistoryEntry(BaseModel):
    status: InvoiceStatus | None
    lifecycle_code: int | None = Field(description=_LIFECYCLE_CODE)
    lifecycle_label: str | None = Field(None, description=_LIFECYCLE_LABEL)
    lifecycle_description: str | None = Field(None, description=_LIFECYCLE_DESCRIPTION)
    lifecycle_codes: list[LifecycleCode] = Field(default_factory=list, description=_LIFECYCLE_CODES)
    at: datetime | None
    actor: str = Field(description='User id, or "system" for routing.')
    comment: str | None


class History(BaseModel):
    items: list[HistoryEntry]


def recipient_ref(body: CreateInvoiceBody) -> pb.RecipientRef:
    """The recipient designation; exactly one of ``recipient`` / ``recipient_structure_id``."""
    if (body.recipient is None) == (body.recipient_structure_id is None):
        message = "Indiquez le destinataire soit par recipient, soit par recipient_structure_id."
        raise ProblemError(
            422,
            "VALIDATION_FAILED",
            "La requête contient des champs invalides ; corrigez les champs indiqués.",
            [FieldError(field="recipient", message=message)],
        )
    if body.recipient_structure_id is not None:
        return pb.RecipientRef(structure_id=str(body.recipient_structure_id))
    assert body.recipient is not None
    return pb.RecipientRef(
        identifier_type=str(body.recipient.identifier_type), identifier=body.recipient.identifier
    )


def create_request(body: CreateInvoiceBody, *, draft: bool) -> pb.CreateInvoiceRequest:
    return pb.CreateInvoiceRequest(
        supplier_structure_id=str(body.supplier_structure_id),
        recipient=recipient_ref(body),
        service_code=body.service_code or "",
        engagement_number=body.engagement_number or "",
        framework=FRAMEWORK.to_proto(body.framework),
        type=INVOICE_TYPE.to_proto(body.type),
        number=body.number,
        issue_date=body.issue_date.isoformat(),
        currency=body.currency,
        payment_terms=body.payment_terms or "",
        lines=[
            pb.InvoiceLine(
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                vat_rate=line.vat_rate,
            )
            for line in body.lines
        ],
        comment=body.comment or "",
        draft=draft,
        preceding_invoice_number=body.preceding_invoice_number or "",
        vat_exemption_reason=body.vat_exemption_reason or "",
    )


def totals(message: pb.Totals) -> Totals:
    return Totals(
        net_total=message.net_total,
        vat_total=message.vat_total,
        gross_total=message.gross_total,
        amount_due=message.amount_due,
        vat_breakdown=[
            VatBreakdown(rate=v.rate, base=v.base, amount=v.amount) for v in message.vat_breakdown
        ],
    )


def line(message: pb.InvoiceLine) -> Line:
    return Line(
        description=message.description,
        quantity=message.quantity,
        unit=message.unit,
        unit_price=message.unit_price,
        vat_rate=message.vat_rate,
        net_amount=message.net_amount,
    )


def invoice(message: pb.Invoice) -> Invoice:
    return Invoice(
        id=message.id,
        number=message.number,
        supplier_structure_id=message.supplier_structure_id,
        recipient_structure_id=optional(message.recipient_structure_id),
        service_code=optional(message.service_code),
        engagement_number=optional(message.engagement_number),
        framework=FRAMEWORK.to_rest(message.framework),
        type=INVOICE_TYPE.to_rest(message.type),
        issue_date=optional(message.issue_date),
        currency=message.currency,
        payment_terms=optional(message.payment_terms),
        lines=[line(item) for item in message.lines],
        totals=totals(message.totals),
        status=INVOICE_STATUS.to_rest(message.status),
        lifecycle_code=message.lifecycle_code or None,
        lifecycle_label=optional(message.lifecycle_label),
        lifecycle_description=optional(message.lifecycle_description),
        lifecycle_codes=lifecycle_codes(message.lifecycle_codes),
        comment=optional(message.comment),
        preceding_invoice_number=optional(message.preceding_invoice_number),
        vat_exemption_reason=optional(message.vat_exemption_reason),
        created_by=optional(message.created_by),
        created_at=timestamp(message, "created_at"),
        updated_at=timestamp(message, "updated_at"),
        allowed_actions=list(message.allowed_actions),
        rejection_acknowledged_at=timestamp(message, "rejection_acknowledged_at"),
        warnings=[
            RuleFinding(rule_id=w.rule_id, message=w.message, location=w.location, fatal=w.fatal)
            for w in message.warnings
        ],
        documents=[
            InvoiceDocumentRef(
                id=d.id, role=d.role, filename=d.filename, media_type=d.media_type, size=d.size
            )
            for d in message.documents
        ],
    )


def lifecycle_codes(messages: Iterable[pb.LifecycleCode]) -> list[LifecycleCode]:
    return [LifecycleCode(code=c.code, label=c.label, description=c.description) for c in messages]


def invoice_page(response: pb.ListInvoicesResponse) -> InvoicePage:
    return InvoicePage(
        items=[invoice(item) for item in response.invoices],
        next_page_token=optional(response.next_page_token),
    )


def history(entries: list[pb.HistoryEntry]) -> History:
    return History(
        items=[
            HistoryEntry(
                status=INVOICE_STATUS.to_rest(entry.status),
                lifecycle_code=entry.lifecycle_code or None,
                lifecycle_label=optional(entry.lifecycle_label),
                lifecycle_description=optional(entry.lifecycle_description),
                lifecycle_codes=lifecycle_codes(entry.lifecycle_codes),
                at=timestamp(entry, "at"),
                actor=entry.actor,
                comment=optional(entry.comment),
            )
            for entry in entries
        ]
    )


BATCH_ITEM_STATUS = ProtoEnum(pb.BatchItemStatus)
BatchItemStatus = BATCH_ITEM_STATUS.rest


class BatchItemError(BaseModel):
    reason: str
    message: str
    field: str | None = Field(description="Location in the file (XPath), when known.")


class BatchItem(BaseModel):
    file: str = Field(description="The entry's name, without any directory part.")
    status: BatchItemStatus | None
    invoice_id: UUID | None
    errors: list[BatchItemError]


class BatchReport(BaseModel):
    items: list[BatchItem]


def batch_report(response: pb.DepositInvoiceBatchResponse) -> BatchReport:
    return BatchReport(
        items=[
            BatchItem(
                file=item.file,
                status=BATCH_ITEM_STATUS.to_rest(item.status),
                invoice_id=optional(item.invoice_id),
                errors=[
                    BatchItemError(
                        reason=error.reason, message=error.message, field=optional(error.field)
                    )
                    for error in item.errors
                ],
            )
            for item in response.items
        ]
    )


class ArchiveBody(RequestModel):
    ids: list[UUID] = Field(
        min_length=1, max_length=50, description="The invoices whose documents to bundle (≤ 50)."
    )
