"""Events structures publishes, written to the outbox in the state change's transaction.

Every event is keyed by the structure id so one structure's events stay in order (the
directory import's summary, which concerns many structures, is keyed "directory"). Events
naming people carry the ids notifications must tell (the managers of a request, the
requester of a decision).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus_platform import outbox
from google.protobuf.message import Message

from chorus_structures.api.mapping import (
    attachment_request_to_proto,
    enum_to_proto,
    service_to_proto,
    structure_to_proto,
    subscription_to_proto,
    timestamp,
)
from chorus_structures.domain.access import Role
from chorus_structures.domain.attachments import AttachmentRequest, AttachmentStatus, Decision
from chorus_structures.domain.spaces import Space
from chorus_structures.domain.structure import Structure, StructureService
from chorus_structures.domain.subscriptions import Subscription

SERVICE = "structures"
DIRECTORY_KEY = "directory"


def _id(value: UUID | None) -> str:
    return str(value) if value else ""


async def _emit(conn: asyncpg.Connection, structure_id: UUID, message: Message) -> None:
    await outbox.add_event(conn, service=SERVICE, key=str(structure_id), message=message)


async def structure_created(
    conn: asyncpg.Connection, structure: Structure, created_by: UUID | None
) -> None:
    await _emit(
        conn,
        structure.id,
        events.StructureCreated(
            structure=structure_to_proto(structure), created_by=_id(created_by)
        ),
    )


async def structure_updated(
    conn: asyncpg.Connection, structure: Structure, updated_by: UUID
) -> None:
    await _emit(
        conn,
        structure.id,
        events.StructureUpdated(
            structure=structure_to_proto(structure), updated_by=_id(updated_by)
        ),
    )


async def service_created(
    conn: asyncpg.Connection, structure_id: UUID, service: StructureService, by: UUID
) -> None:
    await _emit(
        conn,
        structure_id,
        events.ServiceCreated(
            structure_id=str(structure_id), service=service_to_proto(service), created_by=_id(by)
        ),
    )


async def service_updated(
    conn: asyncpg.Connection, structure_id: UUID, service: StructureService, by: UUID
) -> None:
    await _emit(
        conn,
        structure_id,
        events.ServiceUpdated(
            structure_id=str(structure_id), service=service_to_proto(service), updated_by=_id(by)
        ),
    )


async def member_added(
    conn: asyncpg.Connection,
    structure_id: UUID,
    user_id: UUID,
    role: Role,
    *,
    added_by: UUID | None = None,
    structure_name: str = "",
    attachment_request_id: UUID | None = None,
    service_ids: Sequence[UUID] = (),
) -> None:
    await _emit(
        conn,
        structure_id,
        events.MemberAdded(
            structure_id=str(structure_id),
            user_id=str(user_id),
            role=enum_to_proto(role),
            added_by=_id(added_by),
            structure_name=structure_name,
            attachment_request_id=_id(attachment_request_id),
            service_ids=[str(s) for s in service_ids],
            service_codes=await _service_codes(conn, service_ids),
        ),
    )


async def attachment_requested(
    conn: asyncpg.Connection, request: AttachmentRequest, manager_ids: Sequence[UUID]
) -> None:
    await _emit(
        conn,
        request.structure_id,
        events.AttachmentRequested(
            request=attachment_request_to_proto(request),
            manager_user_ids=[str(m) for m in manager_ids],
            structure_name=request.structure_name,
        ),
    )


async def attachment_request_cancelled(
    conn: asyncpg.Connection, request: AttachmentRequest
) -> None:
    await _emit(
        conn,
        request.structure_id,
        events.AttachmentRequestCancelled(request=attachment_request_to_proto(request)),
    )


async def attachment_decided(conn: asyncpg.Connection, request: AttachmentRequest) -> None:
    decision = Decision.VALIDEE if request.status is AttachmentStatus.VALIDEE else Decision.REFUSEE
    await _emit(
        conn,
        request.structure_id,
        events.AttachmentDecided(
            request=attachment_request_to_proto(request),
            structure_name=request.structure_name,
            requester_user_id=str(request.user_id),
            decision=enum_to_proto(decision),
            role=enum_to_proto(request.granted_role) if request.granted_role else 0,
            comment=request.decision_comment,
            decided_by=_id(request.decided_by),
        ),
    )


async def member_role_changed(
    conn: asyncpg.Connection,
    structure: Structure,
    user_id: UUID,
    previous: Role,
    role: Role,
    changed_by: UUID,
) -> None:
    await _emit(
        conn,
        structure.id,
        events.MemberRoleChanged(
            structure_id=str(structure.id),
            user_id=str(user_id),
            previous_role=enum_to_proto(previous),
            role=enum_to_proto(role),
            changed_by=_id(changed_by),
            structure_name=structure.raison_sociale,
        ),
    )


async def member_services_changed(
    conn: asyncpg.Connection,
    structure_id: UUID,
    user_id: UUID,
    service_ids: Sequence[UUID],
    changed_by: UUID,
) -> None:
    await _emit(
        conn,
        structure_id,
        events.MemberServicesChanged(
            structure_id=str(structure_id),
            user_id=str(user_id),
            service_ids=[str(s) for s in service_ids],
            changed_by=_id(changed_by),
            service_codes=await _service_codes(conn, service_ids),
        ),
    )


async def _service_codes(conn: asyncpg.Connection, service_ids: Sequence[UUID]) -> list[str]:
    """The codes of ``service_ids``, in the same order."""
    if not service_ids:
        return []
    wanted = [str(s) for s in service_ids]
    rows = await conn.fetch(
        "SELECT id::text AS id, code FROM structure_services WHERE id = ANY($1::uuid[])", wanted
    )
    codes = {row["id"]: row["code"] for row in rows}
    return [codes[s] for s in wanted if s in codes]


async def member_detached(
    conn: asyncpg.Connection, structure: Structure, user_id: UUID, role: Role, by: UUID
) -> None:
    await _emit(
        conn,
        structure.id,
        events.MemberDetached(
            structure_id=str(structure.id),
            user_id=str(user_id),
            role=enum_to_proto(role),
            detached_by=_id(by),
            left=by == user_id,
            structure_name=structure.raison_sociale,
        ),
    )


async def principal_transferred(
    conn: asyncpg.Connection, structure: Structure, previous: UUID, new: UUID
) -> None:
    await _emit(
        conn,
        structure.id,
        events.PrincipalTransferred(
            structure_id=str(structure.id),
            previous_principal_user_id=str(previous),
            new_principal_user_id=str(new),
            structure_name=structure.raison_sociale,
        ),
    )


async def space_changed(
    conn: asyncpg.Connection, structure_id: UUID, space: Space, *, opened: bool, by: UUID
) -> None:
    if opened:
        message: Message = events.SpaceOpened(
            structure_id=str(structure_id), space=enum_to_proto(space), opened_by=_id(by)
        )
    else:
        message = events.SpaceClosed(
            structure_id=str(structure_id), space=enum_to_proto(space), closed_by=_id(by)
        )
    await _emit(conn, structure_id, message)


async def subscription_requested(
    conn: asyncpg.Connection,
    subscription: Subscription,
    manager_ids: Sequence[UUID],
    structure_name: str,
) -> None:
    await _emit(
        conn,
        subscription.structure_id,
        events.SubscriptionRequested(
            subscription=subscription_to_proto(subscription),
            manager_user_ids=[str(m) for m in manager_ids],
            structure_name=structure_name,
        ),
    )


async def subscription_decided(
    conn: asyncpg.Connection, subscription: Subscription, structure_name: str
) -> None:
    await _emit(
        conn,
        subscription.structure_id,
        events.SubscriptionDecided(
            subscription=subscription_to_proto(subscription), structure_name=structure_name
        ),
    )


async def directory_imported(
    conn: asyncpg.Connection,
    *,
    source: str,
    created: int,
    updated: int,
    services: int,
    at: datetime,
) -> None:
    await outbox.add_event(
        conn,
        service=SERVICE,
        key=DIRECTORY_KEY,
        message=events.DirectoryImported(
            source=source,
            structures_created=created,
            structures_updated=updated,
            services_upserted=services,
            imported_at=timestamp(at),
        ),
    )
