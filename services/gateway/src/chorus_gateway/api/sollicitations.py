"""Sollicitations: writing to a structure's managers or to the support about an invoice or a
structure, listing sent and received ones, reading, answering, closing, downloading an
attachment, over StructuresService (which owns them and every rule).

Writing and answering take ``multipart/form-data`` (the message and its files); a
sollicitation about an invoice is checked first by reading the invoice as the caller
(:mod:`chorus_edge.sollicitations`).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Depends, File, Form, Path, UploadFile
from fastapi.responses import Response

from chorus_edge.callers import Clients
from chorus_edge.sollicitations import (
    SOLLICITATION_BOX,
    SOLLICITATION_STATUS,
    NewSollicitation,
    SollicitationBox,
    SollicitationStatus,
    attachment_response,
    create_sollicitation,
    read_attachments,
)
from chorus_gateway.api.paging import PageSize, PageToken
from chorus_gateway.api.paths import known_id
from chorus_gateway.api.schemas import sollicitations as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Sollicitations"])

_FILES_DESCRIPTION = (
    "Files: 10 MB each, 5 and 15 MB together at most, names of 50 characters at most, allowed "
    "extensions (pdf, jpg, png, xml, csv, xlsx, docx, odt, ods, txt, zip)."
)


def _sollicitation_id(
    sollicitation_id: Annotated[str, Path(description="Sollicitation id (UUID).")],
) -> str:
    return known_id(sollicitation_id, "Sollicitation")


def _attachment_id(
    attachment_id: Annotated[str, Path(description="Attachment id (UUID).")],
) -> str:
    return known_id(attachment_id, "Pièce jointe")


SollicitationId = Annotated[str, Depends(_sollicitation_id)]
AttachmentId = Annotated[str, Depends(_attachment_id)]


def _id(value: UUID | None) -> str:
    return str(value) if value else ""


@router.post(
    "/sollicitations", status_code=201, summary="Write to a structure's managers or to the support"
)
async def create(
    clients: Clients,
    caller: AuthenticatedCaller,
    subject: Annotated[str, Form(description="1 to 200 characters.")],
    body: Annotated[str, Form(description="The message, 1 to 10,000 characters.")],
    addressee_structure_id: Annotated[
        UUID | None, Form(description="The structure whose managers are addressed.")
    ] = None,
    to_support: Annotated[
        bool, Form(description="Addressed to the platform's support instead.")
    ] = False,
    sender_structure_id: Annotated[
        UUID | None, Form(description="The structure the caller writes for (a member).")
    ] = None,
    invoice_id: Annotated[
        UUID | None,
        Form(
            description="The invoice it is about (one the caller may read); its number is"
            " taken from it."
        ),
    ] = None,
    structure_id: Annotated[
        UUID | None,
        Form(
            description="The structure it is about, when not an invoice (default: the"
            " addressed one)."
        ),
    ] = None,
    attachments: Annotated[
        list[UploadFile], File(alias="attachments[]", description=_FILES_DESCRIPTION)
    ] = [],  # noqa: B006 — FastAPI copies parameter defaults
) -> schemas.Sollicitation:
    """201 with the sollicitation ``OUVERTE`` and its first message; its addressees are told
    by e-mail and in their feed. 422 for bad input (``SUBJECT_*``, ``MESSAGE_*``,
    ``ADDRESSEE_*``, ``OBJECT_*``, ``ATTACHMENT_*``, ``ADDRESSEE_NOT_PARTY_TO_INVOICE``),
    404 ``STRUCTURE_NOT_FOUND`` / ``INVOICE_NOT_FOUND``, 403 for the sender structure
    (``NOT_A_MEMBER``, ``SPACE_CLOSED``, ``SUBSCRIPTION_REQUIRED``: its "Sollicitations
    émises" space), 409 ``STRUCTURE_WITHOUT_MANAGER`` / ``SOLLICITATIONS_NOT_RECEIVED`` /
    ``SUPPORT_UNAVAILABLE``; nothing is written on any refusal."""
    new = NewSollicitation(
        subject=subject,
        body=body,
        addressee_structure_id=_id(addressee_structure_id),
        to_support=to_support,
        sender_structure_id=_id(sender_structure_id),
        invoice_id=_id(invoice_id),
        structure_id=_id(structure_id),
    )
    files = await read_attachments(attachments)
    return schemas.sollicitation(await create_sollicitation(clients, caller, new, files))


@router.get("/sollicitations", summary="The caller's sent or received sollicitations")
async def list_sollicitations(
    clients: Clients,
    caller: AuthenticatedCaller,
    box: SollicitationBox,
    status: SollicitationStatus | None = None,
    page_size: PageSize = None,
    page_token: PageToken = "",
) -> schemas.SollicitationPage:
    """``box=EMISES``: written by the caller; ``RECUES``: addressed to a structure the caller
    manages (or to the support, for its users). Newest activity first, without messages."""
    request = pb.ListSollicitationsRequest(
        box=SOLLICITATION_BOX.to_proto(box),
        status=SOLLICITATION_STATUS.to_proto(status),
        page_size=page_size or 0,
        page_token=page_token,
    )
    response = await clients.structures.list_sollicitations(request, caller)
    return schemas.SollicitationPage(
        items=[schemas.sollicitation(s) for s in response.sollicitations],
        next_page_token=response.next_page_token or None,
    )


@router.get("/sollicitations/{sollicitation_id}", summary="One sollicitation with its messages")
async def get_sollicitation(
    sollicitation_id: SollicitationId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Sollicitation:
    """404 SOLLICITATION_NOT_FOUND to anyone but its sender and addressees."""
    return schemas.sollicitation(
        await clients.structures.get_sollicitation(sollicitation_id, caller)
    )


@router.post(
    "/sollicitations/{sollicitation_id}/replies",
    summary="Answer (addressees) or write again (sender)",
)
async def reply(
    sollicitation_id: SollicitationId,
    clients: Clients,
    caller: AuthenticatedCaller,
    body: Annotated[str, Form(description="The message, 1 to 10,000 characters.")],
    attachments: Annotated[
        list[UploadFile], File(alias="attachments[]", description=_FILES_DESCRIPTION)
    ] = [],  # noqa: B006 — FastAPI copies parameter defaults
) -> schemas.Sollicitation:
    """The sollicitation with the new message: ``REPONDUE`` after an addressee's,
    ``OUVERTE`` after the sender's; the other side is told by e-mail and in their feed.
    409 SOLLICITATION_CLOSED; 404 SOLLICITATION_NOT_FOUND; 422 as for writing."""
    request = pb.ReplySollicitationRequest(
        sollicitation_id=sollicitation_id,
        body=body,
        attachments=await read_attachments(attachments),
    )
    return schemas.sollicitation(await clients.structures.reply_sollicitation(request, caller))


@router.post("/sollicitations/{sollicitation_id}/closure", summary="Close a sollicitation")
async def close(
    sollicitation_id: SollicitationId, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Sollicitation:
    """Either side: ``CLOTUREE``, no more messages. 409 SOLLICITATION_CLOSED when it already
    is; 404 SOLLICITATION_NOT_FOUND."""
    return schemas.sollicitation(
        await clients.structures.close_sollicitation(sollicitation_id, caller)
    )


@router.get(
    "/sollicitations/{sollicitation_id}/attachments/{attachment_id}",
    summary="One attachment of a sollicitation",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def get_attachment(
    sollicitation_id: SollicitationId,
    attachment_id: AttachmentId,
    clients: Clients,
    caller: AuthenticatedCaller,
) -> Response:
    """404 SOLLICITATION_NOT_FOUND / ATTACHMENT_NOT_FOUND."""
    file = await clients.structures.get_sollicitation_attachment(
        sollicitation_id, attachment_id, caller
    )
    return attachment_response(file)
