"""Invoice files: ``POST /invoices/xml``, ``/invoices/batch``, ``/invoices/archive`` and
``GET /invoices/{id}/document``.

The file travels to InvoicesService as bytes; every check (format, safe parsing, XSD, EN 16931
schematron, totals, deposit rules) happens there. A refused file answers 422 with the rule ids
in ``errors[].message`` (``[BR-CO-10] …``) and the offending XPath in ``errors[].field``.
"""

from __future__ import annotations

import io
import zipfile
from typing import Annotated, Literal
from urllib.parse import quote
from uuid import UUID

from chorus.invoices.v1 import invoices_service_pb2 as pb
from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from chorus_edge.callers import Clients
from chorus_edge.uploads import read_bounded
from chorus_gateway.api.paths import InvoiceId
from chorus_gateway.api.schemas import invoices as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Factures"])


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
    content = await read_bounded(file)
    request = pb.DepositStructuredInvoiceRequest(
        supplier_structure_id=str(supplier_structure_id),
        filename=file.filename or "",
        content=content,
    )
    return schemas.invoice(await clients.invoices.deposit_structured_invoice(request, caller))


@router.post(
    "/invoices/batch",
    summary="Deposit a ZIP or tar.gz of structured invoice files, reported per file",
)
async def deposit_invoice_batch(
    clients: Clients,
    caller: AuthenticatedCaller,
    file: Annotated[UploadFile, File(description="ZIP or tar.gz of UBL / CII / Factur-X files.")],
    supplier_structure_id: Annotated[
        UUID, Form(description="The issuing structure; its SIRET must be every file's seller's.")
    ],
) -> schemas.BatchReport:
    """Each file is deposited like ``POST /invoices/xml``, independently; the report says per
    file ``DEPOSEE`` (with ``invoice_id``) or ``REJETEE`` (with ``errors``). A refused archive
    (not ZIP/tar.gz, unreadable, too many entries, too large uncompressed) answers 422."""
    content = await read_bounded(file)
    request = pb.DepositInvoiceBatchRequest(
        supplier_structure_id=str(supplier_structure_id), content=content
    )
    return schemas.batch_report(await clients.invoices.deposit_invoice_batch(request, caller))


@router.get(
    "/invoices/{invoice_id}/document",
    summary="The invoice's document: its Factur-X PDF, or the file deposited",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "application/xml": {}}}},
)
async def get_invoice_document(
    invoice_id: InvoiceId,
    clients: Clients,
    caller: AuthenticatedCaller,
    role: Annotated[
        Literal["FACTURX", "ORIGINAL", "CII"] | None,
        Query(
            description="Which document (default: the Factur-X PDF, else the file deposited);"
            " CII: a portal invoice's CII XML (EN 16931), the one its Factur-X embeds."
        ),
    ] = None,
) -> Response:
    """A portal invoice's Factur-X PDF is rendered at its first download (the default), or,
    where invoices queue the rendering, seconds after its deposit: until then
    (``facturx_pending`` on the invoice) this answers 503 DOCUMENT_IN_PREPARATION with
    ``Retry-After: 2``. Either way 503 DOCUMENT_WORKERS_STARTING may ask to try again while
    the service starts; its XML (``role=CII``) is there from the deposit."""
    document = await clients.invoices.get_invoice_document(invoice_id, caller, role or "")
    return _download(document)


def _download(
    document: pb.GetInvoiceDocumentResponse | pb.GetInvoiceAttachmentResponse,
) -> Response:
    return Response(
        document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/invoices/{invoice_id}/attachments/{document_id}",
    summary="One attachment of an invoice (ids as in the invoice's documents)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def get_invoice_attachment(
    invoice_id: InvoiceId, document_id: str, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    """Same visibility as ``GET /invoices/{id}``: 404 INVOICE_NOT_FOUND when the invoice is not
    visible, 404 ATTACHMENT_NOT_FOUND when it has no such attachment."""
    document = await clients.invoices.get_invoice_attachment(invoice_id, document_id, caller)
    return _download(document)


@router.post(
    "/invoices/archive",
    summary="The documents of several invoices as one ZIP",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
async def get_invoices_archive(
    body: schemas.ArchiveBody, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    """One ZIP with each invoice's document (as ``GET /invoices/{id}/document``), in the order
    given, duplicates ignored. All or nothing: when one invoice is unknown, not visible to the
    caller or has no document (a draft), the whole request answers 404 with its code, so no
    partial bundle hides a missing invoice; while one is a portal invoice whose Factur-X is
    still being rendered, 503 DOCUMENT_IN_PREPARATION with ``Retry-After: 2``."""
    buffer, names = io.BytesIO(), set[str]()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for invoice_id in dict.fromkeys(str(i) for i in body.ids):
            document = await clients.invoices.get_invoice_document(invoice_id, caller)
            name = _entry_name(document.filename, invoice_id, names)
            names.add(name.casefold())
            archive.writestr(name, document.content)
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={
            "Content-Disposition": "attachment; filename=factures.zip",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _entry_name(filename: str, invoice_id: str, taken: set[str]) -> str:
    """A ZIP entry name that extracts as one plain file: invoices already serves safe names
    (its ``domain/filenames.py``); this does not rely on it. The last path component without
    control characters, never ``.``/``..``; unique (case-insensitively) by the invoice id."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c if c.isprintable() else "_" for c in name).strip(" .")[-100:]
    if not name.strip("_"):
        name = f"facture-{invoice_id}"
    candidate, n = name, 1
    while candidate.casefold() in taken:
        candidate = f"{invoice_id}-{name}" if n == 1 else f"{invoice_id}-{n}-{name}"
        n += 1
    return candidate
