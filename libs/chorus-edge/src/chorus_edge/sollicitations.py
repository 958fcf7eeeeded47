"""Sollicitations as both fronts write them: the enum tables, the invoice check before a
sollicitation about an invoice is written, and the files read from a form.

StructuresService owns sollicitations and every rule of them; what it cannot check alone is
the invoice a sollicitation is about, which invoices owns. So before writing one, the edge
reads the invoice as the caller (InvoicesService answers NOT_FOUND to anyone who may not
see it) and takes its number from there, and checks that a structure addressed is the
invoice's supplier or recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from chorus.structures.v1 import structures_service_pb2 as pb
from starlette.datastructures import UploadFile
from starlette.responses import Response

from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.enums import ProtoEnum
from chorus_edge.problems import FieldError, ProblemError
from chorus_edge.uploads import read_bounded

SOLLICITATION_STATUS = ProtoEnum(pb.SollicitationStatus)
SOLLICITATION_BOX = ProtoEnum(pb.SollicitationBox)
SollicitationStatus = SOLLICITATION_STATUS.rest
SollicitationBox = SOLLICITATION_BOX.rest

MAX_ATTACHMENTS_BYTES = 15 * 1024 * 1024
"""What StructuresService accepts in one message (5 files of 10 MB at most, 15 MB together);
the body bound of the routes that take them (``body_limits``) adds the form around."""
MAX_FILES = 5


@dataclass(frozen=True)
class NewSollicitation:
    subject: str
    body: str
    addressee_structure_id: str = ""
    to_support: bool = False
    sender_structure_id: str = ""
    invoice_id: str = ""
    structure_id: str = ""


async def read_attachments(files: list[UploadFile]) -> list[pb.SollicitationAttachmentUpload]:
    """The files chosen (an empty file input sends one nameless empty part: skipped), read
    bounded; the service checks names, extensions and sizes."""
    chosen = [f for f in files if f.filename]
    if len(chosen) > MAX_FILES:
        message = f"Joignez au plus {MAX_FILES} fichiers à un message."
        raise ProblemError(
            422, "TOO_MANY_ATTACHMENTS", message, [FieldError(field="attachments", message=message)]
        )
    return [
        pb.SollicitationAttachmentUpload(filename=f.filename or "", content=await read_bounded(f))
        for f in chosen
    ]


async def create_sollicitation(
    clients: ServiceClients,
    caller: Caller,
    new: NewSollicitation,
    attachments: list[pb.SollicitationAttachmentUpload],
) -> pb.Sollicitation:
    """Writes the sollicitation; about an invoice, only one the caller may read (404
    INVOICE_NOT_FOUND otherwise, from invoices), addressed to its supplier's or recipient's
    managers or to the support (422 ADDRESSEE_NOT_PARTY_TO_INVOICE)."""
    number = ""
    if new.invoice_id:
        invoice = await clients.invoices.get_invoice(new.invoice_id, caller)
        parties = {invoice.supplier_structure_id, invoice.recipient_structure_id}
        if not new.to_support and new.addressee_structure_id not in parties:
            message = (
                "Pour une facture, écrivez aux gestionnaires de son fournisseur ou de son "
                "destinataire, ou au support."
            )
            raise ProblemError(
                422,
                "ADDRESSEE_NOT_PARTY_TO_INVOICE",
                message,
                [FieldError(field="addressee_structure_id", message=message)],
            )
        number = invoice.number
    request = pb.CreateSollicitationRequest(
        sender_structure_id=new.sender_structure_id,
        addressee_structure_id=new.addressee_structure_id,
        to_support=new.to_support,
        subject=new.subject,
        body=new.body,
        invoice_id=new.invoice_id,
        invoice_number=number,
        structure_id=new.structure_id,
        attachments=attachments,
    )
    return await clients.structures.create_sollicitation(request, caller)


def attachment_response(file: pb.GetSollicitationAttachmentResponse) -> Response:
    """The file as a download (never shown inline)."""
    return Response(
        file.content,
        media_type=file.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(file.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )
