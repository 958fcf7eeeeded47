"""Structure repository: insert, load (with services), look up and search."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg

from chorus_structures.domain.access import Caller
from chorus_structures.domain.identifiers import Identifier, IdentifierType
from chorus_structures.domain.search import NAME_SIMILARITY_THRESHOLD, Cursor, SearchCriteria
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
    s.payment_status_not_reported, s.created_at, s.sort_key, s.cpp_id
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


async def find_id_by_cpp_id(conn: asyncpg.Connection, cpp_id: int) -> UUID | None:
    return await conn.fetchval("SELECT id FROM structures WHERE cpp_id = $1", cpp_id)


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


class _Query:
    """Bound values of a query being written: ``bind`` adds one and answers its placeholder.
    Only placeholders are ever formatted into SQL text."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def bind(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _visible_to(q: _Query, viewer: Caller) -> str:
    """The condition a search result meets: public, or a structure the viewer may find as
    its own (``domain/search.py``): for a person, one they are a member of (served by the
    memberships primary key); for a technical account, its structure only."""
    if viewer.technical_structure_id is not None:
        return f"(s.kind = 'PUBLIQUE' OR s.id = {q.bind(viewer.technical_structure_id)}::uuid)"
    # Only the placeholder is formatted in; the viewer's id is a bound value.
    return (
        "(s.kind = 'PUBLIQUE' OR EXISTS (SELECT 1 FROM memberships m"  # noqa: S608
        f" WHERE m.structure_id = s.id AND m.user_id = {q.bind(viewer.user_id)}::uuid))"
    )


def _filters(q: _Query, criteria: SearchCriteria, viewer: Caller) -> list[str]:
    """Every condition but the name words': identifier, visibility, kind, status, address."""
    where = []
    if criteria.exact is not None:
        where.append(
            f"s.identifier_type = {q.bind(criteria.exact.type.value)}"
            f" AND s.identifier = {q.bind(criteria.exact.value)}"
        )
    if criteria.identifier_key:
        where.append(f"s.identifier_key = {q.bind(criteria.identifier_key)}")
    if criteria.identifier_type is not None:
        where.append(f"s.identifier_type = {q.bind(criteria.identifier_type.value)}")
    if not criteria.exact_lookup:
        where.append(_visible_to(q, viewer))
    if criteria.identifier_prefix:
        where.append(f"s.identifier_key LIKE {q.bind(criteria.identifier_pattern())}")
    if criteria.kind is not None:
        where.append(f"s.kind = {q.bind(criteria.kind.value)}")
    if criteria.status is not None:
        where.append(f"s.status = {q.bind(criteria.status.value)}")
    address = criteria.address
    if address.postal_code:
        where.append(f"s.postal_code = {q.bind(address.postal_code)}")
    if address.city:
        where.append(f"structures_fold(s.city) = structures_fold({q.bind(address.city)})")
    if address.country:
        where.append(f"s.country = {q.bind(address.country)}")
    return where


def _every_word(q: _Query, criteria: SearchCriteria) -> str:
    """The folded text holds every word (one condition per word, each served by the
    trigram index)."""
    return " AND ".join(
        f"s.search_text LIKE structures_fold({q.bind(pattern)})"
        for pattern in criteria.name_patterns()
    )


def _each_word_or_similar(q: _Query, criteria: SearchCriteria) -> str:
    """Each word is held, or a word similar enough is (both served by the trigram index)."""
    return " AND ".join(
        f"(s.search_text LIKE structures_fold({q.bind(pattern)})"
        f" OR structures_fold({q.bind(word)}) <% s.search_text)"
        for pattern, word in zip(criteria.name_patterns(), criteria.name_words, strict=True)
    )


def _similarity(q: _Query, criteria: SearchCriteria) -> str:
    return (
        f"round(word_similarity(structures_fold({q.bind(criteria.name_query())}),"
        " s.search_text)::numeric, 4)"
    )


def _holds_every_word(q: _Query, criteria: SearchCriteria) -> str:
    return (
        "s.search_text LIKE ALL (ARRAY(SELECT structures_fold(p)"  # noqa: S608 - placeholder
        f" FROM unnest({q.bind(criteria.name_patterns())}::text[]) AS p))"
    )


