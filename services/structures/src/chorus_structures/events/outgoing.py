"""Events structures publishes, written to the outbox in the state change's transaction.

Every event is keyed by the structure id so one structure's events stay in order.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus_platform import outbox

from chorus_structures.api.mapping import enum_to_proto, structure_to_proto
from chorus_structures.domain.access import Role
from chorus_structures.domain.structure import Structure

SERVICE = "structures"


async def structure_created(
    conn: asyncpg.Connection, structure: Structure, created_by: UUID | None
) -> None:
    await outbox.add_event(
        conn,
        service=SERVICE,
        key=str(structure.id),
        message=events.StructureCreated(
            structure=structure_to_proto(structure),
            created_by=str(created_by) if created_by else "",
        ),
    )


async def member_added(
    conn: asyncpg.Connection, structure_id: UUID, user_id: UUID, role: Role
) -> None:
    await outbox.add_event(
        conn,
        service=SERVICE,
        key=str(structure_id),
        message=events.MemberAdded(
            structure_id=str(structure_id), user_id=str(user_id), role=enum_to_proto(role)
        ),
    )
