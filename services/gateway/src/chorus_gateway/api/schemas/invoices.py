"""Invoices: REST models and their mapping to/from ``chorus.invoices.v1``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from chorus.invoices.v1 import invoices_service_pb2 as pb
from pydantic import BaseModel, BeforeValidator, Field

from chorus_edge.conversions import RequestModel, optional, timestamp
from chorus_edge.enums import ProtoEnum
from chorus_edge.invoice_document import InvoiceDocument, parse_document
from chorus_edge.invoices import (
    FRAMEWORK,
    INVOICE_STATUS,
    INVOICE_TYPE,
    Framework,
    InvoiceStatus,
    InvoiceType,
)
from chorus_edge.problems import FieldError, ProblemError
from chorus_edge.structures import IdentifierType
from chorus_gateway.api.amounts import Amount, PositiveAmount


class RecipientBody(RequestModel):
    identifier_type: IdentifierType
    identifier: str


VatCategory = Literal["S", "Z", "E", "AE", "K", "G", "O", "L", "M"]
"""UNCL 5305 VAT categories EN 16931 knows."""

_VAT_CATEGORY = (
    "BT-151 / BT-95 catégorie de TVA (UNCL 5305) : S taux normal, Z taux zéro, E exonéré,"
    " AE autoliquidation, K livraison intracommunautaire, G export, O hors champ, L / M"
    " Canaries, Ceuta et Melilla. Par défaut : S pour un taux positif, E à 0 %."
)


def _compact_upper(value: object) -> object:
    """An IBAN or a BIC as typed ("fr76 3000 …"): spaces dropped, upper case."""
    return "".join(value.split()).upper() if isinstance(value, str) else value


Iban = Annotated[
    str,
    BeforeValidator(_compact_upper),
    Field(
        pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$",
        description="BT-84 IBAN du compte à créditer ; espaces acceptés. La passerelle vérifie"
        " la forme (pays, clé, 11 à 30 caractères) ; le service des factures, le reste.",
        examples=["FR7630006000011234567890189"],
    ),
]
Bic = Annotated[
    str,
    BeforeValidator(_compact_upper),
    Field(
        pattern=r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$",
        description="BT-86 BIC de la banque (8 ou 11 caractères).",
        examples=["AGRIFRPP"],
    ),
]
Reason = Annotated[str, Field(max_length=1000)]


class LineAllowanceChargeBody(RequestModel):
    """BG-27 remise (``charge`` faux) ou BG-28 frais (``charge`` vrai) sur une ligne : un
    montant, ou un pourcentage de quantité × prix unitaire."""

    charge: bool = Field(False, description="Faux : remise ; vrai : frais.")
    amount: PositiveAmount | None = Field(None, description="BT-136 / BT-141 montant HT.")
    percentage: PositiveAmount | None = Field(
        None, description='BT-138 / BT-143 pourcentage, ex. "10" pour 10 %.'
    )
    base_amount: PositiveAmount | None = Field(
        None, description="BT-137 / BT-142 assiette du pourcentage (quantité × prix si vide)."
    )
    reason: Reason | None = Field(None, description='BT-139 / BT-144 motif, ex. "Remise".')
    reason_code: str | None = Field(
        None,
        pattern=r"^[A-Z0-9]{1,3}$",
        description='BT-140 / BT-145 code du motif (UNTDID 5189 / 7161), ex. "95" remise.',
    )


class DocumentAllowanceChargeBody(LineAllowanceChargeBody):
    """BG-20 remise globale (``charge`` faux) ou BG-21 frais (``charge`` vrai, ex. frais de
    port) sur toute la facture : un montant, ou un pourcentage (de ``base_amount``, ou du
    total des lignes), avec sa catégorie et son taux de TVA."""

    vat_category: VatCategory | None = Field(None, description=_VAT_CATEGORY)
    vat_rate: Amount | None = Field(
        None, description="BT-96 / BT-103 taux de TVA en %, celui des lignes qu'elle concerne."
    )


class PaymentBody(RequestModel):
    """BG-16 moyen de paiement, avec BG-17 le compte à créditer pour un virement."""

    means_code: str = Field(
        "30",
        pattern=r"^[0-9]{1,2}$|^ZZZ$",
        description='BT-81 UNTDID 4461 : "30" virement (par défaut), "58" virement SEPA,'
        ' "49" prélèvement, "20" chèque, "10" espèces.',
    )
    iban: Iban | None = None
    bic: Bic | None = None
    account_name: str | None = Field(None, max_length=200, description="BT-85 titulaire.")
    remittance_information: str | None = Field(
        None, max_length=140, description="BT-83 référence à rappeler avec le paiement."
    )


class AddressBody(RequestModel):
    """Adresse postale (BG-15 pour la livraison)."""

    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    postal_code: str | None = None
    city: str | None = None
    subdivision: str | None = None
    country: str | None = Field(
        None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, ex. FR."
    )


class DeliveryBody(RequestModel):
    """BG-13 livraison : où et quand les biens ou services ont été livrés."""

    party_name: str | None = Field(None, description="BT-70 nom du lieu ou du destinataire.")
    date: dt.date | None = Field(None, description="BT-72 date de livraison effective.")
    address: AddressBody | None = Field(None, description="BG-15 adresse de livraison.")


class LineBody(RequestModel):
    description: str
    quantity: Amount
    unit: str = Field(description='UN/ECE rec. 20 unit code, e.g. "C62" (unit), "HUR" (hour).')
    unit_price: Amount
    vat_rate: Amount = Field(
        description='VAT rate in percent: "20", "10", "5.5", "2.1", "0", or a "taux manuel"'
        " 0 ≤ r < 100 with 2 decimals at most."
    )
    vat_category: VatCategory | None = Field(None, description=_VAT_CATEGORY)
    allowances_charges: list[LineAllowanceChargeBody] = Field(
        [], max_length=20, description="BG-27 / BG-28 remises (ex. 10 %) et frais de la ligne."
    )


class EntryDetailsBody(RequestModel):
    """The EN 16931 details the portal entry and the PDF deposit share (BT-9, BT-12, BG-13,
    BG-14, BG-16, BG-20/21, BT-113, BT-121). Their semantics (amounts, dates, IBAN key) are
    the invoices service's rules; the gateway checks their shapes."""

    vat_exemption_reason_code: str | None = Field(
        None,
        pattern=r"^VATEX-[A-Z0-9-]{1,30}$",
        description='BT-121 code du motif d\'exonération, ex. "VATEX-FR-FRANCHISE".',
    )
    allowances_charges: list[DocumentAllowanceChargeBody] = Field(
        [],
        max_length=50,
        description='BG-20 / BG-21 remises globales ("Remise globale") et frais ("Frais de'
        ' port") du document.',
    )
    prepaid_amount: PositiveAmount | None = Field(
        None, description="BT-113 acompte déjà versé, déduit du net à payer."
    )
    contract_reference: str | None = Field(None, description="BT-12 référence du contrat.")
    payment: PaymentBody | None = Field(None, description="BG-16 moyen de paiement.")
    delivery: DeliveryBody | None = Field(None, description="BG-13 livraison.")
    invoicing_period_start: date | None = Field(
        None, description="BT-73 début de la période de facturation."
    )
    invoicing_period_end: date | None = Field(
        None, description="BT-74 fin de la période de facturation."
    )
    due_date: date | None = Field(None, description="BT-9 date d'échéance.")


