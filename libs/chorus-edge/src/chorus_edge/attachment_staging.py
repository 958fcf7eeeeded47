"""Attachments of a PDF deposit or a completion, staged one by one before the call that uses
them (InvoicesService StageAttachment), for the API and the portal alike.

A gRPC message is capped at 16 MiB while an invoice may carry 120 MB of attachments: each file
is read (bounded, :func:`~chorus_edge.uploads.read_bounded`) and staged in
its own message, and the deposit or completion then names the staged ids. The request as a
whole is bounded too (:data:`MAX_REQUEST_BYTES`: the invoice's file, 120 MB of attachments and
the form around them). The service checks each file when it is staged (extension, name, size);
its refusal names the file as ``attachments[i]``. Staged files that end up unused (a later
refusal) expire on their own in the service. With an Idempotency-Key, each file is staged under
``<key>/attachments[i]``, which gives it the same staged id when the request is retried: the
retried deposit is then the same request and replays its first answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from chorus_edge.clients.caller import Caller
from chorus_edge.clients.invoices import InvoicesClient
from chorus_edge.problems import FieldError, ProblemError, problem_from_rpc_error
from chorus_edge.uploads import MAX_UPLOAD_BYTES, read_bounded

MAX_ATTACHMENTS_BYTES = 120 * 1024 * 1024
"""All the attachments of one request together (the service's per-invoice limit)."""
FORM_OVERHEAD_BYTES = 1024 * 1024
MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + MAX_ATTACHMENTS_BYTES + FORM_OVERHEAD_BYTES
"""A whole multipart request: the invoice's file, its attachments and the form fields."""

_TOO_LARGE = (
    f"Les pièces jointes d'une facture ne peuvent dépasser {MAX_ATTACHMENTS_BYTES // 1024**2} Mo"
    " au total (et le PDF de la facture 10 Mo) : retirez ou compressez des pièces jointes."
)


def check_request_size(request: Request) -> None:
    """413 REQUEST_TOO_LARGE when the request announces (Content-Length) more than
    :data:`MAX_REQUEST_BYTES`; the files are bounded again as they are read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise ProblemError(413, "REQUEST_TOO_LARGE", _TOO_LARGE)


async def stage_attachments(
    invoices: InvoicesClient,
    caller: Caller,
    uploads: Sequence[UploadFile],
    *,
    supplier_structure_id: str = "",
    invoice_id: str = "",
) -> list[str]:
    """Stages each upload in turn; their staged ids, in order. ProblemError: 413
    FILE_TOO_LARGE (one file beyond the gateway's bound), 413 REQUEST_TOO_LARGE (beyond
    :data:`MAX_ATTACHMENTS_BYTES` together, nothing staged beyond it), the service's refusal
    (422 ATTACHMENT_*, field ``attachments[i]``; 403/404 when the caller may not deposit for
    ``supplier_structure_id`` or complete ``invoice_id``, which the service checks before
    keeping anything)."""
    staged, total = [], 0
    for index, upload in enumerate(uploads):
        content = await read_bounded(upload)
        total += len(content)
        if total > MAX_ATTACHMENTS_BYTES:
            raise ProblemError(413, "REQUEST_TOO_LARGE", _TOO_LARGE)
        request = pb.StageAttachmentRequest(
            file=pb.AttachmentFile(filename=upload.filename or "", content=content),
            supplier_structure_id=supplier_structure_id,
            invoice_id=invoice_id,
        )
        try:
            answer = await invoices.stage_attachment(request, _per_file(caller, index))
        except grpc.aio.AioRpcError as err:
            raise _about_file(problem_from_rpc_error(err), index) from None
        staged.append(answer.staged_attachment_id)
    return staged


def _per_file(caller: Caller, index: int) -> Caller:
    """The caller with its Idempotency-Key made unique per file: the service derives the staged
    id from it, so a retried deposit names the same ids and replays its first answer."""
    if not caller.idempotency_key:
        return caller
    return replace(caller, idempotency_key=f"{caller.idempotency_key}/attachments[{index}]")


def _about_file(problem: ProblemError, index: int) -> ProblemError:
    """The service's refusal of one staged file, its violations naming ``attachments[i]``."""
    problem.errors = [
        FieldError(field=f"attachments[{index}]", message=e.message) if e.field == "file" else e
        for e in problem.errors
    ]
    return problem


ATTACHMENT_FIELDS = frozenset({"attachments[]", "attachments"})
"""The names attachments are sent under (with brackets, as API.md writes it, or without)."""


def uploads_of(form: FormData, *names: str) -> list[UploadFile]:
    """The files sent under ``names`` (default: the attachment fields), in order."""
    return [
        value
        for name in names or sorted(ATTACHMENT_FIELDS, reverse=True)
        for value in form.getlist(name)
        if isinstance(value, UploadFile)
    ]


def refuse_unknown_files(form: FormData, other_fields: set[str]) -> None:
    """422 FIELD_UNKNOWN for a file sent under a name that is neither an attachment field nor
    one of ``other_fields``: it would otherwise be dropped without a word (a misspelt
    ``attachment`` would lose the supplier's documents)."""
    files = {name for name, value in form.multi_items() if isinstance(value, UploadFile)}
    unknown = sorted(files - ATTACHMENT_FIELDS - other_fields)
    if unknown:
        expected = ", ".join(f"« {n} »" for n in sorted(other_fields | {"attachments[]"}))
        raise ProblemError(
            422,
            "FIELD_UNKNOWN",
            f"Fichier envoyé sous un nom de champ inconnu : les champs de fichier sont {expected}.",
            [FieldError(field=name, message="Champ de fichier inconnu.") for name in unknown],
        )