async def _set_similarity_threshold(conn: asyncpg.Connection) -> None:
    """For the current transaction only."""
    await conn.execute(
        "SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)",
        str(NAME_SIMILARITY_THRESHOLD),
    )


async def search_structures(
    conn: asyncpg.Connection, criteria: SearchCriteria, *, viewer: Caller
) -> tuple[list[Structure], Cursor | None]:
    """One page of the structures matching ``criteria`` that ``viewer`` may find by search
    (public ones and the viewer's own; see ``domain/search.py``) and the next page's cursor.

    Runs inside the caller's transaction (the similarity threshold is set for it only).
    Without a name: raison sociale order, on the (sort_key, id) index. With a name: rows
    whose folded text holds every word (LIKE, trigram GIN index) rank 1, rows only similar
    enough (``<%``, same index) rank by word similarity; then raison sociale order.
    """
    if criteria.ranked:
        rows = await _ranked_search(conn, criteria, viewer)
    else:
        rows = await _listing(conn, criteria, viewer)
    page = rows[: criteria.page_size]
    services = await services_of(conn, [row["id"] for row in page])
    structures = [_structure(row, services.get(row["id"], ())) for row in page]
    cursor = None
    if len(rows) > criteria.page_size:
        last = page[-1]
        rank = str(last["rank"]) if criteria.ranked else ""
        cursor = Cursor(sort_key=last["sort_key"], id=last["id"], rank=rank)
    return structures, cursor


async def search_numbered(
    conn: asyncpg.Connection, criteria: SearchCriteria, *, viewer: Caller
) -> tuple[list[Structure], int]:
    """Page ``criteria.numbered`` of the structures matching ``criteria`` that ``viewer``
    may find, and how many match in all. Same order as :func:`search_structures` (with a
    name: those holding every word first, then the most similar; then raison sociale).
    Runs inside the caller's transaction, which should be one snapshot for both counts."""
    assert criteria.numbered is not None
    q = _Query()
    where = _filters(q, criteria, viewer)
    if criteria.ranked:
        await _set_similarity_threshold(conn)
        where.append(_each_word_or_similar(q, criteria))
    condition = " AND ".join(where) or "true"
    total = await conn.fetchval(
        f"SELECT count(*) FROM structures s WHERE {condition}",  # noqa: S608 - placeholders only
        *q.values,
    )
    rank = "NULL::numeric"
    if criteria.ranked:
        rank = (
            f"CASE WHEN {_holds_every_word(q, criteria)} THEN 1::numeric(5, 4)"
            f" ELSE {_similarity(q, criteria)} END"
        )
    offset, limit = q.bind(criteria.numbered.offset), q.bind(criteria.numbered.size)
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS}, {rank} AS rank FROM structures s
        WHERE {condition}
        ORDER BY rank DESC NULLS LAST, s.sort_key, s.id
        OFFSET {offset} LIMIT {limit}
        """,  # noqa: S608 - constant column list and placeholders, values are parameters
        *q.values,
    )
    services = await services_of(conn, [row["id"] for row in rows])
    return [_structure(row, services.get(row["id"], ())) for row in rows], total


def _keyset_after(q: _Query, after: Cursor | None) -> str:
    if after is None:
        return "true"
    return f"(s.sort_key, s.id) > ({q.bind(after.sort_key)}, {q.bind(after.id)}::uuid)"


async def _listing(
    conn: asyncpg.Connection, criteria: SearchCriteria, viewer: Caller
) -> list[asyncpg.Record]:
    q = _Query()
    where = [*_filters(q, criteria, viewer), _keyset_after(q, criteria.after)]
    return await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM structures s
        WHERE {" AND ".join(where)}
        ORDER BY s.sort_key, s.id
        LIMIT {q.bind(criteria.page_size + 1)}
        """,  # noqa: S608 - constant column list and placeholders, values are parameters
        *q.values,
    )


EXACT_RANK = Decimal("1.0000")