class CreateInvoiceBody(EntryDetailsBody):
    """A portal-entry invoice: the recipient by identifier or by structure id (one of them)."""

    supplier_structure_id: UUID
    recipient: RecipientBody | None = None
    recipient_structure_id: UUID | None = None
    service_code: str | None = None
    engagement_number: str | None = Field(
        None, description="BT-13 numéro d'engagement (bon de commande) du destinataire public."
    )
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
        description="BT-120: why amounts at 0 % are exempt; required when a line is at 0 %"
        " unless vat_exemption_reason_code is given.",
    )


class LineAllowanceCharge(BaseModel):
    charge: bool = Field(description="Faux : remise (BG-27) ; vrai : frais (BG-28).")
    amount: str = Field(description="BT-136 / BT-141 montant HT.")
    percentage: str | None
    base_amount: str | None
    reason: str | None
    reason_code: str | None


class Line(BaseModel):
    description: str
    quantity: str
    unit: str
    unit_price: str
    vat_rate: str
    net_amount: str = Field(
        description="BT-131, as the file states it; at entry quantity × price minus the"
        " line's allowances plus its charges."
    )
    vat_category: str | None = Field(description="BT-151 (UNCL 5305).")
    allowances_charges: list[LineAllowanceCharge] = Field(
        description="BG-27 / BG-28 remises et frais de la ligne."
    )


