"""Registering a structure: the one write path shared by CreateStructure and the demo seed."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from chorus_structures.domain.access import Role
from chorus_structures.domain.history import Action, ActionKind
from chorus_structures.domain.structure import NewStructure, Structure
from chorus_structures.events import outgoing
from chorus_structures.store import history, memberships, services, structures


async def register_structure(
    conn: asyncpg.Connection, new: NewStructure, *, created_by: UUID | None
) -> Structure | None:
    """Stores ``new`` with its services (its spaces start as its kind's defaults), makes
    ``created_by`` (if any) its principal manager, and writes StructureCreated (+ MemberAdded)
    to the outbox.

    Runs inside the caller's transaction. Returns None, having written nothing, when the
    identifier is already registered.
    """
    structure_id = await structures.insert_structure(conn, new, created_by=created_by)
    if structure_id is None:
        return None
    await services.add_services(conn, structure_id, new.services)
    structure = await structures.get_structure(conn, structure_id)
    assert structure is not None
    await outgoing.structure_created(conn, structure, created_by)
    if created_by is not None:
        await memberships.add_member(conn, structure_id, created_by, Role.GESTIONNAIRE_PRINCIPAL)
        await history.record(
            conn, structure_id, Action(ActionKind.STRUCTURE_CREATED, created_by, created_by)
        )
        await outgoing.member_added(
            conn,
            structure_id,
            created_by,
            Role.GESTIONNAIRE_PRINCIPAL,
            structure_name=structure.raison_sociale,
        )
    return structure
