"""Reading the portal's invoice forms into InvoicesService requests (and their one-time
submission key into the Idempotency-Key), and the services' field names back into the forms'
own.

The entry form has numbered line rows (``lines-3-quantity``); rows left empty are ignored, so
the service's ``lines[1]`` may be the form's row 3: :class:`LineRows` keeps that mapping. The
recipient is typed as a SIRET; the service names it ``recipient`` / ``recipient.identifier``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform import idempotency
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from chorus_edge.attachment_staging import check_request_size, stage_attachments
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.enums import ProtoEnum
from chorus_edge.invoices import FRAMEWORK, INVOICE_TYPE
from chorus_edge.uploads import read_bounded
from chorus_portal.web.formats import decimal_input
from chorus_portal.web.forms import text

LINE_ROWS = 5
VAT_ROWS = 3
CHARGE_ROWS = 2
MAX_ROWS = 200
MANUAL_RATE = "manuel"
"""The VAT select's "Taux manuel" option: the rate is then the number typed beside it."""
LINE_FIELDS = (
    "description",
    "quantity",
    "unit",
    "unit_price",
    "vat_rate",
    "vat_manual",
    "discount",
)
CHARGE_FIELDS = ("kind", "reason", "amount", "percentage", "vat_rate", "vat_manual")
# Reasons offered for a global allowance or charge (the user may type another).
CHARGE_REASONS = ("Remise globale", "Remise commerciale", "Frais de port", "Frais d'emballage")
PAYMENT_MEANS = {
    "30": "Virement",
    "58": "Virement SEPA",
    "49": "Prélèvement",
    "20": "Chèque",
    "10": "Espèces",
    "48": "Carte bancaire",
}
HEADER_FIELDS = (
    "supplier_structure_id",
    "recipient_siret",
    "recipient_structure_id",  # the directory picker's choice (the SIRET is what is sent)
    "service_code",
    "engagement_number",
    "framework",
    "type",
    "number",
    "issue_date",
    "currency",
    "payment_terms",
    "comment",
    "preceding_invoice_number",
    "vat_exemption_reason",
    # EN 16931 details (issue 10)
    "contract_reference",
    "prepaid_amount",
    "due_date",
    "invoicing_period_start",
    "invoicing_period_end",
    "payment_means_code",
    "payment_iban",
    "payment_bic",
    "payment_account_name",
    "delivery_party_name",
    "delivery_date",
    "delivery_line1",
    "delivery_line2",
    "delivery_postal_code",
    "delivery_city",
    "delivery_country",
)
TOTAL_FIELDS = ("net_total", "vat_total", "gross_total")
_ROW = re.compile(r"^(lines|vat|charges)-(\d{1,3})-")  # MAX_ROWS rows: 3 digits at most
_INDEXED = re.compile(r"^(lines|vat_breakdown|allowances_charges)\[(\d{1,4})\]")
_LINE_ALLOWANCE = re.compile(r"^\.allowances_charges(\[\d{1,4}\]\.\w+)?$")
# The service's names for what the forms call otherwise.
_FIELD_ALIASES = {
    "recipient": "recipient_siret",
    "recipient.identifier": "recipient_siret",
    "payment": "payment_iban",
    "payment.means_code": "payment_means_code",
    "payment.iban": "payment_iban",
    "payment.bic": "payment_bic",
    "payment.account_name": "payment_account_name",
    "delivery": "delivery_date",
    "delivery.party_name": "delivery_party_name",
    "delivery.date": "delivery_date",
    "delivery.address.line1": "delivery_line1",
    "delivery.address.line2": "delivery_line2",
    "delivery.address.postal_code": "delivery_postal_code",
    "delivery.address.city": "delivery_city",
    "delivery.address.country": "delivery_country",
}


def with_submission_key(me: Caller, form: FormData) -> Caller:
    """The caller with the form's one-time submission key as its Idempotency-Key, so that a
    form sent twice (double click, reload) deposits once: the service replays the first
    answer. A page refused and shown again carries a new key."""
    key = text(form, "submission_key")
    return replace(me, idempotency_key=key) if idempotency.is_valid_key(key) else me


def header_values(form: FormData) -> dict[str, str]:
    """The header fields as typed, to fill the form again after a refusal."""
    return {name: text(form, name) for name in HEADER_FIELDS}


def row_count(form: FormData, prefix: str, default: int) -> int:
    """How many ``prefix`` rows the form had (at least ``default``)."""
    indexes = [
        int(match.group(2))
        for key in form
        if (match := _ROW.match(key)) and match.group(1) == prefix
    ]
    return max(default, min(max(indexes, default=-1) + 1, MAX_ROWS))


