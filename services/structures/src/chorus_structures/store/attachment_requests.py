"""Repository of attachment requests (one pending per user and structure, by index)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg

from chorus_structures.domain.access import Role
from chorus_structures.domain.attachments import AttachmentRequest, AttachmentStatus
from chorus_structures.domain.paging import Page

_COLUMNS = """
    r.id, r.structure_id, r.user_id, r.status, r.comment, r.service_ids, r.granted_role,
    r.decision_comment, r.decided_by, r.requested_at, r.decided_at, s.raison_sociale
"""
_FROM = "attachment_requests r JOIN structures s ON s.id = r.structure_id"


def _request(row: asyncpg.Record) -> AttachmentRequest:
    return AttachmentRequest(
        id=row["id"],
        structure_id=row["structure_id"],
        user_id=row["user_id"],
        status=AttachmentStatus(row["status"]),
        comment=row["comment"],
        service_ids=tuple(row["service_ids"]),
        granted_role=Role(row["granted_role"]) if row["granted_role"] else None,
        decision_comment=row["decision_comment"],
        decided_by=row["decided_by"],
        requested_at=row["requested_at"],
        decided_at=row["decided_at"],
        structure_name=row["raison_sociale"],
    )


async def insert_pending(
    conn: asyncpg.Connection,
    structure_id: UUID,
    user_id: UUID,
    comment: str,
    service_ids: Sequence[UUID],
) -> AttachmentRequest | None:
    """A new pending request; None when the user already has one for this structure."""
    request_id = await conn.fetchval(
        """
        INSERT INTO attachment_requests (id, structure_id, user_id, status, comment, service_ids)
        VALUES ($1, $2, $3, 'EN_COURS_DE_VALIDATION', $4, $5)
        ON CONFLICT (structure_id, user_id) WHERE status = 'EN_COURS_DE_VALIDATION' DO NOTHING
        RETURNING id
        """,
        uuid4(),
        structure_id,
        user_id,
        comment,
        list(service_ids),
    )
    return await get_request(conn, request_id) if request_id else None


async def get_request(conn: asyncpg.Connection, request_id: UUID) -> AttachmentRequest | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE r.id = $1",  # noqa: S608 - constant SQL parts
        request_id,
    )
    return _request(row) if row else None


async def structure_of(conn: asyncpg.Connection, request_id: UUID) -> UUID | None:
    return await conn.fetchval(
        "SELECT structure_id FROM attachment_requests WHERE id = $1", request_id
    )


async def pending_of(
    conn: asyncpg.Connection, structure_id: UUID, user_id: UUID
) -> AttachmentRequest | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {_FROM}"  # noqa: S608 - constant SQL parts
        " WHERE r.structure_id = $1 AND r.user_id = $2 AND r.status = 'EN_COURS_DE_VALIDATION'",
        structure_id,
        user_id,
    )
    return _request(row) if row else None


async def record_decision(
    conn: asyncpg.Connection,
    request_id: UUID,
    *,
    status: AttachmentStatus,
    granted_role: Role | None,
    comment: str,
    decided_by: UUID | None,
) -> AttachmentRequest:
    """Closes a pending request (VALIDEE, REFUSEE or ANNULEE) and returns it."""
    await conn.execute(
        """
        UPDATE attachment_requests
           SET status = $2, granted_role = $3, decision_comment = $4, decided_by = $5,
               decided_at = clock_timestamp()
         WHERE id = $1
        """,
        request_id,
        status.value,
        granted_role.value if granted_role else None,
        comment,
        decided_by,
    )
    found = await get_request(conn, request_id)
    assert found is not None
    return found


async def deactivate_validated(conn: asyncpg.Connection, structure_id: UUID, user_id: UUID) -> None:
    """The membership granted by the user's accepted requests ended: they become DESACTIVEE."""
    await conn.execute(
        "UPDATE attachment_requests SET status = 'DESACTIVEE'"
        " WHERE structure_id = $1 AND user_id = $2 AND status = 'VALIDEE'",
        structure_id,
        user_id,
    )


async def list_for_structure(
    conn: asyncpg.Connection, structure_id: UUID, status: AttachmentStatus | None, page: Page
) -> list[AttachmentRequest]:
    """Newest first, one more than the page size (to tell whether a next page exists)."""
    after = page.after
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM {_FROM}
         WHERE r.structure_id = $1 AND ($2::text IS NULL OR r.status = $2)
           AND ($3::timestamptz IS NULL OR (r.requested_at, r.id) < ($3, $4::uuid))
         ORDER BY r.requested_at DESC, r.id DESC
         LIMIT $5
        """,  # noqa: S608 - constant SQL parts, values are parameters
        structure_id,
        status.value if status else None,
        after.at if after else None,
        after.id if after else None,
        page.size + 1,
    )
    return [_request(row) for row in rows]


async def list_for_user(conn: asyncpg.Connection, user_id: UUID) -> list[AttachmentRequest]:
    """The user's requests, newest first (a user makes few)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE r.user_id = $1"  # noqa: S608 - constant SQL
        " ORDER BY r.requested_at DESC, r.id DESC LIMIT 200",
        user_id,
    )
    return [_request(row) for row in rows]
