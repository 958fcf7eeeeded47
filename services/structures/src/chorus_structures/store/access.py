"""The facts access rules look at, gathered in one indexed query."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from chorus_structures.domain.access import AccessFacts, Role
from chorus_structures.domain.spaces import AccessMode, Space, default_open_spaces
from chorus_structures.domain.structure import StructureKind, StructureStatus


async def access_facts(
    conn: asyncpg.Connection,
    user_id: UUID,
    space: Space,
    *,
    structure_id: UUID | None = None,
    service_id: UUID | None = None,
) -> dict[UUID, AccessFacts]:
    """Facts per structure the user belongs to (only ``structure_id`` when given).

    Every join follows a primary key or unique index from (user, structure); no row for a
    structure means the user is not a member of it. A space without a recorded state has its
    kind's default.
    """
    rows = await conn.fetch(
        """
        SELECT m.structure_id, m.role, s.status,
               coalesce(sp.open, $3 = ANY(CASE s.kind WHEN 'PUBLIQUE' THEN $6::text[]
                                                      ELSE $5::text[] END)) AS space_open,
               su.mode AS subscription_mode,
               coalesce((SELECT array_agg(ms.service_id) FROM membership_services ms
                          WHERE ms.structure_id = m.structure_id AND ms.user_id = m.user_id),
                        '{}') AS service_ids,
               coalesce((SELECT array_agg(lim.code) FROM membership_services ms
                           JOIN structure_services lim
                             ON lim.structure_id = ms.structure_id AND lim.id = ms.service_id
                          WHERE ms.structure_id = m.structure_id AND ms.user_id = m.user_id),
                        '{}') AS service_codes,
               CASE WHEN $4::uuid IS NULL THEN NULL ELSE sv.id IS NOT NULL END AS service_known,
               ($4::uuid IS NULL
                OR NOT EXISTS (SELECT 1 FROM membership_services ms
                                WHERE ms.structure_id = m.structure_id AND ms.user_id = m.user_id)
                OR EXISTS (SELECT 1 FROM membership_services ms
                            WHERE ms.structure_id = m.structure_id AND ms.user_id = m.user_id
                              AND ms.service_id = $4)) AS service_granted
        FROM memberships m
        JOIN structures s ON s.id = m.structure_id
        LEFT JOIN spaces sp ON sp.structure_id = m.structure_id AND sp.space = $3
        LEFT JOIN subscriptions su
               ON su.structure_id = m.structure_id AND su.user_id = m.user_id
              AND su.space = $3 AND su.status = 'VALIDEE'
        LEFT JOIN structure_services sv ON sv.structure_id = m.structure_id AND sv.id = $4
        WHERE m.user_id = $1 AND ($2::uuid IS NULL OR m.structure_id = $2)
        """,
        user_id,
        structure_id,
        space.value,
        service_id,
        [s.value for s in default_open_spaces(StructureKind.PRIVEE)],
        [s.value for s in default_open_spaces(StructureKind.PUBLIQUE)],
    )
    return {
        row["structure_id"]: AccessFacts(
            role=Role(row["role"]),
            structure_status=StructureStatus(row["status"]),
            space_open=row["space_open"],
            subscription_mode=AccessMode(row["subscription_mode"])
            if row["subscription_mode"]
            else None,
            service_known=row["service_known"],
            service_granted=row["service_granted"],
            space=space,
            service_ids=frozenset(row["service_ids"]),
            service_codes=frozenset(row["service_codes"]),
        )
        for row in rows
    }


async def technical_access_facts(
    conn: asyncpg.Connection,
    structure_id: UUID,
    space: Space,
    *,
    service_id: UUID | None = None,
) -> AccessFacts | None:
    """The facts for a technical account acting for ``structure_id`` (role COMPTE_TECHNIQUE,
    attached to the whole structure, no subscription); None when the structure is unknown."""
    row = await conn.fetchrow(
        """
        SELECT s.status,
               coalesce(sp.open, $2 = ANY(CASE s.kind WHEN 'PUBLIQUE' THEN $5::text[]
                                                     ELSE $4::text[] END)) AS space_open,
               CASE WHEN $3::uuid IS NULL THEN NULL
                    ELSE EXISTS (SELECT 1 FROM structure_services sv
                                  WHERE sv.structure_id = s.id AND sv.id = $3) END
                 AS service_known
        FROM structures s
        LEFT JOIN spaces sp ON sp.structure_id = s.id AND sp.space = $2
        WHERE s.id = $1
        """,
        structure_id,
        space.value,
        service_id,
        [s.value for s in default_open_spaces(StructureKind.PRIVEE)],
        [s.value for s in default_open_spaces(StructureKind.PUBLIQUE)],
    )
    if row is None:
        return None
    return AccessFacts(
        role=Role.COMPTE_TECHNIQUE,
        structure_status=StructureStatus(row["status"]),
        space_open=row["space_open"],
        service_known=row["service_known"],
        space=space,
    )
