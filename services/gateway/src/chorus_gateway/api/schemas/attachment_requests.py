"""Attachment requests (asking to join a structure, managers deciding): REST models and their
mapping from ``chorus.structures.v1``."""

from __future__ import annotations

from datetime import datetime

from chorus.structures.v1 import structures_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_edge.conversions import RequestModel, optional, timestamp
from chorus_edge.structures import ATTACHMENT_STATUS, ROLE, AttachmentStatus, Decision, Role
from chorus_gateway.api.schemas.structure_members import Person, person


class AttachmentRequestBody(RequestModel):
    comment: str | None = None
    service_ids: list[str] = Field(default_factory=list)


class AttachmentRequest(BaseModel):
    id: str
    structure_id: str
    structure_name: str | None
    requester: Person
    status: AttachmentStatus | None
    comment: str | None
    service_ids: list[str]
    granted_role: Role | None
    decision_comment: str | None = Field(description="The manager's comment on the decision.")
    decided_by: str | None
    requested_at: datetime | None
    decided_at: datetime | None


class AttachmentRequestPage(BaseModel):
    items: list[AttachmentRequest]
    next_page_token: str | None


class AttachmentRequestList(BaseModel):
    items: list[AttachmentRequest]


def attachment_request(message: pb.AttachmentRequest) -> AttachmentRequest:
    return AttachmentRequest(
        id=message.id,
        structure_id=message.structure_id,
        structure_name=optional(message.structure_name),
        requester=person(message.requester),
        status=ATTACHMENT_STATUS.to_rest(message.status),
        comment=optional(message.comment),
        service_ids=list(message.service_ids),
        granted_role=ROLE.to_rest(message.granted_role),
        decision_comment=optional(message.decision_comment),
        decided_by=optional(message.decided_by),
        requested_at=timestamp(message, "requested_at"),
        decided_at=timestamp(message, "decided_at"),
    )


class DecisionBody(RequestModel):
    decision: Decision
    role: Role | None = Field(
        None,
        description="Granted role when VALIDEE: UTILISATEUR (default) or GESTIONNAIRE_SECONDAIRE.",
    )
    comment: str | None = None


class BulkDecisionBody(DecisionBody):
    request_ids: list[str] = Field(description="Pending requests of the structure (100 at most).")
