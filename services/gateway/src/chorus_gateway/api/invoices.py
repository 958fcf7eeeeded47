"""``/invoices`` over InvoicesService: portal entry, lists, details, history, submission."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from chorus.invoices.v1 import invoices_service_pb2 as pb
from fastapi import APIRouter, Query

from chorus_edge.callers import Clients
from chorus_edge.invoices import INVOICE_STATUS, LIST_SIDE, InvoiceStatus
from chorus_gateway.api.amounts import PositiveAmount
from chorus_gateway.api.paging import PageSize, PageToken
from chorus_gateway.api.paths import InvoiceId
from chorus_gateway.api.schemas import invoices as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Factures"])


@router.post("/invoices", status_code=201, summary="Deposit an invoice entered on the portal")
async def create_invoice(
    body: schemas.CreateInvoiceBody,
    clients: Clients,
    caller: AuthenticatedCaller,
    draft: Annotated[bool, Query(description="Save as BROUILLON instead of depositing.")] = False,
) -> schemas.Invoice:
    request = schemas.create_request(body, draft=draft)
    return schemas.invoice(await clients.invoices.create_invoice(request, caller))


@router.get("/invoices", summary="Issued or received invoices, newest first")
async def list_invoices(
    clients: Clients,
    caller: AuthenticatedCaller,
    side: Literal["issued", "received"] | None = None,
    structure_id: UUID | None = None,
    status: InvoiceStatus | None = None,
    number: Annotated[str, Query(description="Number prefix, case-insensitive.")] = "",
    issued_from: Annotated[
        date | None, Query(alias="from", description="Issue date from (inclusive).")
    ] = None,
    issued_to: Annotated[
        date | None, Query(alias="to", description="Issue date to (inclusive).")
    ] = None,
    deposited_from: Annotated[
        date | None, Query(description="Deposit day (Europe/Paris) from (inclusive).")
    ] = None,
    deposited_to: Annotated[
        date | None, Query(description="Deposit day (Europe/Paris) to (inclusive).")
    ] = None,
    min_amount: Annotated[
        PositiveAmount | None, Query(description="Gross total (TTC) at least.")
    ] = None,
    max_amount: Annotated[
        PositiveAmount | None, Query(description="Gross total (TTC) at most.")
    ] = None,
    counterparty_id: Annotated[
        UUID | None,
        Query(description="The recipient (issued) or the supplier (received) structure."),
    ] = None,
    counterparty: Annotated[
        str,
        Query(
            max_length=200,
            description="Words of the other party's name (each must appear, in any order),"
            " case- and accent-insensitive.",
        ),
    ] = "",
    service_code: Annotated[
        str, Query(max_length=100, description="The recipient's service code.")
    ] = "",
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.InvoicePage:
    request = pb.ListInvoicesRequest(
        side=LIST_SIDE.to_proto(side.upper() if side else None),
        structure_id=str(structure_id) if structure_id else "",
        status=INVOICE_STATUS.to_proto(status),
        number=number,
        page_size=page_size or 0,
        page_token=page_token,
        issued_from=_day(issued_from),
        issued_to=_day(issued_to),
        deposited_from=_day(deposited_from),
        deposited_to=_day(deposited_to),
        min_amount=min_amount or "",
        max_amount=max_amount or "",
        counterparty_structure_id=str(counterparty_id) if counterparty_id else "",
        counterparty_name=counterparty,
        service_code=service_code,
    )
    return schemas.invoice_page(await clients.invoices.list_invoices(request, caller))


@router.get("/invoices/{invoice_id}", summary="One invoice with totals and allowed actions")
async def get_invoice(
    invoice_id: InvoiceId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Invoice:
    return schemas.invoice(await clients.invoices.get_invoice(invoice_id, caller))


@router.get(
    "/invoices/{invoice_id}/history",
    summary="Status history, oldest first",
    description="Each entry: the Chorus status, the 2026 reform lifecycle codes it gave with "
    'their labels and which Chorus status gave them ("204 Prise en charge — service fait"; '
    "MISE_EN_PAIEMENT gives 211 then 212), when, who and the comment.",
)
async def get_invoice_history(
    invoice_id: InvoiceId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.History:
    return schemas.history(await clients.invoices.get_invoice_history(invoice_id, caller))


@router.post("/invoices/{invoice_id}/submit", summary="Submit a draft: BROUILLON -> DEPOSEE")
async def submit_invoice(
    invoice_id: InvoiceId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Invoice:
    return schemas.invoice(await clients.invoices.submit_invoice(invoice_id, caller))


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""
