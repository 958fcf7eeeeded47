"""The caller's own memberships: each structure with the caller's role, the services they
see and the spaces they may use (with the mode), read in one snapshot. A technical account
(Chorus Pro API) has one, from its token's claim: its structure, as COMPTE_TECHNIQUE."""

from __future__ import annotations

from dataclasses import dataclass

from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.domain.access import Caller, Role, space_accesses, visible_services
from chorus_structures.domain.spaces import AccessMode, Space, openness
from chorus_structures.domain.structure import Structure, StructureService
from chorus_structures.store import memberships, spaces, structures
from chorus_structures.store.memberships import MembershipRow


@dataclass(frozen=True)
class MyMembership:
    structure: Structure
    role: Role
    services: list[StructureService]
    spaces: list[tuple[Space, AccessMode]]


class MyMemberships:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def of_caller(self, caller: Caller) -> list[MyMembership]:
        """In raison sociale order. Services: every one for managers and for users attached
        to the whole structure; spaces: the open ones the caller may use, MODIFICATION
        everywhere for managers, the validated subscription's mode for simple users. A
        technical account: its structure only (none if it no longer exists), every service,
        every open space but the managers' own in MODIFICATION."""
        async with self._uow.reading(snapshot=True) as conn:
            if caller.technical_structure_id is not None:
                rows = [MembershipRow(caller.technical_structure_id, Role.COMPTE_TECHNIQUE)]
            else:
                rows = await memberships.memberships_of_user(conn, caller.user_id)
            ids = [row.structure_id for row in rows]
            by_id = {s.id: s for s in await structures.get_structures(conn, ids)}
            recorded = await spaces.explicit_states(conn, ids)
        found = []
        for row in rows:
            structure = by_id.get(row.structure_id)
            if structure is None:
                continue
            states = openness(structure.kind, recorded.get(row.structure_id, {}))
            open_spaces = [space for space, is_open in states.items() if is_open]
            found.append(
                MyMembership(
                    structure=structure,
                    role=row.role,
                    services=visible_services(row.role, structure.services, row.service_ids),
                    spaces=space_accesses(
                        row.role, structure.status, open_spaces, row.subscriptions
                    ),
                )
            )
        return found
