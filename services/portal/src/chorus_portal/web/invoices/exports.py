"""Portal: the current invoice list ("Mes factures", same side, filters and order) as a file,
CSV for French Excel (UTF-8 with BOM, ``;`` separator, decimal comma) or XLSX (openpyxl,
write-only mode), at most :data:`~.listing.EXPORT_CAP` rows (the first ones in the list's
order; the list page says so). Rows come from ListInvoices paged by number, 1,000 at a time.

Columns: numéro, date, fournisseur (raison sociale, then its identifier), destinataire (same),
montant HT, montant TTC, devise, statut, date de dépôt.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_portal.web import formats
from chorus_portal.web.invoices.display import (
    failure_page,
    status_name,
    structure_identifier,
    structures_of,
)
from chorus_portal.web.invoices.listing import EXPORT_CAP, list_request, read_list
from chorus_portal.web.session import signed_in, to_login

router = APIRouter(include_in_schema=False)

BATCH = 1000
HEADERS = (
    "Numéro",
    "Date de facture",
    "Fournisseur",
    "Identifiant du fournisseur (SIRET)",
    "Destinataire",
    "Identifiant du destinataire (SIRET)",
    "Montant HT",
    "Montant TTC",
    "Devise",
    "Statut",
    "Date de dépôt",
)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Row:
    number: str
    issue_date: date | None
    supplier: str
    supplier_identifier: str
    recipient: str
    recipient_identifier: str
    net_total: Decimal | None
    gross_total: Decimal | None
    currency: str
    status: str
    deposited_at: datetime | None


async def _rows(
    clients: ServiceClients, caller: Caller, wanted: pb.ListInvoicesRequest
) -> list[Row]:
    invoices: list[pb.Invoice] = []
    page = 1
    while len(invoices) < EXPORT_CAP:
        wanted.page_number, wanted.page_size = page, BATCH
        found = await clients.invoices.list_invoices(wanted, caller)
        invoices.extend(found.invoices)
        if not found.invoices or page * BATCH >= found.total_size:
            break
        page += 1
    invoices = invoices[:EXPORT_CAP]
    parties = await structures_of(
        clients,
        caller,
        {i.supplier_structure_id for i in invoices} | {i.recipient_structure_id for i in invoices},
    )

    def party(structure_id: str) -> tuple[str, str]:
        found = parties.get(structure_id)
        return (found.raison_sociale if found else "", structure_identifier(found)["identifier"])

    rows = []
    for invoice in invoices:
        supplier, supplier_identifier = party(invoice.supplier_structure_id)
        recipient, recipient_identifier = party(invoice.recipient_structure_id)
        rows.append(
            Row(
                number=invoice.number,
                issue_date=_day(invoice.issue_date),
                supplier=supplier,
                supplier_identifier=supplier_identifier,
                recipient=recipient,
                recipient_identifier=recipient_identifier,
                net_total=_amount(invoice.totals.net_total),
                gross_total=_amount(invoice.totals.gross_total),
                currency=invoice.currency,
                status=formats.status(status_name(invoice.status)),
                deposited_at=invoice.deposited_at.ToDatetime(tzinfo=formats.PARIS).replace(
                    tzinfo=None
                )
                if invoice.HasField("deposited_at")
                else None,
            )
        )
    return rows


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _amount(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _french_amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def csv_bytes(rows: list[Row]) -> bytes:
    """UTF-8 with BOM, ``;`` between fields, dates DD/MM/YYYY, decimal comma: what French
    Excel opens without an import wizard. Cells starting like a formula get a leading
    apostrophe (no formula injection)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(
            [
                _text_cell(row.number),
                row.issue_date.strftime("%d/%m/%Y") if row.issue_date else "",
                _text_cell(row.supplier),
                row.supplier_identifier,
                _text_cell(row.recipient),
                row.recipient_identifier,
                _french_amount(row.net_total),
                _french_amount(row.gross_total),
                row.currency,
                row.status,
                row.deposited_at.strftime("%d/%m/%Y %H:%M") if row.deposited_at else "",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(rows: list[Row]) -> bytes:
    """One sheet "Factures" written in openpyxl's write-only mode: dates and amounts as real
    date and number cells (shown DD/MM/YYYY and 1 234,56 by a French Excel); identifiers as
    text (leading zeros kept)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Factures")
    sheet.append(list(HEADERS))

    def amount(value: Decimal | None) -> WriteOnlyCell | None:
        if value is None:
            return None
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "#,##0.00"
        return cell

    def day(value: date | datetime | None, shape: str) -> WriteOnlyCell | None:
        if value is None:
            return None
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = shape
        return cell

    for row in rows:
        sheet.append(
            [
                _text_cell(row.number),
                day(row.issue_date, "dd/mm/yyyy"),
                _text_cell(row.supplier),
                row.supplier_identifier,
                _text_cell(row.recipient),
                row.recipient_identifier,
                amount(row.net_total),
                amount(row.gross_total),
                row.currency,
                row.status,
                day(row.deposited_at, "dd/mm/yyyy hh:mm"),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text_cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def _export(request: Request, clients: Clients, caller: AnonymousCaller, kind: str):
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    side, values, sort, direction = read_list(request)
    try:
        rows = await _rows(clients, me, list_request(side, values, sort, direction))
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    name = f"factures-{'emises' if side == 'issued' else 'recues'}-{date.today():%Y%m%d}"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}.{kind}"',
        "Cache-Control": "no-store",
    }
    # Up to EXPORT_CAP rows is up to a second of CPU: built in a worker thread, so the
    # portal's other requests are not held behind it (nosniff comes from the headers
    # middleware, as on every answer).
    if kind == "csv":
        content = await asyncio.to_thread(csv_bytes, rows)
        return Response(content, media_type="text/csv; charset=utf-8", headers=headers)
    return Response(
        await asyncio.to_thread(xlsx_bytes, rows), media_type=XLSX_TYPE, headers=headers
    )


@router.get("/factures/export.csv", response_model=None)
async def export_csv(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    return await _export(request, clients, caller, "csv")


@router.get("/factures/export.xlsx", response_model=None)
async def export_xlsx(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    return await _export(request, clients, caller, "xlsx")
