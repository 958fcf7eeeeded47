"""``/invoices/{id}`` actions after the deposit: recipient processing, supplier completion,
recycling, rejection acknowledgement, draft deletion (InvoicesService ChangeInvoiceStatus,
CompleteInvoice, RecycleInvoice, AcknowledgeRejection, DeleteInvoice)."""

from __future__ import annotations

import json

from chorus.invoices.v1 import invoices_service_pb2 as pb
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from chorus_edge.attachment_staging import (
    check_request_size,
    refuse_unknown_files,
    stage_attachments,
    uploads_of,
)
from chorus_edge.callers import Clients
from chorus_edge.invoices import INVOICE_STATUS
from chorus_gateway.api.paths import InvoiceId
from chorus_gateway.api.schemas import invoice_processing as bodies
from chorus_gateway.api.schemas import invoices as schemas
from chorus_gateway.api.security import AuthenticatedCaller

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
        status=INVOICE_STATUS.to_proto(body.status),
        reason=body.reason,
    )
    return schemas.invoice(await clients.invoices.change_invoice_status(request, caller))


_COMPLETION_FORM = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "comment": {"type": "string", "maxLength": 1000},
                        "attachments[]": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                }
            },
            "application/json": {"schema": bodies.CompletionBody.model_json_schema()},
        }
    }
}


@router.post(
    "/invoices/{invoice_id}/completion",
    summary="Supplier: complete a suspended invoice with a comment and attachments",
    openapi_extra=_COMPLETION_FORM,
)
async def complete_invoice(
    invoice_id: InvoiceId,
    http_request: Request,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> schemas.Invoice:
    """multipart ``comment`` + ``attachments[]`` (or JSON ``{comment}``): SUSPENDUE →
    COMPLETEE, the attachments kept in the same transaction (a refused file keeps nothing:
    422 ATTACHMENT_* naming ``attachments[i]``; 413 for a file beyond the upload bound, or
    attachments beyond 120 MB together). Each attachment is staged on its own
    (StageAttachment) before the completion names them."""
    uploads: list[UploadFile] = []
    if http_request.headers.get("content-type", "").startswith("multipart/form-data"):
        check_request_size(http_request)
        form = await http_request.form()
        refuse_unknown_files(form, set())
        data = {"comment": form.get("comment", "")}
        uploads = uploads_of(form)
    else:
        raw = await http_request.body()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body",), "msg": "JSON invalide", "input": ""}]
            ) from None
    try:
        body = bodies.CompletionBody.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
        ) from None
    staged = await stage_attachments(clients.invoices, caller, uploads, invoice_id=invoice_id)
    request = pb.CompleteInvoiceRequest(
        invoice_id=invoice_id, comment=body.comment, staged_attachment_ids=staged
    )
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
