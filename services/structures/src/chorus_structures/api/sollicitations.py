"""Handlers for sollicitations (the rules: ``domain/sollicitations.py``)."""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_structures.api.handlers import Handlers
from chorus_structures.api.mapping import uuid_from_request
from chorus_structures.api.request_fields import caller_id
from chorus_structures.contract import enum_from_proto, sollicitation_to_proto
from chorus_structures.domain.paging import page_request
from chorus_structures.domain.sollicitations import (
    SollicitationBox,
    SollicitationStatus,
    Upload,
    checked_new,
)


def _optional_id(value: str, field: str, reason: str):
    return uuid_from_request(value, field, reason) if value else None


def _sollicitation_id(request):
    return uuid_from_request(
        request.sollicitation_id, "sollicitation_id", "SOLLICITATION_ID_INVALID"
    )


def _uploads(request) -> list[Upload]:
    return [Upload(a.filename, a.content) for a in request.attachments]


class SollicitationHandlers(Handlers):
    async def _answer(self, sollicitation, is_sender: bool) -> pb.Sollicitation:
        profiles = await self._usecases.sollicitations.profiles([sollicitation])
        return sollicitation_to_proto(sollicitation, profiles, caller_is_sender=is_sender)

    async def CreateSollicitation(self, request, context):
        """The caller writes to the managers of ``addressee_structure_id`` or to the support
        (``to_support``), about an invoice (``invoice_id`` + ``invoice_number``, which the
        edge checked the caller may read) or a structure (``structure_id``, by default the
        addressed one), optionally for ``sender_structure_id`` (a structure the caller is a
        member of). OUVERTE; SollicitationCreated names the addressees. Errors:
        INVALID_ARGUMENT ADDRESSEE_REQUIRED, ADDRESSEE_CONFLICT, OBJECT_REQUIRED,
        OBJECT_CONFLICT, INVOICE_NUMBER_REQUIRED, SUBJECT_REQUIRED, SUBJECT_TOO_LONG,
        MESSAGE_REQUIRED, MESSAGE_TOO_LONG, TOO_MANY_ATTACHMENTS, ATTACHMENT_NAME_INVALID,
        ATTACHMENT_NAME_TOO_LONG, ATTACHMENT_EXTENSION_FORBIDDEN, ATTACHMENT_EMPTY,
        ATTACHMENT_TOO_LARGE, ATTACHMENTS_TOO_LARGE, STRUCTURE_ID_INVALID, INVOICE_ID_INVALID;
        NOT_FOUND STRUCTURE_NOT_FOUND; PERMISSION_DENIED NOT_A_MEMBER (sender structure),
        TECHNICAL_ACCOUNT_NOT_ALLOWED; FAILED_PRECONDITION STRUCTURE_WITHOUT_MANAGER,
        SUPPORT_UNAVAILABLE.
        """
        caller = caller_id()
        new = checked_new(
            sender_structure_id=_optional_id(
                request.sender_structure_id, "sender_structure_id", "STRUCTURE_ID_INVALID"
            ),
            addressee_structure_id=_optional_id(
                request.addressee_structure_id, "addressee_structure_id", "STRUCTURE_ID_INVALID"
            ),
            to_support=request.to_support,
            subject=request.subject,
            body=request.body,
            invoice_id=_optional_id(request.invoice_id, "invoice_id", "INVOICE_ID_INVALID"),
            invoice_number=request.invoice_number,
            object_structure_id=_optional_id(
                request.structure_id, "structure_id", "STRUCTURE_ID_INVALID"
            ),
            uploads=_uploads(request),
        )
        created = await self._usecases.sollicitations.create(caller, new)
        return pb.CreateSollicitationResponse(sollicitation=await self._answer(created, True))

    async def ListSollicitations(self, request, context):
        """The caller's sollicitations of ``box`` (EMISES: written by the caller; RECUES:
        addressed to a structure the caller manages, or to the support for its users), newest
        activity first, optionally of one status, without messages. Pages of 20 by default,
        100 at most. Errors: INVALID_ARGUMENT BOX_REQUIRED, PAGE_SIZE_INVALID,
        PAGE_TOKEN_INVALID; PERMISSION_DENIED TECHNICAL_ACCOUNT_NOT_ALLOWED.
        """
        caller = caller_id()
        box = enum_from_proto(SollicitationBox, request.box)
        if box is None:
            message = "Indiquez la liste voulue : EMISES ou RECUES."
            raise InvalidArgument("BOX_REQUIRED", message, [FieldViolation("box", message)])
        status = enum_from_proto(SollicitationStatus, request.status)
        page = page_request(
            request.page_size, request.page_token, "sollicitations", caller, box, status or ""
        )
        found, after = await self._usecases.sollicitations.list_for(caller, box, status, page)
        profiles = await self._usecases.sollicitations.profiles(found)
        return pb.ListSollicitationsResponse(
            sollicitations=[
                sollicitation_to_proto(s, profiles, caller_is_sender=s.sender_id == caller)
                for s in found
            ],
            next_page_token=page.next_token(after) if after else "",
        )

    async def GetSollicitation(self, request, context):
        """One sollicitation with its messages (oldest first) and their attachments'
        names. Errors: INVALID_ARGUMENT SOLLICITATION_ID_INVALID; NOT_FOUND
        SOLLICITATION_NOT_FOUND (also to anyone neither its sender nor an addressee).
        """
        found, is_sender = await self._usecases.sollicitations.get(
            caller_id(), _sollicitation_id(request)
        )
        return pb.GetSollicitationResponse(sollicitation=await self._answer(found, is_sender))

    async def ReplySollicitation(self, request, context):
        """Adds the caller's message (sender or addressee): REPONDUE after an addressee's,
        OUVERTE after the sender's; SollicitationReplied names the other side. Errors:
        INVALID_ARGUMENT SOLLICITATION_ID_INVALID, MESSAGE_REQUIRED, MESSAGE_TOO_LONG,
        attachment reasons as CreateSollicitation; NOT_FOUND SOLLICITATION_NOT_FOUND;
        FAILED_PRECONDITION SOLLICITATION_CLOSED.
        """
        replied, is_sender = await self._usecases.sollicitations.reply(
            caller_id(), _sollicitation_id(request), request.body, _uploads(request)
        )
        return pb.ReplySollicitationResponse(sollicitation=await self._answer(replied, is_sender))

    async def CloseSollicitation(self, request, context):
        """Either side closes the sollicitation (CLOTUREE: no more messages);
        SollicitationClosed names the other side. Errors: INVALID_ARGUMENT
        SOLLICITATION_ID_INVALID; NOT_FOUND SOLLICITATION_NOT_FOUND; FAILED_PRECONDITION
        SOLLICITATION_CLOSED.
        """
        closed, is_sender = await self._usecases.sollicitations.close(
            caller_id(), _sollicitation_id(request)
        )
        return pb.CloseSollicitationResponse(sollicitation=await self._answer(closed, is_sender))

    async def GetSollicitationAttachment(self, request, context):
        """One attachment of the sollicitation, for its sender and addressees. Errors:
        INVALID_ARGUMENT SOLLICITATION_ID_INVALID, ATTACHMENT_ID_INVALID; NOT_FOUND
        SOLLICITATION_NOT_FOUND, ATTACHMENT_NOT_FOUND.
        """
        filename, media_type, content = await self._usecases.sollicitations.attachment(
            caller_id(),
            _sollicitation_id(request),
            uuid_from_request(request.attachment_id, "attachment_id", "ATTACHMENT_ID_INVALID"),
        )
        return pb.GetSollicitationAttachmentResponse(
            filename=filename, media_type=media_type, content=content
        )
