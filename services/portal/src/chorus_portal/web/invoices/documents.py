"""Portal: an invoice's documents downloaded (its PDF or deposited file, its attachments),
over GetInvoiceDocument and GetInvoiceAttachment."""

from __future__ import annotations

from urllib.parse import quote

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_portal.web.invoices.display import failure_page, not_found
from chorus_portal.web.paths import known_id
from chorus_portal.web.session import signed_in, to_login

router = APIRouter(include_in_schema=False)


async def _stream(call) -> Response:
    document = await call
    return Response(
        document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@router.get("/factures/{invoice_id}/document", response_model=None)
async def invoice_document(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = known_id(invoice_id)
    if known is None:
        return not_found(request)
    # The portal links the main document and a portal invoice's XML (?role=CII).
    role = "CII" if request.query_params.get("role") == "CII" else ""
    try:
        return await _stream(clients.invoices.get_invoice_document(known, me, role))
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)


@router.get("/factures/{invoice_id}/pieces-jointes/{document_id}", response_model=None)
async def invoice_attachment(
    request: Request, invoice_id: str, document_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = known_id(invoice_id)
    if known is None:
        return not_found(request)
    try:
        return await _stream(clients.invoices.get_invoice_attachment(known, document_id, me))
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
