"""``POST /invoices/pdf``: the ``metadata`` part and its mapping to DepositPdfInvoiceRequest.

Every field is optional here: which ones a deposit needs depends on the PDF (a plain PDF
needs the whole header and the totals, a Factur-X PDF only the supplier), and that is the
invoices service's rule. The gateway checks shapes only.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from chorus.invoices.v1 import invoices_service_pb2 as pb
from pydantic import Field

from chorus_edge.conversions import RequestModel
from chorus_edge.invoices import FRAMEWORK, INVOICE_TYPE, Framework, InvoiceType
from chorus_gateway.api.amounts import Amount
from chorus_gateway.api.schemas.invoices import (
    EntryDetailsBody,
    RecipientBody,
    VatCategory,
    entry_details,
)


class VatBreakdownBody(RequestModel):
    rate: Amount = Field(description='VAT rate in percent: "20", "10", "5.5", "2.1", "0".')
    base: Amount
    amount: Amount
    category: VatCategory | None = Field(
        None, description="BT-118 catégorie de TVA ; S au-dessus de 0 %, E à 0 % par défaut."
    )


class PdfMetadataBody(EntryDetailsBody):
    """The header of ``POST /invoices`` without lines, with the stated totals instead.

    For a Factur-X PDF every field is optional except the supplier (here or as the
    ``supplier_structure_id`` form field), and each one given must match the embedded XML.
    """

    supplier_structure_id: UUID | None = None
    recipient: RecipientBody | None = None
    recipient_structure_id: UUID | None = None
    service_code: str | None = None
    engagement_number: str | None = None
    framework: Framework | None = None
    type: InvoiceType | None = None
    number: str | None = None
    issue_date: date | None = None
    currency: str | None = Field(None, description="ISO 4217; EUR when not given (plain PDF).")
    payment_terms: str | None = None
    comment: str | None = None
    preceding_invoice_number: str | None = Field(
        None, description="BT-25: the invoice a credit note (AVOIR) corrects; required then."
    )
    vat_exemption_reason: str | None = Field(
        None,
        description="BT-120: why amounts at 0 % are exempt; required when a line is at 0 %.",
    )
    net_total: Amount | None = None
    vat_total: Amount | None = None
    gross_total: Amount | None = None
    vat_breakdown: list[VatBreakdownBody] | None = Field(
        None, description="One entry per VAT rate: base and VAT amount."
    )


def deposit_request(
    body: PdfMetadataBody,
    supplier_structure_id: str,
    filename: str,
    content: bytes,
    staged_attachment_ids: list[str],
) -> pb.DepositPdfInvoiceRequest:
    header = pb.CreateInvoiceRequest(
        supplier_structure_id=supplier_structure_id,
        service_code=body.service_code or "",
        engagement_number=body.engagement_number or "",
        framework=FRAMEWORK.to_proto(body.framework),
        type=INVOICE_TYPE.to_proto(body.type),
        number=body.number or "",
        issue_date=body.issue_date.isoformat() if body.issue_date else "",
        currency=body.currency or "",
        payment_terms=body.payment_terms or "",
        comment=body.comment or "",
        preceding_invoice_number=body.preceding_invoice_number or "",
        vat_exemption_reason=body.vat_exemption_reason or "",
        **entry_details(body),
    )
    if body.recipient_structure_id is not None:
        header.recipient.structure_id = str(body.recipient_structure_id)
    elif body.recipient is not None:
        header.recipient.identifier_type = str(body.recipient.identifier_type)
        header.recipient.identifier = body.recipient.identifier
    request = pb.DepositPdfInvoiceRequest(
        header=header,
        filename=filename,
        content=content,
        staged_attachment_ids=staged_attachment_ids,
    )
    totals = pb.Totals(
        net_total=body.net_total or "",
        vat_total=body.vat_total or "",
        gross_total=body.gross_total or "",
        vat_breakdown=[
            pb.VatBreakdown(rate=v.rate, base=v.base, amount=v.amount, category=v.category or "")
            for v in body.vat_breakdown or ()
        ],
    )
    if totals != pb.Totals():
        request.totals.CopyFrom(totals)
    return request
