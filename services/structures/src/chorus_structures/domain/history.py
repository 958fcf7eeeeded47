"""The manager action history: what was done in a structure, by whom, to whom, when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class ActionKind(StrEnum):
    STRUCTURE_CREATED = "STRUCTURE_CREATED"
    STRUCTURE_UPDATED = "STRUCTURE_UPDATED"
    SERVICE_CREATED = "SERVICE_CREATED"
    SERVICE_UPDATED = "SERVICE_UPDATED"
    ATTACHMENT_ACCEPTED = "ATTACHMENT_ACCEPTED"
    ATTACHMENT_REFUSED = "ATTACHMENT_REFUSED"
    MEMBER_ATTACHED = "MEMBER_ATTACHED"
    ROLE_CHANGED = "ROLE_CHANGED"
    MEMBER_SERVICES_CHANGED = "MEMBER_SERVICES_CHANGED"
    MEMBER_DETACHED = "MEMBER_DETACHED"
    MEMBER_LEFT = "MEMBER_LEFT"
    PRINCIPAL_TRANSFERRED = "PRINCIPAL_TRANSFERRED"
    SPACE_OPENED = "SPACE_OPENED"
    SPACE_CLOSED = "SPACE_CLOSED"
    SUBSCRIPTION_ACCEPTED = "SUBSCRIPTION_ACCEPTED"
    SUBSCRIPTION_REFUSED = "SUBSCRIPTION_REFUSED"


@dataclass(frozen=True)
class Action:
    """One action to record; ``details`` are short facts (role, space, comment, ...)."""

    kind: ActionKind
    actor: UUID | None
    target: UUID | None = None
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedAction:
    id: UUID
    kind: ActionKind
    actor: UUID | None
    target: UUID | None
    details: dict[str, str]
    at: datetime