@dataclass
class LineRows:
    """The line rows of the entry form: every row as typed, and the filled ones sent."""

    rows: list[dict[str, str]]
    sent: list[int] = field(default_factory=list)
    """Form row of each line sent: the service's ``lines[i]`` is row ``sent[i]``."""

    @classmethod
    def read(cls, form: FormData) -> LineRows:
        rows = [
            {name: text(form, f"lines-{i}-{name}") for name in LINE_FIELDS}
            for i in range(row_count(form, "lines", LINE_ROWS))
        ]
        filled = [
            i
            for i, row in enumerate(rows)
            if row["description"] or row["quantity"] or row["unit_price"]
        ]
        return cls(rows, filled)

    def lines(self) -> list[pb.InvoiceLine]:
        return [_line(self.rows[i]) for i in self.sent]


def chosen_rate(row: dict[str, str]) -> str:
    """The VAT rate of a row: the select's, or the number typed beside "Taux manuel"."""
    if row.get("vat_rate") == MANUAL_RATE:
        return decimal_input(row.get("vat_manual", ""))
    return row.get("vat_rate", "")


def _line(row: dict[str, str]) -> pb.InvoiceLine:
    line = pb.InvoiceLine(
        description=row["description"],
        quantity=decimal_input(row["quantity"]),
        unit=row["unit"] or "C62",
        unit_price=decimal_input(row["unit_price"]),
        vat_rate=chosen_rate(row),
    )
    if row.get("discount"):
        # BG-27 a discount in percent of quantity × price; UNTDID 5189 "95" = discount.
        line.allowances_charges.add(
            percentage=decimal_input(row["discount"]), reason="Remise", reason_code="95"
        )
    return line


@dataclass
class ChargeRows:
    """The global allowance/charge rows ("Remise globale", "Frais de port"…): every row as
    typed, and the filled ones sent (an amount or a percentage)."""

    rows: list[dict[str, str]]
    sent: list[int] = field(default_factory=list)

    @classmethod
    def read(cls, form: FormData) -> ChargeRows:
        rows = [
            {name: text(form, f"charges-{i}-{name}") for name in CHARGE_FIELDS}
            for i in range(row_count(form, "charges", CHARGE_ROWS))
        ]
        filled = [i for i, row in enumerate(rows) if row["amount"] or row["percentage"]]
        return cls(rows, filled)

    def allowances_charges(self) -> list[pb.DocumentAllowanceCharge]:
        found = []
        for i in self.sent:
            row = self.rows[i]
            charge = row["kind"] == "frais"
            found.append(
                pb.DocumentAllowanceCharge(
                    charge=charge,
                    amount=decimal_input(row["amount"]),
                    percentage=decimal_input(row["percentage"]),
                    vat_rate=chosen_rate(row),
                    reason=row["reason"] or ("Frais" if charge else "Remise globale"),
                    reason_code="" if charge else "95",
                )
            )
        return found


def entry_details(form: FormData) -> dict[str, object]:
    """The EN 16931 details of the header both the entry and the PDF forms carry (prepaid,
    contract, period, due date, payment means, delivery), as CreateInvoiceRequest fields."""
    fields: dict[str, object] = {
        "contract_reference": text(form, "contract_reference"),
        "prepaid_amount": decimal_input(text(form, "prepaid_amount")),
        "due_date": text(form, "due_date"),
        "invoicing_period_start": text(form, "invoicing_period_start"),
        "invoicing_period_end": text(form, "invoicing_period_end"),
    }
    iban = "".join(text(form, "payment_iban").split()).upper()
    bic = "".join(text(form, "payment_bic").split()).upper()
    if iban or bic:
        fields["payment"] = pb.PaymentMeans(
            means_code=text(form, "payment_means_code") or "30",
            iban=iban,
            bic=bic,
            account_name=text(form, "payment_account_name"),
        )
    address = pb.PostalAddress(
        line1=text(form, "delivery_line1"),
        line2=text(form, "delivery_line2"),
        postal_code=text(form, "delivery_postal_code"),
        city=text(form, "delivery_city"),
        country=text(form, "delivery_country").upper(),
    )
    has_address = any((address.line1, address.line2, address.postal_code, address.city))
    party, day = text(form, "delivery_party_name"), text(form, "delivery_date")
    if party or day or has_address:
        fields["delivery"] = pb.Delivery(
            party_name=party, date=day, address=address if has_address else None
        )
    return fields