class VatBreakdown(BaseModel):
    rate: str = Field(description="BT-119 (empty for category O).")
    base: str = Field(description="BT-116.")
    amount: str = Field(description="BT-117.")
    category: str | None = Field(description="BT-118 (UNCL 5305).")
    exemption_reason: str | None = Field(description="BT-120.")
    exemption_reason_code: str | None = Field(description="BT-121 (VATEX).")


class Totals(BaseModel):
    line_total: str | None = Field(description="BT-106 somme des montants nets des lignes.")
    allowance_total: str | None = Field(description="BT-107 somme des remises globales.")
    charge_total: str | None = Field(description="BT-108 somme des frais globaux.")
    net_total: str = Field(description="BT-109 total HT.")
    vat_total: str = Field(description="BT-110 total TVA.")
    gross_total: str = Field(description="BT-112 total TTC.")
    prepaid_amount: str | None = Field(description="BT-113 acompte déjà versé.")
    rounding_amount: str | None = Field(description="BT-114 arrondi.")
    amount_due: str = Field(description="BT-115 net à payer.")
    vat_breakdown: list[VatBreakdown]


class RuleFinding(BaseModel):
    rule_id: str = Field(description='EN 16931 rule, e.g. "BR-CO-10" ("XSD" for the schema).')
    message: str
    location: str = Field(description="XPath of the offending element.")
    fatal: bool


class InvoiceDocumentRef(BaseModel):
    id: str = Field(
        description='"" for a portal invoice\'s Factur-X not rendered yet (it is rendered at'
        " its first download)."
    )
    role: str = Field(
        description="FACTURX (the Factur-X PDF of a portal invoice), CII (its CII XML, the one"
        " the Factur-X embeds), ORIGINAL (the file deposited) or ATTACHMENT."
    )
    filename: str
    media_type: str
    size: int = Field(
        description="Bytes; 0 for a portal invoice's Factur-X not rendered yet (rendered at"
        " its first download, GET …/document)."
    )


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
    cpp_id: int | None = Field(
        None,
        description="The invoice's integer id (Chorus Pro identifiantFactureCPP / idFacture),"
        " given at creation, never reused.",
    )
    number: str
    supplier_structure_id: str
    recipient_structure_id: str | None
    service_code: str | None
    engagement_number: str | None
    framework: Framework | None
    type: InvoiceType | None
    type_code: str | None = Field(
        None,
        description="BT-3 UNTDID 1001 (380 facture, 381 avoir, 384 rectificative, 386 acompte,"
        " 389 autofacture…); type is AVOIR for the credit-note codes.",
    )
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
    facturx_pending: bool = Field(
        False,
        description="The Factur-X PDF of this portal invoice is being rendered (seconds after"
        " its deposit, where invoices queue the rendering; detail only): its CII XML is already"
        " among ``documents``, ``GET …/document`` answers 503 DOCUMENT_IN_PREPARATION until"
        " the PDF is there. Always false when the PDF is rendered at its first download (the"
        " default).",
    )
    document: InvoiceDocument | None = Field(
        None,
        description="Ce que dit la facture : son modèle sémantique EN 16931 entier (détail"
        " seulement ; les termes absents sont omis, les pièces justificatives sans leur"
        " contenu).",
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
                vat_category=line.vat_category or "",
                allowances_charges=[
                    pb.LineAllowanceCharge(
                        charge=ac.charge,
                        amount=ac.amount or "",
                        percentage=ac.percentage or "",
                        base_amount=ac.base_amount or "",
                        reason=ac.reason or "",
                        reason_code=ac.reason_code or "",
                    )
                    for ac in line.allowances_charges
                ],
            )
            for line in body.lines
        ],
        comment=body.comment or "",
        draft=draft,
        preceding_invoice_number=body.preceding_invoice_number or "",
        vat_exemption_reason=body.vat_exemption_reason or "",
        **entry_details(body),
    )


