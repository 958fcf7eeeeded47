"""``POST /invoices/pdf``: an invoice deposited as a PDF, with attachments
(InvoicesService DepositPdfInvoice).

multipart: ``file`` (the PDF), ``metadata`` (JSON: the header of ``POST /invoices`` without
lines, with ``net_total, vat_total, gross_total, vat_breakdown[{rate, base, amount}]``),
``attachments[]`` (each staged on its own with StageAttachment, then named by the deposit, so
the attachments may reach 120 MB together). The supplier is named in ``metadata`` or by the
``supplier_structure_id`` form field (as for ``/invoices/xml``), so a Factur-X PDF can be
deposited without metadata. Whether the PDF is Factur-X, and every rule, is the service's
business: a refusal is 422 with its code (``PDF_ENCRYPTED``, ``TOTALS_INCONSISTENT``,
``FORM_CONTRADICTS_DOCUMENT``…) and the offending fields in ``errors``.
"""

from __future__ import annotations

import json
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from chorus_edge.attachment_staging import (
    check_request_size,
    refuse_unknown_files,
    stage_attachments,
    uploads_of,
)
from chorus_edge.callers import Clients
from chorus_edge.problems import TITLES, FieldError, Problem, ProblemError
from chorus_edge.uploads import read_bounded
from chorus_gateway.api.schemas import invoices as schemas
from chorus_gateway.api.schemas.invoice_pdf import PdfMetadataBody, deposit_request
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Factures"])

_INVALID = "La requête contient des champs invalides ; corrigez les champs indiqués."


@router.post(
    "/invoices/pdf",
    status_code=201,
    summary="Deposit an invoice as a PDF (plain with its data, or Factur-X) with attachments",
    responses={413: {"model": Problem, "description": TITLES[413]}},
)
async def deposit_pdf_invoice(
    http_request: Request,
    clients: Clients,
    caller: AuthenticatedCaller,
    file: Annotated[
        UploadFile, File(description="The invoice PDF (10 MB at most, not encrypted).")
    ],
    metadata: Annotated[
        str | None,
        Form(
            description="JSON: the header of POST /invoices without lines, plus net_total,"
            " vat_total, gross_total and vat_breakdown[{rate, base, amount}]. Required for a"
            " plain PDF; optional for a Factur-X PDF, whose XML gives the data (any field given"
            " must match it).",
            json_schema_extra={"contentMediaType": "application/json"},
        ),
    ] = None,
    supplier_structure_id: Annotated[
        UUID | None,
        Form(description="The issuing structure, when not given in metadata."),
    ] = None,
    attachments: Annotated[
        list[UploadFile],
        File(
            alias="attachments[]",
            description="Documents kept with the invoice: 10 MB each, 120 MB in all, names of"
            " 50 characters at most, allowed extensions (pdf, jpg, png, xml, csv, xlsx, docx,"
            " odt, ods, txt, zip…).",
        ),
    ] = [],  # noqa: B006 — FastAPI copies parameter defaults
) -> schemas.Invoice:
    """201 with the invoice ``DEPOSEE``. Nothing is stored on any refusal: 422 for the PDF
    (``PDF_MALFORMED``, ``PDF_ENCRYPTED``, ``PDF_TOO_LARGE``), the attachments
    (``ATTACHMENT_*``), the data (portal-entry codes, ``TOTALS_INCONSISTENT``,
    ``FORM_CONTRADICTS_DOCUMENT``, EN 16931 rule failures of a Factur-X), 403, 409 duplicate
    number; 413 for a file beyond the upload bound (``FILE_TOO_LARGE``) or attachments beyond
    120 MB together (``REQUEST_TOO_LARGE``). Each attachment is staged on its own
    (StageAttachment) before the deposit names them: a refused attachment answers 422 with
    ``attachments[i]`` before anything is deposited."""
    check_request_size(http_request)
    form = await http_request.form()  # already parsed for the parameters above: no new read
    refuse_unknown_files(form, {"file"})
    # ``attachments`` (without brackets) is taken too, as the completion takes it.
    attachments = [*attachments, *uploads_of(form, "attachments")]
    body = _metadata(metadata)
    supplier = _supplier(body.supplier_structure_id, supplier_structure_id)
    content = await read_bounded(file)
    staged = await stage_attachments(
        clients.invoices, caller, attachments, supplier_structure_id=supplier
    )
    request = deposit_request(body, supplier, file.filename or "", content, staged)
    return schemas.invoice(await clients.invoices.deposit_pdf_invoice(request, caller))


def _metadata(raw: str | None) -> PdfMetadataBody:
    """The metadata part read as JSON then validated (field paths as in the JSON)."""
    if raw is None or not raw.strip():
        return PdfMetadataBody()
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise ProblemError(
            422,
            "METADATA_MALFORMED",
            "Le champ metadata n'est pas un JSON valide : corrigez-le (ligne"
            f" {error.lineno}, colonne {error.colno}).",
            [FieldError(field="metadata", message=f"JSON invalide : {error.msg}.")],
        ) from None
    if not isinstance(data, dict):
        raise ProblemError(
            422,
            "METADATA_MALFORMED",
            "Le champ metadata doit être un objet JSON ({…}) décrivant la facture.",
            [FieldError(field="metadata", message="Objet JSON attendu.")],
        )
    if "lines" in data:
        raise ProblemError(
            422,
            "VALIDATION_FAILED",
            _INVALID,
            [
                FieldError(
                    field="lines",
                    message="Une facture déposée en PDF n'a pas de lignes : indiquez seulement"
                    " ses totaux (net_total, vat_total, gross_total, vat_breakdown).",
                )
            ],
        )
    try:
        body = PdfMetadataBody.model_validate(data)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
        ) from None
    if body.recipient is not None and body.recipient_structure_id is not None:
        message = "Indiquez le destinataire soit par recipient, soit par recipient_structure_id."
        raise ProblemError(
            422, "VALIDATION_FAILED", _INVALID, [FieldError(field="recipient", message=message)]
        )
    return body


def _supplier(in_metadata: UUID | None, as_field: UUID | None) -> str:
    """The supplier from either place; both given must agree. "" when neither: the service
    answers FIELD_REQUIRED on ``supplier_structure_id``."""
    if in_metadata and as_field and in_metadata != as_field:
        raise ProblemError(
            422,
            "VALIDATION_FAILED",
            _INVALID,
            [
                FieldError(
                    field="supplier_structure_id",
                    message="Le champ supplier_structure_id et metadata désignent deux"
                    " structures différentes : n'en indiquez qu'une.",
                )
            ],
        )
    chosen = in_metadata or as_field
    return str(chosen) if chosen else ""
