"""Access questions: may a caller act for a structure in a space with a mode (for a service),
and for which structures may they. A person's facts come from one indexed query on their
memberships; a technical account's (Chorus Pro API, token claim ``tst``) from the claim and
its structure alone. The rules are ``domain/access.py``.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.domain.access import AccessDecision, AccessFacts, Caller, decide
from chorus_structures.domain.spaces import AccessMode, Space
from chorus_structures.store import access


async def _facts(
    conn: asyncpg.Connection,
    caller: Caller,
    space: Space,
    *,
    structure_id: UUID | None = None,
    service_id: UUID | None = None,
) -> dict[UUID, AccessFacts]:
    """Facts per structure the caller belongs to (only ``structure_id`` when given): for a
    technical account, its own structure only, whatever its user id's memberships."""
    technical = caller.technical_structure_id
    if technical is None:
        return await access.access_facts(
            conn, caller.user_id, space, structure_id=structure_id, service_id=service_id
        )
    if structure_id not in (None, technical):
        return {}
    facts = await access.technical_access_facts(conn, technical, space, service_id=service_id)
    return {technical: facts} if facts is not None else {}


class AccessChecks:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def check(
        self,
        caller: Caller,
        structure_id: UUID,
        space: Space,
        mode: AccessMode,
        *,
        service_id: UUID | None = None,
    ) -> AccessDecision:
        """Allowed, or the reason not (see :func:`decide`); an unknown structure is
        NOT_A_MEMBER."""
        async with self._uow.reading() as conn:
            facts = await _facts(
                conn, caller, space, structure_id=structure_id, service_id=service_id
            )
        return decide(facts.get(structure_id), mode)

    async def accessible_structures(
        self, caller: Caller, space: Space, mode: AccessMode
    ) -> dict[UUID, AccessFacts]:
        """The structures :meth:`check` would allow, with the facts that allowed them (which
        tell the services a simple user is limited to)."""
        async with self._uow.reading() as conn:
            facts = await _facts(conn, caller, space)
        return {
            structure_id: fact for structure_id, fact in facts.items() if decide(fact, mode).allowed
        }