def entry_details(body: EntryDetailsBody) -> dict[str, object]:
    """The CreateInvoiceRequest fields of the EN 16931 details ``body`` carries."""
    payment = body.payment
    delivery = body.delivery
    fields: dict[str, object] = {
        "vat_exemption_reason_code": body.vat_exemption_reason_code or "",
        "allowances_charges": [
            pb.DocumentAllowanceCharge(
                charge=ac.charge,
                amount=ac.amount or "",
                percentage=ac.percentage or "",
                base_amount=ac.base_amount or "",
                vat_category=ac.vat_category or "",
                vat_rate=ac.vat_rate or "",
                reason=ac.reason or "",
                reason_code=ac.reason_code or "",
            )
            for ac in body.allowances_charges or ()
        ],
        "prepaid_amount": body.prepaid_amount or "",
        "contract_reference": body.contract_reference or "",
        "invoicing_period_start": _iso(body.invoicing_period_start),
        "invoicing_period_end": _iso(body.invoicing_period_end),
        "due_date": _iso(body.due_date),
    }
    if payment is not None:
        fields["payment"] = pb.PaymentMeans(
            means_code=payment.means_code,
            iban=payment.iban or "",
            bic=payment.bic or "",
            account_name=payment.account_name or "",
            remittance_information=payment.remittance_information or "",
        )
    if delivery is not None:
        address = delivery.address
        fields["delivery"] = pb.Delivery(
            party_name=delivery.party_name or "",
            date=_iso(delivery.date),
            address=pb.PostalAddress(
                line1=address.line1 or "",
                line2=address.line2 or "",
                line3=address.line3 or "",
                postal_code=address.postal_code or "",
                city=address.city or "",
                subdivision=address.subdivision or "",
                country=address.country or "",
            )
            if address is not None
            else None,
        )
    return fields


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def totals(message: pb.Totals) -> Totals:
    return Totals(
        line_total=optional(message.line_total),
        allowance_total=optional(message.allowance_total),
        charge_total=optional(message.charge_total),
        net_total=message.net_total,
        vat_total=message.vat_total,
        gross_total=message.gross_total,
        prepaid_amount=optional(message.prepaid_amount),
        rounding_amount=optional(message.rounding_amount),
        amount_due=message.amount_due,
        vat_breakdown=[
            VatBreakdown(
                rate=v.rate,
                base=v.base,
                amount=v.amount,
                category=optional(v.category),
                exemption_reason=optional(v.exemption_reason),
                exemption_reason_code=optional(v.exemption_reason_code),
            )
            for v in message.vat_breakdown
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
        vat_category=optional(message.vat_category),
        allowances_charges=[
            LineAllowanceCharge(
                charge=ac.charge,
                amount=ac.amount,
                percentage=optional(ac.percentage),
                base_amount=optional(ac.base_amount),
                reason=optional(ac.reason),
                reason_code=optional(ac.reason_code),
            )
            for ac in message.allowances_charges
        ],
    )


def invoice(message: pb.Invoice) -> Invoice:
    return Invoice(
        id=message.id,
        cpp_id=message.cpp_id or None,
        number=message.number,
        supplier_structure_id=message.supplier_structure_id,
        recipient_structure_id=optional(message.recipient_structure_id),
        service_code=optional(message.service_code),
        engagement_number=optional(message.engagement_number),
        framework=FRAMEWORK.to_rest(message.framework),
        type=INVOICE_TYPE.to_rest(message.type),
        type_code=optional(message.type_code),
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
        facturx_pending=message.facturx_pending,
        document=parse_document(message.document_json),
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
