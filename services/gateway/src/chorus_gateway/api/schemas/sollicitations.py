"""Sollicitations: REST models and their mapping from ``chorus.structures.v1``."""

from __future__ import annotations

from datetime import datetime

from chorus.structures.v1 import structures_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_edge.conversions import optional, timestamp
from chorus_edge.sollicitations import SOLLICITATION_STATUS, SollicitationStatus
from chorus_gateway.api.schemas.structure_members import Person, person


class SollicitationAttachment(BaseModel):
    id: str
    filename: str
    media_type: str
    size: int = Field(description="Bytes.")


class SollicitationMessage(BaseModel):
    id: str
    author: Person
    from_sender: bool = Field(description="Written by the sender (else an addressee's answer).")
    body: str
    created_at: datetime | None
    attachments: list[SollicitationAttachment]


class Sollicitation(BaseModel):
    id: str
    sender: Person
    sender_structure_id: str | None
    sender_structure_name: str | None
    addressee_structure_id: str | None = Field(
        description="The structure whose managers are addressed; null when to_support."
    )
    addressee_structure_name: str | None
    to_support: bool
    subject: str
    invoice_id: str | None
    invoice_number: str | None
    structure_id: str | None = Field(description="The structure it is about (if no invoice).")
    structure_name: str | None
    status: SollicitationStatus | None
    created_at: datetime | None
    updated_at: datetime | None
    caller_is_sender: bool
    messages: list[SollicitationMessage] = Field(
        description="Oldest first; empty in lists (read one sollicitation for its messages)."
    )


class SollicitationPage(BaseModel):
    items: list[Sollicitation]
    next_page_token: str | None


def _message(message: pb.SollicitationMessage) -> SollicitationMessage:
    return SollicitationMessage(
        id=message.id,
        author=person(message.author),
        from_sender=message.from_sender,
        body=message.body,
        created_at=timestamp(message, "created_at"),
        attachments=[
            SollicitationAttachment(
                id=a.id, filename=a.filename, media_type=a.media_type, size=a.size
            )
            for a in message.attachments
        ],
    )


def sollicitation(message: pb.Sollicitation) -> Sollicitation:
    return Sollicitation(
        id=message.id,
        sender=person(message.sender),
        sender_structure_id=optional(message.sender_structure_id),
        sender_structure_name=optional(message.sender_structure_name),
        addressee_structure_id=optional(message.addressee_structure_id),
        addressee_structure_name=optional(message.addressee_structure_name),
        to_support=message.to_support,
        subject=message.subject,
        invoice_id=optional(message.invoice_id),
        invoice_number=optional(message.invoice_number),
        structure_id=optional(message.structure_id),
        structure_name=optional(message.structure_name),
        status=SOLLICITATION_STATUS.to_rest(message.status),
        created_at=timestamp(message, "created_at"),
        updated_at=timestamp(message, "updated_at"),
        caller_is_sender=message.caller_is_sender,
        messages=[_message(m) for m in message.messages],
    )
