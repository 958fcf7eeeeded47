"""The entry tab's helpers: the directory picker (public structures searched by name or SIRET
over SearchStructures, the chosen recipient's requirements and active services from
GetStructure), a draft read back into the form's values (to edit it), and what the
"Vérifier" step shows and carries (the invoice as the service computed it in a dry run, and
every field typed, as hidden inputs).

Without JavaScript everything works by posting the whole form back: "Rechercher" and
"Choisir" re-render it with what was typed kept (``formnovalidate`` on those buttons so that
the browser does not demand the invoice's required fields first).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from starlette.datastructures import FormData, UploadFile

from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.invoices import FRAMEWORK, INVOICE_TYPE
from chorus_portal.web import formats
from chorus_portal.web.invoices import forms as invoice_forms

SIRET_LENGTH = 14
RESULTS = 10
# Fields never carried into the "Vérifier" page's hidden copy of the form.
_NOT_CARRIED = {"csrf_token", "action", "submission_key", "recipient_choice"}
_NOT_CARRIED_PREFIXES = ("attachments",)


@dataclass
class Recipient:
    """A public structure as the picker shows it."""

    id: str
    identifier: str
    name: str
    city: str = ""
    requirements: list[str] = field(default_factory=list)
    services: dict[str, str] = field(default_factory=dict)
    """Active services: code -> "code — name" (with "engagement obligatoire" when it is)."""
    service_code_required: bool = False
    engagement_required: bool = False
    service_or_engagement_required: bool = False


def requirements(routing: structures_pb.RoutingParameters) -> list[str]:
    found = []
    if routing.service_code_required:
        found.append("Code service obligatoire")
    if routing.engagement_required:
        found.append("Numéro d'engagement obligatoire")
    if routing.service_or_engagement_required:
        found.append("Code service ou numéro d'engagement obligatoire")
    return found or ["Ni code service ni engagement exigé"]


def recipient_of(structure: structures_pb.Structure) -> Recipient:
    return Recipient(
        id=structure.id,
        identifier=structure.identifier,
        name=structure.raison_sociale,
        city=structure.address.city,
        requirements=requirements(structure.routing),
        services={
            s.code: f"{s.code} — {s.name}"
            + (" (engagement obligatoire)" if s.engagement_required else "")
            for s in structure.services
            if s.active
        },
        service_code_required=structure.routing.service_code_required,
        engagement_required=structure.routing.engagement_required,
        service_or_engagement_required=structure.routing.service_or_engagement_required,
    )


def search_request(query: str) -> structures_pb.SearchStructuresRequest | None:
    """Public active structures by SIRET (whole: exact; 3 digits or more: prefix) or by name
    (2 letters or more); None when too short."""
    compact = "".join(query.split())
    common = {
        "kind": structures_pb.STRUCTURE_KIND_PUBLIQUE,
        "status": structures_pb.STRUCTURE_STATUS_ACTIVE,
        "page_size": RESULTS,
    }
    if compact.isdigit() and len(compact) == SIRET_LENGTH:
        return structures_pb.SearchStructuresRequest(
            identifier_type=structures_pb.IDENTIFIER_TYPE_SIRET, identifier=compact, page_size=1
        )
    if compact.isdigit() and len(compact) >= 3:
        return structures_pb.SearchStructuresRequest(identifier_prefix=compact, **common)
    if len(query.strip()) >= 2:
        return structures_pb.SearchStructuresRequest(name=query.strip(), **common)
    return None


async def search(clients: ServiceClients, me: Caller, query: str) -> list[Recipient] | str:
    """The public structures matching ``query``, or a French message saying why none."""
    wanted = search_request(query)
    if wanted is None:
        return "Saisissez au moins 2 lettres du nom ou 3 chiffres du SIRET du destinataire."
    try:
        found = await clients.structures.search_structures(wanted, me)
    except grpc.aio.AioRpcError:
        return "L'annuaire ne répond pas pour le moment : réessayez ou saisissez le SIRET."
    results = [
        recipient_of(s)
        for s in found.structures
        if s.kind == structures_pb.STRUCTURE_KIND_PUBLIQUE
        and s.status == structures_pb.STRUCTURE_STATUS_ACTIVE
    ]
    return results or "Aucune structure publique active ne correspond à cette recherche."


async def recipient(
    clients: ServiceClients, me: Caller, structure_id: str = "", siret: str = ""
) -> Recipient | None:
    """The recipient chosen (by id) or typed (by SIRET), with its services; None when the
    directory does not know it as a public structure (the service will say why at deposit)."""
    try:
        if not structure_id:
            compact = "".join(siret.split())
            if not (compact.isdigit() and len(compact) == SIRET_LENGTH):
                return None
            found = await clients.structures.search_structures(search_request(compact), me)
            if not found.structures:
                return None
            structure_id = found.structures[0].id
        structure = await clients.structures.get_structure(structure_id, me)
    except grpc.aio.AioRpcError:
        return None
    if structure.kind != structures_pb.STRUCTURE_KIND_PUBLIQUE:
        return None
    return recipient_of(structure)


# --- a draft back into the form -------------------------------------------------------------


def _rate_fields(rate: str) -> dict[str, str]:
    try:
        normal = format(Decimal(rate).normalize(), "f") if rate else "20"
    except InvalidOperation:
        normal = rate
    if normal in formats.VAT_RATES:
        return {"vat_rate": normal, "vat_manual": ""}
    return {"vat_rate": invoice_forms.MANUAL_RATE, "vat_manual": rate}


def draft_values(
    invoice: pb.Invoice, recipient_siret: str
) -> tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]:
    """(header values, line rows, charge rows) of a stored draft, as the entry form names
    them; what the EN 16931 document of the draft states fills the details."""
    try:
        document = json.loads(invoice.document_json) if invoice.document_json else {}
    except ValueError:
        document = {}
    period = document.get("invoicing_period") or {}
    delivery = document.get("delivery") or {}
    address = delivery.get("address") or {}
    payment = document.get("payment_instructions") or {}
    transfer = (payment.get("credit_transfers") or [{}])[0]
    values = {
        "supplier_structure_id": invoice.supplier_structure_id,
        "recipient_siret": recipient_siret,
        "recipient_structure_id": invoice.recipient_structure_id,
        "service_code": invoice.service_code,
        "engagement_number": invoice.engagement_number,
        "framework": FRAMEWORK.to_rest(invoice.framework) or "",
        "type": INVOICE_TYPE.to_rest(invoice.type) or "",
        "number": invoice.number,
        "issue_date": invoice.issue_date,
        "currency": invoice.currency,
        "payment_terms": invoice.payment_terms,
        "comment": invoice.comment,
        "preceding_invoice_number": invoice.preceding_invoice_number,
        "vat_exemption_reason": invoice.vat_exemption_reason,
        "contract_reference": document.get("contract_reference", ""),
        "prepaid_amount": (document.get("totals") or {}).get("prepaid", ""),
        "due_date": document.get("due_date", ""),
        "invoicing_period_start": period.get("start", ""),
        "invoicing_period_end": period.get("end", ""),
        "payment_means_code": payment.get("means_code", ""),
        "payment_iban": transfer.get("account", ""),
        "payment_bic": transfer.get("service_provider", ""),
        "payment_account_name": transfer.get("account_name", ""),
        "delivery_party_name": delivery.get("party_name", ""),
        "delivery_date": delivery.get("date", ""),
        "delivery_line1": address.get("line1", ""),
        "delivery_line2": address.get("line2", ""),
        "delivery_postal_code": address.get("postal_code", ""),
        "delivery_city": address.get("city", ""),
        "delivery_country": address.get("country", ""),
    }
    rows = []
    for line in invoice.lines:
        discount = next(
            (a.percentage for a in line.allowances_charges if not a.charge and a.percentage), ""
        )
        rows.append(
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": line.unit_price,
                "discount": discount,
                **_rate_fields(line.vat_rate),
            }
        )
    charges = []
    for adjustment in document.get("allowances_charges") or []:
        charges.append(
            {
                "kind": "frais" if adjustment.get("charge") else "remise",
                "reason": adjustment.get("reason", ""),
                "amount": "" if adjustment.get("percentage") else adjustment.get("amount", ""),
                "percentage": adjustment.get("percentage", ""),
                **_rate_fields(str(adjustment.get("vat_rate", ""))),
            }
        )
    rows += [{} for _ in range(max(0, invoice_forms.LINE_ROWS - len(rows)))]
    charges += [{} for _ in range(max(0, invoice_forms.CHARGE_ROWS - len(charges)))]
    return values, rows, charges


# --- the "Vérifier" step ----------------------------------------------------------------------


def carried(form: FormData) -> list[tuple[str, str]]:
    """Every field typed, to carry as hidden inputs through the "Vérifier" page (files are
    carried as kept files, not here)."""
    return [
        (name, value)
        for name, value in form.multi_items()
        if isinstance(value, str)
        and not isinstance(value, UploadFile)
        and name not in _NOT_CARRIED
        and not name.startswith(_NOT_CARRIED_PREFIXES)
    ]


def summary(invoice: pb.Invoice) -> dict[str, Any]:
    """What the "Vérifier" page shows of the invoice the service computed."""
    totals = invoice.totals
    return {
        "number": invoice.number,
        "issue_date": invoice.issue_date,
        "currency": invoice.currency or "EUR",
        "framework": formats.FRAMEWORK_LABELS.get(FRAMEWORK.to_rest(invoice.framework) or "", ""),
        "type": formats.TYPE_LABELS.get(INVOICE_TYPE.to_rest(invoice.type) or "", ""),
        "service_code": invoice.service_code,
        "engagement_number": invoice.engagement_number,
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit": formats.UNIT_LABELS.get(line.unit, line.unit),
                "unit_price": line.unit_price,
                "vat_rate": line.vat_rate,
                "net_amount": line.net_amount,
            }
            for line in invoice.lines
        ],
        "vat": [(v.rate, v.base, v.amount) for v in totals.vat_breakdown],
        "net_total": totals.net_total,
        "vat_total": totals.vat_total,
        "gross_total": totals.gross_total,
        "amount_due": totals.amount_due,
    }
