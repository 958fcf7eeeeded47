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

from chorus_gateway.clients import ServiceClients
from chorus_gateway.clients.caller import Caller
from chorus_gateway.edge.attachment_staging import check_request_size, stage_attachments
from chorus_gateway.edge.enums import ProtoEnum
from chorus_gateway.edge.invoices import FRAMEWORK, INVOICE_TYPE
from chorus_gateway.edge.uploads import read_bounded
from chorus_gateway.web.formats import decimal_input
from chorus_gateway.web.forms import text

LINE_ROWS = 5
VAT_ROWS = 3
MAX_ROWS = 200
LINE_FIELDS = ("description", "quantity", "unit", "unit_price", "vat_rate")
HEADER_FIELDS = (
    "supplier_structure_id",
    "recipient_siret",
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
)
TOTAL_FIELDS = ("net_total", "vat_total", "gross_total")
_ROW = re.compile(r"^(lines|vat)-(\d{1,3})-")  # MAX_ROWS rows: 3 digits at most
_INDEXED = re.compile(r"^(lines|vat_breakdown)\[(\d{1,4})\]")
# The service's names for what the forms call otherwise.
_FIELD_ALIASES = {"recipient": "recipient_siret", "recipient.identifier": "recipient_siret"}


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
        return [
            pb.InvoiceLine(
                description=self.rows[i]["description"],
                quantity=decimal_input(self.rows[i]["quantity"]),
                unit=self.rows[i]["unit"] or "C62",
                unit_price=decimal_input(self.rows[i]["unit_price"]),
                vat_rate=self.rows[i]["vat_rate"],
            )
            for i in self.sent
        ]


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
    by one as in the API (:func:`~chorus_gateway.edge.attachment_staging.stage_attachments`):
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
    errors: dict[str, str], lines: list[int] | None = None, vat: list[int] | None = None
) -> dict[str, str]:
    """The service's field errors under the form's names: ``lines[1].quantity`` -> the row it
    came from, ``header.number`` -> ``number``, ``recipient`` -> ``recipient_siret``."""
    rows = {"lines": lines or [], "vat_breakdown": vat or []}
    found: dict[str, str] = {}
    for name, message in errors.items():
        key = name.removeprefix("header.").removeprefix("totals.")
        key = _FIELD_ALIASES.get(key, key)
        match = _INDEXED.match(key)
        if match and int(match.group(2)) < len(rows[match.group(1)]):
            row = rows[match.group(1)][int(match.group(2))]
            key = f"{match.group(1)}[{row}]{key[match.end() :]}"
        found.setdefault(key, message)
    return found
