"""Access questions: may a user act for a structure in a space with a mode (for a service),
and for which structures may they. The facts come from one indexed query; the rules are
``domain/access.py``.
"""

from __future__ import annotations

from uuid import UUID

from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.domain.access import AccessDecision, AccessFacts, decide
from chorus_structures.domain.spaces import AccessMode, Space
from chorus_structures.store import access


class AccessChecks:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def check(
        self,
        user_id: UUID,
        structure_id: UUID,
        space: Space,
        mode: AccessMode,
        *,
        service_id: UUID | None = None,
    ) -> AccessDecision:
        """Allowed, or the reason not (see :func:`decide`); an unknown structure is
        NOT_A_MEMBER."""
        async with self._uow.reading() as conn:
            facts = await access.access_facts(
                conn, user_id, space, structure_id=structure_id, service_id=service_id
            )
        return decide(facts.get(structure_id), mode)

    async def accessible_structures(
        self, user_id: UUID, space: Space, mode: AccessMode
    ) -> dict[UUID, AccessFacts]:
        """The structures :meth:`check` would allow, with the facts that allowed them (which
        tell the services a simple user is limited to)."""
        async with self._uow.reading() as conn:
            facts = await access.access_facts(conn, user_id, space)
        return {
            structure_id: fact for structure_id, fact in facts.items() if decide(fact, mode).allowed
        }
