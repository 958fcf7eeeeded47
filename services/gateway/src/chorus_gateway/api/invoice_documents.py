"""Invoice files: ``POST /invoices/xml`` (structured deposit) and ``GET /invoices/{id}/document``.

The file travels to InvoicesService as bytes; every check (format, safe parsing, XSD, EN 16931
schematron, totals, deposit rules) happens there. A refused file answers 422 with the rule ids
in ``errors[].message`` (``[BR-CO-10] …``) and the offending XPath in ``errors[].field``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from chorus.invoices.v1 import invoices_service_pb2 as pb
from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from chorus_gateway.api.paths import InvoiceId
from chorus_gateway.api.problems import ProblemError
from chorus_gateway.api.schemas import invoices as schemas
from chorus_gateway.api.security import AuthenticatedCaller, Clients

router = APIRouter(tags=["Factures"])

# The service applies its own (configurable, 10 MB by default) limit; this bounds what the
# gateway reads into memory before asking.
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
_CHUNK = 1024 * 1024


@router.post(
    "/invoices/xml",
    status_code=201,
    summary="Deposit a structured invoice file: UBL 2.1, CII D16B or Factur-X PDF",
)
async def deposit_structured_invoice(
    clients: Clients,
    caller: AuthenticatedCaller,
    file: Annotated[UploadFile, File(description="UBL 2.1 / CII XML, or Factur-X PDF.")],
    supplier_structure_id: Annotated[
        UUID, Form(description="The issuing structure; its SIRET must be the file's seller's.")
    ],
) -> schemas.Invoice:
    content = await _read_bounded(file)
    request = pb.DepositStructuredInvoiceRequest(
        supplier_structure_id=str(supplier_structure_id),
        filename=file.filename or "",
        content=content,
    )
    return schemas.invoice(await clients.invoices.deposit_structured_invoice(request, caller))


@router.get(
    "/invoices/{invoice_id}/document",
    summary="The invoice's document: its Factur-X PDF, or the file deposited",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "application/xml": {}}}},
)
async def get_invoice_document(
    invoice_id: InvoiceId, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    document = await clients.invoices.get_invoice_document(invoice_id, caller)
    return Response(
        document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _read_bounded(file: UploadFile) -> bytes:
    chunks, size = [], 0
    while chunk := await file.read(_CHUNK):
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise ProblemError(
                413,
                "FILE_TOO_LARGE",
                f"Le fichier dépasse {MAX_UPLOAD_BYTES // 1024**2} Mo.",
            )
        chunks.append(chunk)
    return b"".join(chunks)