def header_request(form: FormData, *, with_recipient: bool = True) -> pb.CreateInvoiceRequest:
    """The header of an invoice as CreateInvoice takes it (without lines). The recipient is
    always sent for the entry form (the service names what is missing); ``with_recipient``
    off leaves it out when no SIRET was typed (a Factur-X PDF gives its own)."""
    siret = "".join(text(form, "recipient_siret").split())
    return pb.CreateInvoiceRequest(
        supplier_structure_id=text(form, "supplier_structure_id"),
        recipient=pb.RecipientRef(identifier_type="SIRET", identifier=siret)
        if siret or with_recipient
        else None,
        service_code=text(form, "service_code"),
        engagement_number=text(form, "engagement_number"),
        framework=_enum(FRAMEWORK, text(form, "framework")),
        type=_enum(INVOICE_TYPE, text(form, "type")),
        number=text(form, "number"),
        issue_date=text(form, "issue_date"),
        currency=text(form, "currency").upper(),
        payment_terms=text(form, "payment_terms"),
        comment=text(form, "comment"),
        preceding_invoice_number=text(form, "preceding_invoice_number"),
        vat_exemption_reason=text(form, "vat_exemption_reason"),
        **entry_details(form),
    )


def _enum(kind: ProtoEnum, name: str) -> int:
    """The proto number of an enum value chosen in a select; 0 (unset) when unknown."""
    try:
        return kind.to_proto(name) if name else 0
    except ValueError:
        return 0


def vat_rows(form: FormData) -> list[dict[str, str]]:
    return [
        {name: text(form, f"vat-{i}-{name}") for name in ("rate", "base", "amount")}
        for i in range(row_count(form, "vat", VAT_ROWS))
    ]


def stated_totals(form: FormData, rows: list[dict[str, str]]) -> tuple[pb.Totals, list[int]]:
    """The totals typed on the PDF form, and the VAT rows sent (rows without a base nor an
    amount are ignored)."""
    sent = [i for i, row in enumerate(rows) if row["base"] or row["amount"]]
    totals = pb.Totals(
        net_total=decimal_input(text(form, "net_total")),
        vat_total=decimal_input(text(form, "vat_total")),
        gross_total=decimal_input(text(form, "gross_total")),
        vat_breakdown=[
            pb.VatBreakdown(
                rate=rows[i]["rate"],
                base=decimal_input(rows[i]["base"]),
                amount=decimal_input(rows[i]["amount"]),
            )
            for i in sent
        ],
    )
    return totals, sent


async def staged_uploads(
    request: Request,
    clients: ServiceClients,
    caller: Caller,
    form: FormData,
    name: str,
    *,
    supplier_structure_id: str = "",
    invoice_id: str = "",
) -> list[str]:
    """The files chosen in the input ``name`` (an input left empty sends nothing), staged one
    by one as in the API (:func:`~chorus_edge.attachment_staging.stage_attachments`):
    their staged ids. ProblemError 413 FILE_TOO_LARGE / REQUEST_TOO_LARGE beyond the
    gateway's bounds, 422 ATTACHMENT_* (``attachments[i]``) for a file the service refuses."""
    check_request_size(request)
    chosen = [u for u in form.getlist(name) if isinstance(u, UploadFile) and u.filename]
    return await stage_attachments(
        clients.invoices,
        caller,
        chosen,
        supplier_structure_id=supplier_structure_id,
        invoice_id=invoice_id,
    )


async def one_upload(form: FormData, name: str) -> tuple[str, bytes]:
    """(file name, content) of a single-file input; ("", b"") when none was chosen."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return "", b""
    return upload.filename, await read_bounded(upload)


def form_errors(
    errors: dict[str, str],
    lines: list[int] | None = None,
    vat: list[int] | None = None,
    charges: list[int] | None = None,
) -> dict[str, str]:
    """The service's field errors under the form's names: ``lines[1].quantity`` -> the row it
    came from, ``header.number`` -> ``number``, ``recipient`` -> ``recipient_siret``,
    ``payment.iban`` -> ``payment_iban``, ``allowances_charges[0].amount`` -> the global
    allowance row ``charges[r].amount``, a line's allowance -> ``lines[r].discount``."""
    rows = {"lines": lines or [], "vat_breakdown": vat or [], "allowances_charges": charges or []}
    found: dict[str, str] = {}
    for name, message in errors.items():
        key = name.removeprefix("header.").removeprefix("totals.")
        key = _FIELD_ALIASES.get(key, key)
        match = _INDEXED.match(key)
        if match and int(match.group(2)) < len(rows[match.group(1)]):
            row = rows[match.group(1)][int(match.group(2))]
            rest = key[match.end() :]
            prefix = "charges" if match.group(1) == "allowances_charges" else match.group(1)
            if prefix == "lines" and _LINE_ALLOWANCE.match(rest):
                rest = ".discount"
            elif prefix == "lines" and rest == ".vat_rate":
                found.setdefault(f"lines[{row}].vat_manual", message)
            elif prefix == "charges" and rest == ".vat_rate":
                found.setdefault(f"charges[{row}].vat_manual", message)
            key = f"{prefix}[{row}]{rest}"
        found.setdefault(key, message)
    return found
