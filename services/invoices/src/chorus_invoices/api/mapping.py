"""Proto ⇄ domain for the invoices API. Amounts travel as decimal strings, never floats."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.documents import DocumentInfo
from chorus_invoices.domain.en16931_codec import to_json
from chorus_invoices.domain.errors import invalid
from chorus_invoices.domain.flows import Flow, FlowError
from chorus_invoices.domain.forms import (
    AddressForm,
    AllowanceChargeForm,
    DeliveryForm,
    InvoiceForm,
    LineAllowanceChargeForm,
    LineForm,
    PaymentForm,
    RecipientRef,
    TotalsForm,
    VatForm,
)
from chorus_invoices.domain.invoice import HistoryEntry, Invoice, InvoiceRef
from chorus_invoices.domain.lifecycle import Status
from chorus_invoices.domain.listing import ListOrder, SortColumn
from chorus_invoices.domain.rule_violations import RuleViolation
from chorus_invoices.domain.totals import Totals, format_decimal, format_rate
from chorus_invoices.usecases.structured_deposit import BatchItem


def enum_name(enum, value: int, prefix: str) -> str:
    """``FRAMEWORK_A1_FACTURE_FOURNISSEUR`` → ``A1_FACTURE_FOURNISSEUR``; "" when unspecified;
    an unknown number stays a number so validation can reject it."""
    if value == 0:
        return ""
    try:
        return enum.Name(value).removeprefix(prefix)
    except ValueError:
        return str(value)


def invoice_ref(request) -> InvoiceRef:
    """The invoice a request names: ``cpp_id`` (the integer id) when set, else ``invoice_id``
    (the UUID); INVALID_ARGUMENT INVOICE_REFERENCE_AMBIGUOUS when both are given."""
    if request.cpp_id and request.invoice_id:
        raise invalid(
            "INVOICE_REFERENCE_AMBIGUOUS",
            "cpp_id",
            "Désignez la facture par son identifiant (invoice_id) ou par son numéro CPP"
            " (cpp_id), pas les deux.",
        )
    return request.cpp_id or request.invoice_id


def status_from_proto(value: int) -> Status | None:
    """None for INVOICE_STATUS_UNSPECIFIED (or a number this version does not know)."""
    name = enum_name(pb.InvoiceStatus, value, "INVOICE_STATUS_")
    return Status(name) if name in Status.__members__ else None


def statuses_from_request(request: pb.ListInvoicesRequest) -> frozenset[Status]:
    """``status`` and ``statuses`` together (empty: any status). ``status`` keeps its old
    leniency (a number this version does not know is no filter); an unknown number in
    ``statuses`` is INVALID_ARGUMENT FILTER_INVALID, never a wider list."""
    wanted = set()
    if (status := status_from_proto(request.status)) is not None:
        wanted.add(status)
    unknown = []
    for i, value in enumerate(request.statuses):
        status = status_from_proto(value)
        if status is None:
            unknown.append(FieldViolation(f"statuses[{i}]", "Statut de facture inconnu."))
        else:
            wanted.add(status)
    if unknown:
        raise InvalidArgument(
            "FILTER_INVALID",
            "Critères de recherche invalides : corrigez les champs signalés.",
            unknown,
        )
    return frozenset(wanted)


def order_from_request(request: pb.ListInvoicesRequest) -> ListOrder:
    """``order_by`` (unspecified: deposit time) and ``ascending``; INVALID_ARGUMENT
    FILTER_INVALID for a number this version does not know."""
    name = enum_name(pb.ListOrder, request.order_by, "LIST_ORDER_") or "DEPOSITED_AT"
    if name not in SortColumn.__members__:
        raise InvalidArgument(
            "FILTER_INVALID",
            "Critères de recherche invalides : corrigez les champs signalés.",
            [FieldViolation("order_by", "Colonne de tri inconnue.")],
        )
    return ListOrder(SortColumn(name), request.ascending)


def optional_time(message, field: str) -> datetime | None:
    """The instant of a Timestamp field, None when it is not set."""
    if not message.HasField(field):
        return None
    try:
        return getattr(message, field).ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidArgument(
            "FILTER_INVALID",
            "Critères de recherche invalides : corrigez les champs signalés.",
            [FieldViolation(field, "Instant hors limites (de l'an 1 à l'an 9999).")],
        ) from None


def status_to_proto(status: Status) -> int:
    return pb.InvoiceStatus.Value(f"INVOICE_STATUS_{status}")


def transition_to_proto(transition: lifecycle.Transition) -> pb.StatusTransition:
    return pb.StatusTransition(
        target=status_to_proto(transition.target),
        party=pb.LifecycleParty.Value(f"LIFECYCLE_PARTY_{transition.party}"),
        action=transition.action,
        reason_required=transition.comment_required,
        suggested=transition.suggested,
        terminal=lifecycle.is_terminal(transition.target),
    )


def form_from_request(request: pb.CreateInvoiceRequest) -> InvoiceForm:
    return InvoiceForm(
        supplier_structure_id=request.supplier_structure_id,
        recipient=RecipientRef(
            structure_id=request.recipient.structure_id,
            identifier_type=request.recipient.identifier_type,
            identifier=request.recipient.identifier,
        ),
        service_code=request.service_code,
        engagement_number=request.engagement_number,
        framework=enum_name(pb.Framework, request.framework, "FRAMEWORK_"),
        type=enum_name(pb.InvoiceType, request.type, "INVOICE_TYPE_"),
        number=request.number,
        issue_date=request.issue_date,
        currency=request.currency,
        payment_terms=request.payment_terms,
        comment=request.comment,
        preceding_invoice=request.preceding_invoice_number,
        vat_exemption_reason=request.vat_exemption_reason,
        vat_exemption_reason_code=request.vat_exemption_reason_code,
        lines=tuple(
            LineForm(
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                vat_rate=line.vat_rate,
                vat_category=line.vat_category,
                allowances_charges=tuple(
                    LineAllowanceChargeForm(
                        charge=ac.charge,
                        amount=ac.amount,
                        percentage=ac.percentage,
                        base_amount=ac.base_amount,
                        reason=ac.reason,
                        reason_code=ac.reason_code,
                    )
                    for ac in line.allowances_charges
                ),
            )
            for line in request.lines
        ),
        allowances_charges=tuple(
            AllowanceChargeForm(
                charge=ac.charge,
                amount=ac.amount,
                percentage=ac.percentage,
                base_amount=ac.base_amount,
                vat_category=ac.vat_category,
                vat_rate=ac.vat_rate,
                reason=ac.reason,
                reason_code=ac.reason_code,
            )
            for ac in request.allowances_charges
        ),
        prepaid_amount=request.prepaid_amount,
        contract_reference=request.contract_reference,
        payment=PaymentForm(
            means_code=request.payment.means_code,
            iban=request.payment.iban,
            bic=request.payment.bic,
            account_name=request.payment.account_name,
            remittance_information=request.payment.remittance_information,
        )
        if request.HasField("payment")
        else None,
        delivery=DeliveryForm(
            party_name=request.delivery.party_name,
            date=request.delivery.date,
            address=AddressForm(
                line1=request.delivery.address.line1,
                line2=request.delivery.address.line2,
                line3=request.delivery.address.line3,
                postal_code=request.delivery.address.postal_code,
                city=request.delivery.address.city,
                subdivision=request.delivery.address.subdivision,
                country=request.delivery.address.country,
            )
            if request.delivery.HasField("address")
            else None,
        )
        if request.HasField("delivery")
        else None,
        invoicing_period_start=request.invoicing_period_start,
        invoicing_period_end=request.invoicing_period_end,
        due_date=request.due_date,
    )


def pdf_form_from_request(request: pb.DepositPdfInvoiceRequest) -> InvoiceForm:
    """The header with the stated totals (empty strings where not given; amount_due ignored)."""
    totals = request.totals
    return replace(
        form_from_request(request.header),
        totals=TotalsForm(
            net_total=totals.net_total,
            vat_total=totals.vat_total,
            gross_total=totals.gross_total,
            vat_breakdown=tuple(
                VatForm(rate=v.rate, base=v.base, amount=v.amount, category=v.category)
                for v in totals.vat_breakdown
            ),
        ),
    )


def invoice_to_proto(
    invoice: Invoice, allowed_actions: list[str] | None = None, *, with_document: bool = False
) -> pb.Invoice:
    """``with_document``: the EN 16931 model as ``document_json`` too (GetInvoice)."""
    content = invoice.content
    return pb.Invoice(
        id=invoice.id,
        cpp_id=invoice.cpp_id,
        deposit_mode=pb.DepositMode.Value(f"DEPOSIT_MODE_{invoice.deposit_mode}"),
        flow_number=invoice.flow_number,
        recipient_downloaded_at=(
            timestamp(invoice.recipient_downloaded_at) if invoice.recipient_downloaded_at else None
        ),
        number=content.number,
        supplier_structure_id=invoice.supplier.structure_id,
        recipient_structure_id=invoice.recipient.structure_id,
        service_code=content.service_code,
        engagement_number=content.engagement_number,
        framework=pb.Framework.Value(f"FRAMEWORK_{content.framework}"),
        type=pb.InvoiceType.Value(f"INVOICE_TYPE_{content.type}"),
        issue_date=content.issue_date.isoformat(),
        currency=content.currency,
        payment_terms=content.payment_terms,
        lines=[
            pb.InvoiceLine(
                description=line.description,
                quantity=format_decimal(line.quantity),
                unit=line.unit,
                unit_price=format_decimal(line.unit_price),
                vat_rate=format_rate(line.vat_rate),
                net_amount=format_decimal(line.net_amount),
                vat_category=line.category,
                allowances_charges=[
                    pb.LineAllowanceCharge(
                        charge=ac.charge,
                        amount=format_decimal(ac.amount),
                        percentage=_optional(ac.percentage),
                        base_amount=_optional(ac.base_amount),
                        reason=ac.reason,
                        reason_code=ac.reason_code,
                    )
                    for ac in line.allowances_charges
                ],
            )
            for line in content.lines
        ],
        totals=totals_to_proto(invoice.totals),
        status=status_to_proto(invoice.status),
        lifecycle_code=invoice.lifecycle_code or 0,
        lifecycle_label=lifecycle.lifecycle_label(invoice.status),
        lifecycle_description=lifecycle.lifecycle_description(invoice.status),
        lifecycle_codes=lifecycle_codes_to_proto(invoice.status),
        comment=content.comment,
        preceding_invoice_number=content.preceding_invoice,
        vat_exemption_reason=content.vat_exemption_reason,
        type_code=content.invoice_type_code,
        document_json=json.dumps(to_json(content.document), ensure_ascii=False)
        if with_document and content.document is not None
        else "",
        created_by=invoice.created_by,
        created_at=timestamp(invoice.created_at),
        updated_at=timestamp(invoice.updated_at),
        allowed_actions=allowed_actions or [],
        rejection_acknowledged_at=(
            timestamp(invoice.rejection_acknowledged_at)
            if invoice.rejection_acknowledged_at
            else None
        ),
        deposited_at=timestamp(invoice.deposited_at) if invoice.deposited_at else None,
    )


def totals_to_proto(totals: Totals) -> pb.Totals:
    return pb.Totals(
        net_total=format_decimal(totals.net_total),
        vat_total=format_decimal(totals.vat_total),
        gross_total=format_decimal(totals.gross_total),
        amount_due=format_decimal(totals.amount_due),
        vat_breakdown=[
            pb.VatBreakdown(
                rate="" if v.category_code == "O" else format_rate(v.rate),
                base=format_decimal(v.base),
                amount=format_decimal(v.amount),
                category=v.category_code,
                exemption_reason=v.exemption_reason,
                exemption_reason_code=v.exemption_reason_code,
            )
            for v in totals.vat_breakdown
        ],
        line_total=format_decimal(
            totals.line_total if totals.line_total is not None else totals.net_total
        ),
        allowance_total=_optional(totals.allowance_total),
        charge_total=_optional(totals.charge_total),
        prepaid_amount=_optional(totals.prepaid),
        rounding_amount=_optional(totals.rounding),
    )


def _optional(value: Decimal | None) -> str:
    return "" if value is None else format_decimal(value)


def history_to_proto(entry: HistoryEntry) -> pb.HistoryEntry:
    """The entry with the reform codes its status gave and which Chorus status gave them."""
    return pb.HistoryEntry(
        status=status_to_proto(entry.status),
        lifecycle_code=entry.lifecycle_code or 0,
        lifecycle_label=lifecycle.lifecycle_label(entry.status),
        lifecycle_description=lifecycle.lifecycle_description(entry.status),
        lifecycle_codes=lifecycle_codes_to_proto(entry.status),
        at=timestamp(entry.at),
        actor=entry.actor,
        comment=entry.comment,
    )


def lifecycle_codes_to_proto(status: Status) -> list[pb.LifecycleCode]:
    """Every reform code ``status`` gives, its own first (none for a draft)."""
    return [
        pb.LifecycleCode(code=c.code, label=c.label, description=c.description)
        for c in lifecycle.lifecycle_codes(status)
    ]


def timestamp(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def findings_to_proto(findings: Iterable[RuleViolation]) -> list[pb.RuleFinding]:
    return [
        pb.RuleFinding(rule_id=f.rule_id, message=f.message, location=f.location, fatal=f.fatal)
        for f in findings
    ]


def documents_to_proto(infos: Iterable[DocumentInfo]) -> list[pb.InvoiceDocument]:
    return [
        pb.InvoiceDocument(
            id=info.id,
            role=info.role.value,
            filename=info.filename,
            media_type=info.media_type,
            size=info.size,
        )
        for info in infos
    ]


def batch_item_to_proto(item: BatchItem) -> pb.BatchItem:
    """DEPOSEE with the invoice id, or REJETEE with the error then its distinct violations."""
    if item.invoice is not None:
        return pb.BatchItem(
            file=item.file, status=pb.BATCH_ITEM_STATUS_DEPOSEE, invoice_id=item.invoice.id
        )
    error = item.error
    errors = [pb.BatchItemError(reason=error.reason, message=error.message)]
    errors.extend(
        pb.BatchItemError(reason=error.reason, message=v.description, field=v.field)
        for v in error.violations
        if v.description != error.message
    )
    return pb.BatchItem(file=item.file, status=pb.BATCH_ITEM_STATUS_REJETEE, errors=errors)


def flow_to_proto(flow: Flow) -> pb.Flow:
    return pb.Flow(
        number=flow.number,
        state=pb.FlowState.Value(f"FLOW_STATE_{flow.state}"),
        syntax=flow.syntax,
        file_name=flow.file_name,
        supplier_structure_id=flow.supplier_structure_id,
        deposited_at=timestamp(flow.deposited_at),
        state_at=timestamp(flow.state_at),
        items=[
            pb.FlowItem(
                file=item.file,
                invoice_number=item.invoice_number,
                supplier_identifier=item.supplier_identifier,
                recipient_identifier=item.recipient_identifier,
                invoice_id=item.invoice_id,
                invoice_cpp_id=item.invoice_cpp_id,
                errors=flow_errors_to_proto(item.errors),
            )
            for item in flow.items
        ],
        notes=list(flow.notes),
        errors=flow_errors_to_proto(flow.errors),
        deposited_by=flow.depositor,
    )


def flow_errors_to_proto(errors: Iterable[FlowError]) -> list[pb.FlowError]:
    return [
        pb.FlowError(rule=e.rule, xpath=e.xpath, message=e.message, reason=e.reason) for e in errors
    ]