async def _exact_matches(
    conn: asyncpg.Connection, criteria: SearchCriteria, limit: int, viewer: Caller
) -> list[asyncpg.Record]:
    """Structures holding every word (rank 1), in raison sociale order."""
    q = _Query()
    where = [
        _every_word(q, criteria),
        *_filters(q, criteria, viewer),
        _keyset_after(q, criteria.after),
    ]
    return await conn.fetch(
        f"""
        SELECT {_COLUMNS}, 1::numeric(5, 4) AS rank FROM structures s
        WHERE {" AND ".join(where)}
        ORDER BY s.sort_key, s.id
        LIMIT {q.bind(limit)}
        """,  # noqa: S608 - constant column list and placeholders, values are parameters
        *q.values,
    )


async def _similar_matches(
    conn: asyncpg.Connection,
    criteria: SearchCriteria,
    limit: int,
    viewer: Caller,
    *,
    first_page: bool,
) -> list[asyncpg.Record]:
    """Structures matching some word only by similarity, most similar first."""
    after = None if first_page else criteria.after
    await _set_similarity_threshold(conn)
    q = _Query()
    where = [
        _each_word_or_similar(q, criteria),
        f"NOT {_holds_every_word(q, criteria)}",
        *_filters(q, criteria, viewer),
    ]
    rank = _similarity(q, criteria)
    position = "true"
    if after is not None:
        after_rank = q.bind(Decimal(after.rank))
        position = (
            f"(m.rank < {after_rank} OR (m.rank = {after_rank}"
            f" AND (m.sort_key, m.id) > ({q.bind(after.sort_key)}, {q.bind(after.id)}::uuid)))"
        )
    return await conn.fetch(
        f"""
        WITH matched AS (
            SELECT {_COLUMNS}, {rank} AS rank FROM structures s
             WHERE {" AND ".join(where)}
        )
        SELECT * FROM matched m
         WHERE {position}
         ORDER BY m.rank DESC, m.sort_key, m.id
         LIMIT {q.bind(limit)}
        """,  # noqa: S608 - constant column list and placeholders, values are parameters
        *q.values,
    )


async def _ranked_search(
    conn: asyncpg.Connection, criteria: SearchCriteria, viewer: Caller
) -> list[asyncpg.Record]:
    """Exact matches first (cheap, index-served); the costlier similarity search only runs
    once they no longer fill the page."""
    wanted = criteria.page_size + 1
    after = criteria.after
    in_exact_part = after is None or Decimal(after.rank or "1") >= EXACT_RANK
    rows: list[asyncpg.Record] = []
    if in_exact_part:
        rows = await _exact_matches(conn, criteria, wanted, viewer)
        if len(rows) >= wanted:
            return rows
    rows += await _similar_matches(
        conn, criteria, wanted - len(rows), viewer, first_page=in_exact_part
    )
    return rows


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
        cpp_id=row["cpp_id"],
    )


async def lock_structure(conn: asyncpg.Connection, structure_id: UUID) -> Structure | None:
    """The structure, its row locked until the transaction ends (so that one structure's
    changes, and their events, happen one after the other)."""
    locked = await conn.fetchval("SELECT id FROM structures WHERE id = $1 FOR UPDATE", structure_id)
    return await get_structure(conn, locked) if locked else None


async def update_structure(conn: asyncpg.Connection, structure: Structure) -> None:
    """Writes the mutable fields of ``structure`` (not its identifier, kind or services)."""
    await conn.execute(
        """
        UPDATE structures
           SET raison_sociale = $2, libelle = $3, status = $4,
               address_line1 = $5, address_line2 = $6, postal_code = $7, city = $8,
               country = $9, email = $10, vat_number = $11,
               service_code_required = $12, engagement_required = $13,
               service_or_engagement_required = $14, payment_status_not_reported = $15,
               updated_at = now()
         WHERE id = $1
        """,
        structure.id,
        structure.raison_sociale,
        structure.libelle,
        structure.status.value,
        structure.address.line1,
        structure.address.line2,
        structure.address.postal_code,
        structure.address.city,
        structure.address.country,
        structure.email,
        structure.vat_number,
        structure.routing.service_code_required,
        structure.routing.engagement_required,
        structure.routing.service_or_engagement_required,
        structure.routing.payment_status_not_reported,
    )
