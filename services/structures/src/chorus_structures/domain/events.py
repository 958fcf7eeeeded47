"""The events structures publishes, as domain facts.

Use cases emit them through their unit of work (``tx.emit(...)``); ``events/outgoing.py``
turns each into its ``chorus.structures.events.v1`` message and the key it is published under
(the structure id, so one structure's events stay in order; the directory import's summary,
which concerns many structures, under "directory"). Events naming people carry the ids
notifications must tell (the managers of a request, the requester of a decision); membership
events carry the structure's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from chorus_structures.domain.access import Role
from chorus_structures.domain.attachments import AttachmentRequest
from chorus_structures.domain.sollicitations import Sollicitation
from chorus_structures.domain.spaces import Space
from chorus_structures.domain.structure import Structure, StructureService
from chorus_structures.domain.subscriptions import Subscription


@dataclass(frozen=True)
class StructureCreated:
    structure: Structure
    created_by: UUID | None


@dataclass(frozen=True)
class StructureUpdated:
    structure: Structure
    updated_by: UUID


@dataclass(frozen=True)
class ServiceCreated:
    structure_id: UUID
    service: StructureService
    created_by: UUID


@dataclass(frozen=True)
class ServiceUpdated:
    structure_id: UUID
    service: StructureService
    updated_by: UUID


@dataclass(frozen=True)
class MemberAdded:
    """``service_ids`` the member is limited to, ``service_codes`` those of them that exist,
    in the same order."""

    structure_id: UUID
    user_id: UUID
    role: Role
    added_by: UUID | None = None
    structure_name: str = ""
    attachment_request_id: UUID | None = None
    service_ids: Sequence[UUID] = ()
    service_codes: Sequence[str] = ()


@dataclass(frozen=True)
class AttachmentRequested:
    request: AttachmentRequest
    manager_ids: Sequence[UUID]


@dataclass(frozen=True)
class AttachmentRequestCancelled:
    request: AttachmentRequest


@dataclass(frozen=True)
class AttachmentDecided:
    """Accepted or refused, as the request's status says."""

    request: AttachmentRequest


@dataclass(frozen=True)
class MemberRoleChanged:
    structure: Structure
    user_id: UUID
    previous: Role
    role: Role
    changed_by: UUID


@dataclass(frozen=True)
class MemberServicesChanged:
    """``service_codes``: those of ``service_ids`` that exist, in the same order."""

    structure_id: UUID
    user_id: UUID
    service_ids: Sequence[UUID]
    service_codes: Sequence[str]
    changed_by: UUID


@dataclass(frozen=True)
class MemberDetached:
    """The member left when ``by`` is the member."""

    structure: Structure
    user_id: UUID
    role: Role
    by: UUID


@dataclass(frozen=True)
class PrincipalTransferred:
    structure: Structure
    previous: UUID
    new: UUID


@dataclass(frozen=True)
class SpaceOpened:
    structure_id: UUID
    space: Space
    by: UUID


@dataclass(frozen=True)
class SpaceClosed:
    structure_id: UUID
    space: Space
    by: UUID


@dataclass(frozen=True)
class SubscriptionRequested:
    subscription: Subscription
    manager_ids: Sequence[UUID]
    structure_name: str


@dataclass(frozen=True)
class SubscriptionDecided:
    subscription: Subscription
    structure_name: str


@dataclass(frozen=True)
class DirectoryImported:
    """One summary per directory import that changed something."""

    source: str
    created: int
    updated: int
    services: int
    at: datetime


@dataclass(frozen=True)
class SollicitationCreated:
    """``addressee_ids``: the addressed structure's managers, or the support users."""

    sollicitation: Sollicitation
    addressee_ids: Sequence[UUID]


@dataclass(frozen=True)
class SollicitationReplied:
    """``recipient_ids``: the other side of the author."""

    sollicitation: Sollicitation
    author_id: UUID
    from_sender: bool
    recipient_ids: Sequence[UUID]


@dataclass(frozen=True)
class SollicitationClosed:
    sollicitation: Sollicitation
    closed_by: UUID
    recipient_ids: Sequence[UUID]
