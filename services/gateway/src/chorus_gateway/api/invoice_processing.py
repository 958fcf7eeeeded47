"""``/invoices/{id}`` actions after the deposit: recipient processing, supplier completion,
recycling, rejection acknowledgement, draft deletion (InvoicesService ChangeInvoiceStatus,
CompleteInvoice, RecycleInvoice, AcknowledgeRejection, DeleteInvoice)."""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as pb
from fastapi import APIRouter, Response

from chorus_gateway.api.paths import InvoiceId
from chorus_gateway.api.schemas import invoice_processing as bodies
from chorus_gateway.api.schemas import invoices as schemas
from chorus_gateway.api.security import AuthenticatedCaller, Clients

router = APIRouter(tags=["Factures"])


@router.post(
    "/invoices/{invoice_id}/status",
    summary="Recipient processing: move forward, or suspend / send back / reject with a reason",
)
async def change_invoice_status(
    invoice_id: InvoiceId,
    body: bodies.StatusChangeBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Invoice:
    request = pb.ChangeInvoiceStatusRequest(
        invoice_id=invoice_id,
        status=schemas.INVOICE_STATUS.to_proto(body.status),
        reason=body.reason,
    )
    return schemas.invoice(await clients.invoices.change_invoice_status(request, caller))


@router.post("/invoices/{invoice_id}/completion", summary="Supplier: complete a suspended invoice")
async def complete_invoice(
    invoice_id: InvoiceId,
    body: bodies.CompletionBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Invoice:
    # JSON comment for now; attachments sent with the completion are stored beside it by the
    # documents endpoints before this call (multipart form to come with them).
    request = pb.CompleteInvoiceRequest(invoice_id=invoice_id, comment=body.comment)
    return schemas.invoice(await clients.invoices.complete_invoice(request, caller))


@router.post(
    "/invoices/{invoice_id}/recycling",
    summary="Supplier: re-address an A_RECYCLER invoice and deposit it again (same number)",
)
async def recycle_invoice(
    invoice_id: InvoiceId,
    body: bodies.RecyclingBody,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Invoice:
    request = pb.RecycleInvoiceRequest(
        invoice_id=invoice_id,
        recipient_structure_id=str(body.recipient_structure_id or ""),
        service_code=body.service_code,
        engagement_number=body.engagement_number,
    )
    return schemas.invoice(await clients.invoices.recycle_invoice(request, caller))


@router.post(
    "/invoices/{invoice_id}/rejection-acknowledgement",
    summary="Supplier: acknowledge the rejection of a REJETEE invoice",
)
async def acknowledge_rejection(
    invoice_id: InvoiceId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Invoice:
    return schemas.invoice(await clients.invoices.acknowledge_rejection(invoice_id, caller))


@router.delete(
    "/invoices/{invoice_id}",
    status_code=204,
    response_class=Response,
    summary="Supplier: delete a draft",
)
async def delete_invoice(
    invoice_id: InvoiceId, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    await clients.invoices.delete_invoice(invoice_id, caller)
    return Response(status_code=204)
