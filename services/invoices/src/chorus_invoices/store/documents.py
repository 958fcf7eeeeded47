"""Where invoice files live: the :class:`DocumentStore` interface and its PostgreSQL default.

Every method takes the caller's connection so a document is written in the same transaction
as the invoice it belongs to (a store kept elsewhere, e.g. object storage, would write first
and ignore it). Contents are ``bytea``; a document is addressed by (invoice, role). The
documents themselves are domain values (:mod:`chorus_invoices.domain.documents`).
"""

from __future__ import annotations

from typing import Protocol

import asyncpg

from chorus_invoices.domain.documents import (
    FALLBACK_FILENAMES,
    MAIN_ROLES,
    Document,
    DocumentInfo,
    DocumentRole,
)
from chorus_invoices.domain.filenames import safe_filename


class DocumentStore(Protocol):
    async def put(self, conn: asyncpg.Connection, invoice_id: str, document: Document) -> None:
        """Keeps ``document`` for the invoice (replacing one of the same role)."""

    async def put_rendered(
        self, conn: asyncpg.Connection, invoice_id: str, document: Document, source_id: str
    ) -> bool:
        """Keeps ``document`` (rendered from the invoice's document ``source_id``) unless the
        invoice already has one of its role or ``source_id`` is no longer its document (it
        was replaced); locks that source until the caller's transaction ends. False when
        nothing was kept."""

    async def infos(self, conn: asyncpg.Connection, invoice_id: str) -> list[DocumentInfo]:
        """The invoice's documents, without their contents."""

    async def main(self, conn: asyncpg.Connection, invoice_id: str) -> Document | None:
        """The invoice's main document with its content (Factur-X first, else the original)."""

    async def by_role(
        self, conn: asyncpg.Connection, invoice_id: str, role: DocumentRole
    ) -> Document | None:
        """The invoice's document of that role (not ATTACHMENT) with its content, or None."""

    async def remove(self, conn: asyncpg.Connection, invoice_id: str, role: DocumentRole) -> None:
        """Forgets the invoice's document of that role (not ATTACHMENT), if any."""

    async def add_attachment(
        self, conn: asyncpg.Connection, invoice_id: str, document: Document
    ) -> None:
        """Keeps one more ATTACHMENT document for the invoice."""

    async def attachment(
        self, conn: asyncpg.Connection, invoice_id: str, document_id: str
    ) -> Document | None:
        """One attachment of the invoice with its content; None when it has no such one."""

    async def attachments_size(self, conn: asyncpg.Connection, invoice_id: str) -> int:
        """Bytes of all the invoice's attachments together."""


class PostgresDocumentStore:
    """Documents in the service's own database (table ``documents``)."""

    async def put(self, conn: asyncpg.Connection, invoice_id: str, document: Document) -> None:
        info = document.info
        await conn.execute(
            "INSERT INTO documents (id, invoice_id, role, filename, media_type, size, sha256,"
            " content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (invoice_id, role) WHERE role <> 'ATTACHMENT'"
            " DO UPDATE SET id = EXCLUDED.id,"
            " filename = EXCLUDED.filename, media_type = EXCLUDED.media_type,"
            " size = EXCLUDED.size, sha256 = EXCLUDED.sha256, content = EXCLUDED.content,"
            " created_at = EXCLUDED.created_at",
            info.id,
            invoice_id,
            info.role.value,
            info.filename,
            info.media_type,
            info.size,
            info.sha256,
            document.content,
            info.created_at,
        )

    async def put_rendered(
        self, conn: asyncpg.Connection, invoice_id: str, document: Document, source_id: str
    ) -> bool:
        info = document.info
        kept = await conn.fetchval(
            "INSERT INTO documents (id, invoice_id, role, filename, media_type, size, sha256,"
            " content, created_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9"
            " WHERE EXISTS (SELECT 1 FROM documents WHERE invoice_id = $2 AND id = $10"
            " FOR SHARE)"
            " ON CONFLICT (invoice_id, role) WHERE role <> 'ATTACHMENT' DO NOTHING"
            " RETURNING id",
            info.id,
            invoice_id,
            info.role.value,
            info.filename,
            info.media_type,
            info.size,
            info.sha256,
            document.content,
            info.created_at,
            source_id,
        )
        return kept is not None

    async def infos(self, conn: asyncpg.Connection, invoice_id: str) -> list[DocumentInfo]:
        rows = await conn.fetch(
            "SELECT id, role, filename, media_type, size, sha256, created_at FROM documents"
            " WHERE invoice_id = $1 ORDER BY created_at, role",
            invoice_id,
        )
        return [_info(row) for row in rows]

    async def main(self, conn: asyncpg.Connection, invoice_id: str) -> Document | None:
        row = await conn.fetchrow(
            "SELECT id, role, filename, media_type, size, sha256, created_at, content"
            " FROM documents WHERE invoice_id = $1 AND role = ANY($2::text[])"
            " ORDER BY array_position($2::text[], role) LIMIT 1",
            invoice_id,
            [role.value for role in MAIN_ROLES],
        )
        return Document(_info(row), bytes(row["content"])) if row else None

    async def by_role(
        self, conn: asyncpg.Connection, invoice_id: str, role: DocumentRole
    ) -> Document | None:
        row = await conn.fetchrow(
            "SELECT id, role, filename, media_type, size, sha256, created_at, content"
            " FROM documents WHERE invoice_id = $1 AND role = $2 AND role <> 'ATTACHMENT'",
            invoice_id,
            role.value,
        )
        return Document(_info(row), bytes(row["content"])) if row else None

    async def remove(self, conn: asyncpg.Connection, invoice_id: str, role: DocumentRole) -> None:
        await conn.execute(
            "DELETE FROM documents WHERE invoice_id = $1 AND role = $2 AND role <> 'ATTACHMENT'",
            invoice_id,
            role.value,
        )

    async def add_attachment(
        self, conn: asyncpg.Connection, invoice_id: str, document: Document
    ) -> None:
        info = document.info
        await conn.execute(
            "INSERT INTO documents (id, invoice_id, role, filename, media_type, size, sha256,"
            " content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            info.id,
            invoice_id,
            DocumentRole.ATTACHMENT.value,
            info.filename,
            info.media_type,
            info.size,
            info.sha256,
            document.content,
            info.created_at,
        )

    async def attachment(
        self, conn: asyncpg.Connection, invoice_id: str, document_id: str
    ) -> Document | None:
        row = await conn.fetchrow(
            "SELECT id, role, filename, media_type, size, sha256, created_at, content"
            " FROM documents WHERE invoice_id = $1 AND id = $2 AND role = $3",
            invoice_id,
            document_id,
            DocumentRole.ATTACHMENT.value,
        )
        return Document(_info(row), bytes(row["content"])) if row else None

    async def attachments_size(self, conn: asyncpg.Connection, invoice_id: str) -> int:
        total = await conn.fetchval(
            "SELECT coalesce(sum(size), 0) FROM documents WHERE invoice_id = $1 AND role = $2",
            invoice_id,
            DocumentRole.ATTACHMENT.value,
        )
        return int(total)


def _info(row: asyncpg.Record) -> DocumentInfo:
    return DocumentInfo(
        id=str(row["id"]),
        role=DocumentRole(row["role"]),
        # Names kept before they were made safe on the way in are made safe on the way out.
        filename=safe_filename(row["filename"], FALLBACK_FILENAMES[DocumentRole(row["role"])]),
        media_type=row["media_type"],
        size=row["size"],
        sha256=row["sha256"],
        created_at=row["created_at"],
    )
