"""The structure members projection, kept up to date from structures' events.

Each membership event is projected first, in the consumer's transaction, then handed to its
notification handler (:func:`projected` wraps it), so the table and the messages stay in
step with the inbox's exactly-once processing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_platform.cloudevents import Envelope

from chorus_notifications.store import members

Handler = Callable[[asyncpg.Connection, object, Envelope], Awaitable[None]]


def _role(value: int) -> str:
    try:
        return structures_pb.Role.Name(value).removeprefix("ROLE_")
    except ValueError:  # a role added to the contract after this build
        return str(value)


async def project(conn: asyncpg.Connection, event: object) -> None:
    """Applies one membership event to ``structure_members`` (idempotent)."""
    if isinstance(event, events.MemberAdded):
        await members.upsert(
            conn,
            structure_id=event.structure_id,
            user_id=event.user_id,
            role=_role(event.role),
            service_ids=list(event.service_ids),
            service_codes=list(event.service_codes),
        )
    elif isinstance(event, events.MemberRoleChanged):
        await members.upsert(
            conn, structure_id=event.structure_id, user_id=event.user_id, role=_role(event.role)
        )
    elif isinstance(event, events.MemberServicesChanged):
        await members.set_services(
            conn,
            structure_id=event.structure_id,
            user_id=event.user_id,
            service_ids=list(event.service_ids),
            service_codes=list(event.service_codes),
        )
    elif isinstance(event, events.MemberDetached):
        await members.remove(conn, structure_id=event.structure_id, user_id=event.user_id)
    elif isinstance(event, events.PrincipalTransferred):
        if event.previous_principal_user_id:
            await members.upsert(
                conn,
                structure_id=event.structure_id,
                user_id=event.previous_principal_user_id,
                role="GESTIONNAIRE_SECONDAIRE",
            )
        await members.upsert(
            conn,
            structure_id=event.structure_id,
            user_id=event.new_principal_user_id,
            role="GESTIONNAIRE_PRINCIPAL",
        )


def projected(handler: Handler | None = None) -> Handler:
    """``handler`` preceded by the projection of its event (the projection alone if None)."""

    async def handle(conn: asyncpg.Connection, event: object, envelope: Envelope) -> None:
        if getattr(event, "structure_id", ""):
            await project(conn, event)
        if handler is not None:
            await handler(conn, event, envelope)

    return handle
