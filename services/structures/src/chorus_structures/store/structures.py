"""Structure repository: insert, load (with services), look up and search."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg

from chorus_structures.domain.identifiers import Identifier, IdentifierType
from chorus_structures.domain.search import Cursor, SearchCriteria
from chorus_structures.domain.structure import (
    Address,
    NewStructure,
    RoutingParameters,
    Structure,
    StructureKind,
    StructureStatus,
)
from chorus_structures.store.services import services_of

_COLUMNS = """
    s.id, s.identifier_type, s.identifier, s.raison_sociale, s.libelle, s.kind, s.status,
    s.address_line1, s.address_line2, s.postal_code, s.city, s.country, s.email, s.vat_number,
    s.service_code_required, s.engagement_required, s.service_or_engagement_required,
    s.payment_status_not_reported, s.created_at, s.sort_key
"""


async def insert_structure(
    conn: asyncpg.Connection, new: NewStructure, *, created_by: UUID | None
) -> UUID | None:
    """Stores ``new``; returns its id, or None when its identifier is already registered."""
    return await conn.fetchval(
        """
        INSERT INTO structures (
            id, identifier_type, identifier, raison_sociale, libelle, kind,
            address_line1, address_line2, postal_code, city, country, email, vat_number,
            service_code_required, engagement_required, service_or_engagement_required,
            payment_status_not_reported, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
        ON CONFLICT (identifier_type, identifier) DO NOTHING
        RETURNING id
        """,
        uuid4(),
        new.identifier.type.value,
        new.identifier.value,
        new.raison_sociale,
        new.libelle,
        new.kind.value,
        new.address.line1,
        new.address.line2,
        new.address.postal_code,
        new.address.city,
        new.address.country,
        new.email,
        new.vat_number,
        new.routing.service_code_required,
        new.routing.engagement_required,
        new.routing.service_or_engagement_required,
        new.routing.payment_status_not_reported,
        created_by,
    )


async def find_id_by_identifier(conn: asyncpg.Connection, identifier: Identifier) -> UUID | None:
    return await conn.fetchval(
        "SELECT id FROM structures WHERE identifier_type = $1 AND identifier = $2",
        identifier.type.value,
        identifier.value,
    )


async def get_structure(conn: asyncpg.Connection, structure_id: UUID) -> Structure | None:
    found = await get_structures(conn, [structure_id])
    return found[0] if found else None


async def get_structures(conn: asyncpg.Connection, ids: Sequence[UUID]) -> list[Structure]:
    """The structures with these ids, with their services, in the order of ``ids``."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM structures s WHERE s.id = ANY($1)",  # noqa: S608 - constant columns
        ids,
    )
    by_id = {row["id"]: row for row in rows}
    services = await services_of(conn, list(by_id))
    return [_structure(by_id[i], services.get(i, ())) for i in dict.fromkeys(ids) if i in by_id]


async def search_structures(
    conn: asyncpg.Connection, criteria: SearchCriteria
) -> tuple[list[Structure], Cursor | None]:
    """One page of structures matching ``criteria`` in name order, and the next page's cursor.

    Names match word by word, ignoring case and accents (``structures_fold``).
    """
    after = criteria.after
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM structures s
        WHERE ($1::text IS NULL OR s.identifier_key LIKE $1)
          AND s.search_text LIKE ALL (
                SELECT structures_fold(pattern) FROM unnest($2::text[]) AS pattern)
          AND ($3::text IS NULL OR s.kind = $3)
          AND ($4::text IS NULL OR (s.sort_key, s.id) > ($4, $5::uuid))
        ORDER BY s.sort_key, s.id
        LIMIT $6
        """,  # noqa: S608 - constant column list, values are parameters
        criteria.identifier_pattern(),
        criteria.name_patterns(),
        criteria.kind.value if criteria.kind else None,
        after.sort_key if after else None,
        after.id if after else None,
        criteria.page_size + 1,
    )
    page = rows[: criteria.page_size]
    services = await services_of(conn, [row["id"] for row in page])
    structures = [_structure(row, services.get(row["id"], ())) for row in page]
    cursor = None
    if len(rows) > criteria.page_size:
        cursor = Cursor(sort_key=page[-1]["sort_key"], id=page[-1]["id"])
    return structures, cursor


def _structure(row: asyncpg.Record, services) -> Structure:
    return Structure(
        id=row["id"],
        identifier=Identifier(IdentifierType(row["identifier_type"]), row["identifier"]),
        raison_sociale=row["raison_sociale"],
        libelle=row["libelle"],
        kind=StructureKind(row["kind"]),
        status=StructureStatus(row["status"]),
        address=Address(
            line1=row["address_line1"],
            line2=row["address_line2"],
            postal_code=row["postal_code"],
            city=row["city"],
            country=row["country"],
        ),
        email=row["email"],
        vat_number=row["vat_number"],
        routing=RoutingParameters(
            service_code_required=row["service_code_required"],
            engagement_required=row["engagement_required"],
            service_or_engagement_required=row["service_or_engagement_required"],
            payment_status_not_reported=row["payment_status_not_reported"],
        ),
        services=tuple(services),
        created_at=row["created_at"],
    )
