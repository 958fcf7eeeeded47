"""Repository of sollicitations, their messages and attachments (contents read one at a
time, never with the thread)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg

from chorus_structures.domain.paging import Page
from chorus_structures.domain.sollicitations import (
    AttachmentInfo,
    Message,
    NewSollicitation,
    Sollicitation,
    SollicitationBox,
    SollicitationStatus,
    Upload,
)

_COLUMNS = """
    t.id, t.sender_id, t.sender_structure_id, t.addressee_structure_id, t.subject,
    t.invoice_id, t.invoice_number, t.object_structure_id, t.status, t.created_at,
    t.updated_at, coalesce(ss.raison_sociale, '') AS sender_structure_name,
    coalesce(sa.raison_sociale, '') AS addressee_structure_name,
    coalesce(so.raison_sociale, '') AS object_structure_name
"""
_FROM = """
    sollicitations t
    LEFT JOIN structures ss ON ss.id = t.sender_structure_id
    LEFT JOIN structures sa ON sa.id = t.addressee_structure_id
    LEFT JOIN structures so ON so.id = t.object_structure_id
"""
# The structures the user manages: their "reçues" (support users also see the support's).
_MANAGED = (
    "SELECT m.structure_id FROM memberships m WHERE m.user_id = $1 AND m.role <> 'UTILISATEUR'"
)


def _sollicitation(row: asyncpg.Record, messages: Sequence[Message] = ()) -> Sollicitation:
    return Sollicitation(
        id=row["id"],
        sender_id=row["sender_id"],
        sender_structure_id=row["sender_structure_id"],
        sender_structure_name=row["sender_structure_name"],
        addressee_structure_id=row["addressee_structure_id"],
        addressee_structure_name=row["addressee_structure_name"],
        subject=row["subject"],
        invoice_id=row["invoice_id"],
        invoice_number=row["invoice_number"],
        object_structure_id=row["object_structure_id"],
        object_structure_name=row["object_structure_name"],
        status=SollicitationStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        messages=tuple(messages),
    )


async def insert(conn: asyncpg.Connection, sender_id: UUID, new: NewSollicitation) -> UUID:
    sollicitation_id = uuid4()
    await conn.execute(
        """
        INSERT INTO sollicitations (id, sender_id, sender_structure_id, addressee_structure_id,
            subject, invoice_id, invoice_number, object_structure_id, status)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'OUVERTE')
        """,
        sollicitation_id,
        sender_id,
        new.sender_structure_id,
        new.addressee_structure_id,
        new.subject,
        new.invoice_id,
        new.invoice_number,
        new.object_structure_id,
    )
    return sollicitation_id


async def add_message(
    conn: asyncpg.Connection,
    sollicitation_id: UUID,
    author_id: UUID,
    *,
    from_sender: bool,
    body: str,
    uploads: Sequence[Upload],
) -> UUID:
    message_id = uuid4()
    await conn.execute(
        "INSERT INTO sollicitation_messages (id, sollicitation_id, author_id, from_sender, body)"
        " VALUES ($1, $2, $3, $4, $5)",
        message_id,
        sollicitation_id,
        author_id,
        from_sender,
        body,
    )
    for position, upload in enumerate(uploads):
        await conn.execute(
            "INSERT INTO sollicitation_attachments (id, message_id, sollicitation_id, filename,"
            " media_type, size, content, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            uuid4(),
            message_id,
            sollicitation_id,
            upload.filename,
            upload.media_type,
            len(upload.content),
            upload.content,
            position,
        )
    return message_id


async def set_status(
    conn: asyncpg.Connection, sollicitation_id: UUID, status: SollicitationStatus
) -> None:
    await conn.execute(
        "UPDATE sollicitations SET status = $2, updated_at = clock_timestamp() WHERE id = $1",
        sollicitation_id,
        status.value,
    )


async def get(
    conn: asyncpg.Connection, sollicitation_id: UUID, *, lock: bool = False
) -> Sollicitation | None:
    """The sollicitation without its messages; ``lock`` takes its row for the transaction."""
    if lock:
        found = await conn.fetchval(
            "SELECT id FROM sollicitations WHERE id = $1 FOR UPDATE", sollicitation_id
        )
        if found is None:
            return None
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE t.id = $1",  # noqa: S608 - constant SQL parts
        sollicitation_id,
    )
    return _sollicitation(row) if row else None


async def with_messages(conn: asyncpg.Connection, sollicitation: Sollicitation) -> Sollicitation:
    """The sollicitation with its messages, oldest first, and their attachments' metadata."""
    rows = await conn.fetch(
        "SELECT id, author_id, from_sender, body, created_at FROM sollicitation_messages"
        " WHERE sollicitation_id = $1 ORDER BY created_at, id",
        sollicitation.id,
    )
    files = await conn.fetch(
        "SELECT id, message_id, filename, media_type, size FROM sollicitation_attachments"
        " WHERE sollicitation_id = $1 ORDER BY position",
        sollicitation.id,
    )
    by_message: dict[UUID, list[AttachmentInfo]] = {}
    for f in files:
        by_message.setdefault(f["message_id"], []).append(
            AttachmentInfo(f["id"], f["filename"], f["media_type"], f["size"])
        )
    messages = tuple(
        Message(
            id=r["id"],
            author_id=r["author_id"],
            from_sender=r["from_sender"],
            body=r["body"],
            created_at=r["created_at"],
            attachments=tuple(by_message.get(r["id"], ())),
        )
        for r in rows
    )
    return Sollicitation(**{**sollicitation.__dict__, "messages": messages})


async def list_for(
    conn: asyncpg.Connection,
    user_id: UUID,
    box: SollicitationBox,
    status: SollicitationStatus | None,
    page: Page,
    *,
    support: bool,
) -> list[Sollicitation]:
    """One more than a page of the user's sent or received sollicitations, newest activity
    first (the extra row tells there is a next page)."""
    if box is SollicitationBox.EMISES:
        where = "t.sender_id = $1"
    elif support:
        where = f"(t.addressee_structure_id IN ({_MANAGED}) OR t.addressee_structure_id IS NULL)"
    else:
        where = f"t.addressee_structure_id IN ({_MANAGED})"
    args: list[object] = [user_id, status.value if status else None, page.size + 1]
    after = ""
    if page.after is not None:
        args += [page.after.at, page.after.id]
        after = " AND (t.updated_at, t.id) < ($4, $5)"
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE {where}"  # noqa: S608 - constant SQL parts
        f" AND ($2::text IS NULL OR t.status = $2){after}"
        " ORDER BY t.updated_at DESC, t.id DESC LIMIT $3",
        *args,
    )
    return [_sollicitation(row) for row in rows]


async def attachment(
    conn: asyncpg.Connection, sollicitation_id: UUID, attachment_id: UUID
) -> tuple[str, str, bytes] | None:
    row = await conn.fetchrow(
        "SELECT filename, media_type, content FROM sollicitation_attachments"
        " WHERE id = $1 AND sollicitation_id = $2",
        attachment_id,
        sollicitation_id,
    )
    return (row["filename"], row["media_type"], bytes(row["content"])) if row else None
