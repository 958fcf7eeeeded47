"""Attachment requests: a user asks to join a structure, a manager accepts or refuses.

``EN_COURS_DE_VALIDATION`` → ``VALIDEE`` (with the granted role) | ``REFUSEE`` (the comment
is kept for the requester) | ``ANNULEE`` (withdrawn by the requester); a ``VALIDEE`` request
becomes ``DESACTIVEE`` when the membership it granted ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from chorus_platform.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound

from chorus_structures.domain.access import Role

COMMENT_MAX = 1000


class AttachmentStatus(StrEnum):
    EN_COURS_DE_VALIDATION = "EN_COURS_DE_VALIDATION"
    VALIDEE = "VALIDEE"
    REFUSEE = "REFUSEE"
    DESACTIVEE = "DESACTIVEE"
    ANNULEE = "ANNULEE"


class Decision(StrEnum):
    VALIDEE = "VALIDEE"
    REFUSEE = "REFUSEE"


@dataclass(frozen=True)
class AttachmentRequest:
    id: UUID
    structure_id: UUID
    user_id: UUID
    status: AttachmentStatus
    comment: str
    service_ids: tuple[UUID, ...]
    granted_role: Role | None
    decision_comment: str
    decided_by: UUID | None
    requested_at: datetime
    decided_at: datetime | None
    structure_name: str = ""

    @property
    def pending(self) -> bool:
        return self.status is AttachmentStatus.EN_COURS_DE_VALIDATION


def request_not_found() -> NotFound:
    return NotFound(
        "ATTACHMENT_REQUEST_NOT_FOUND", "Cette demande de rattachement est introuvable."
    )


def checked_comment(comment: str, field: str = "comment") -> str:
    """The comment trimmed; COMMENT_TOO_LONG beyond 1000 characters."""
    text = comment.strip()
    if len(text) > COMMENT_MAX:
        message = f"Le commentaire ne doit pas dépasser {COMMENT_MAX} caractères."
        raise InvalidArgument("COMMENT_TOO_LONG", message, [FieldViolation(field, message)])
    return text


def required_decision(decision: Decision | None) -> Decision:
    if decision is None:
        message = "Indiquez la décision : VALIDEE ou REFUSEE."
        raise InvalidArgument("DECISION_REQUIRED", message, [FieldViolation("decision", message)])
    return decision


def check_pending(request: AttachmentRequest) -> None:
    """FailedPrecondition ATTACHMENT_REQUEST_ALREADY_DECIDED unless the request is pending."""
    if not request.pending:
        raise FailedPrecondition(
            "ATTACHMENT_REQUEST_ALREADY_DECIDED",
            f"Cette demande de rattachement n'est plus en attente (statut {request.status}) : "
            "elle ne peut plus être traitée.",
        )


def check_cancellable(request: AttachmentRequest | None, caller: UUID) -> AttachmentRequest:
    """Only the requester cancels, and only a pending request."""
    if request is None or request.user_id != caller:
        raise request_not_found()
    check_pending(request)
    return request
