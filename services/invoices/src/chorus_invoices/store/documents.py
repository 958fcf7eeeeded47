"""Where invoice files live: the :class:`DocumentStore` interface, its PostgreSQL default and
its S3 variant (``CHORUS_DOCUMENT_STORE``).

Every method takes the caller's connection so a document's row is written in the same
transaction as the invoice it belongs to; a document is addressed by (invoice, role), an
attachment by id. The row (table ``documents``) always keeps the metadata, size and SHA-256;
the content is its ``bytea`` (:class:`PostgresDocumentStore`) or an object of the bucket
(:class:`S3DocumentStore`, ``object_key``). Every content read, from either, is checked
against the size and SHA-256 of its row: a mismatch is logged and raised as
:class:`~chorus_invoices.domain.errors.DocumentCorrupted`, never served. The documents
themselves are domain values (:mod:`chorus_invoices.domain.documents`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from typing import Protocol

import asyncpg

from chorus_invoices.domain.documents import (
    FALLBACK_FILENAMES,
    MAIN_ROLES,
    Document,
    DocumentInfo,
    DocumentRole,
)
from chorus_invoices.domain.errors import DocumentCorrupted, DocumentStoreUnavailable
from chorus_invoices.domain.filenames import safe_filename
from chorus_invoices.store.object_storage import ObjectStorage

log = logging.getLogger("chorus.invoices.documents")

OBJECT_PREFIX = "documents/"
"""Keys of documents' objects: ``documents/<document id>`` (one object per row)."""


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
    """Documents in the service's own database (table ``documents``, contents ``bytea``).

    A row whose content is an object (written under ``s3``) cannot be read here: the store was
    switched back without moving the contents; that is logged and answered UNAVAILABLE."""

    async def _kept(self, document: Document) -> tuple[bytes | None, str | None]:
        """Where the row says the content is: (bytea, None) here; (None, object key) in S3
        once the object is written."""
        return document.content, None

    async def _dropped(self, key: str | None) -> None:
        """Forgets what :meth:`_kept` wrote for a row that was finally not written."""

    async def _object(self, key: str) -> bytes | None:
        log.error(
            "document kept in object storage while CHORUS_DOCUMENT_STORE=postgres",
            extra={"object_key": key},
        )
        raise DocumentStoreUnavailable()

    async def _document(self, invoice_id: str, row: asyncpg.Record | None) -> Document | None:
        if row is None:
            return None
        info = _info(row)
        if row["content"] is not None:
            content = bytes(row["content"])
        else:
            content = await self._object(row["object_key"])
        return Document(info, _verified(invoice_id, info, content, row["object_key"]))

    async def put(self, conn: asyncpg.Connection, invoice_id: str, document: Document) -> None:
        info = document.info
        content, key = await self._kept(document)
        await conn.execute(
            "INSERT INTO documents (id, invoice_id, role, filename, media_type, size, sha256,"
            " content, object_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " ON CONFLICT (invoice_id, role) WHERE role <> 'ATTACHMENT'"
            " DO UPDATE SET id = EXCLUDED.id,"
            " filename = EXCLUDED.filename, media_type = EXCLUDED.media_type,"
            " size = EXCLUDED.size, sha256 = EXCLUDED.sha256, content = EXCLUDED.content,"
            " object_key = EXCLUDED.object_key, created_at = EXCLUDED.created_at",
            info.id,
            invoice_id,
            info.role.value,
            info.filename,
            info.media_type,
            info.size,
            info.sha256,
            content,
            key,
            info.created_at,
        )

    async def put_rendered(
        self, conn: asyncpg.Connection, invoice_id: str, document: Document, source_id: str
    ) -> bool:
        info = document.info
        content, key = await self._kept(document)
        kept = await conn.fetchval(
            "INSERT INTO documents (id, invoice_id, role, filename, media_type, size, sha256,"
            " content, object_key, created_at) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10"
            " WHERE EXISTS (SELECT 1 FROM documents WHERE invoice_id = $2 AND id = $11"
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
            content,
            key,
            info.created_at,
            source_id,
        )
        if kept is None:
            # Another download stored its copy first: this one's object goes at once (or,
            # should that fail, with the orphans purge-documents deletes).
            await self._dropped(key)
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
            "SELECT id, role, filename, media_type, size, sha256, created_at, content,"
            " object_key FROM documents WHERE invoice_id = $1 AND role = ANY($2::text[])"
            " ORDER BY array_position($2::text[], role) LIMIT 1",
            invoice_id,
            [role.value for role in MAIN_ROLES],
        )
        return await self._document(invoice_id, row)

    async def by_role(
        self, conn: asyncpg.Connection, invoice_id: str, role: DocumentRole
    ) -> Document | None:
        row = await conn.fetchrow(
            "SELECT id, role, filename, media_type, size, sha256, created_at, content,"
            " object_key FROM documents"
            " WHERE invoice_id = $1 AND role = $2 AND role <> 'ATTACHMENT'",
            invoice_id,
            role.value,
        )
        return await self._document(invoice_id, row)

    async def remove(self, conn: asyncpg.Connection, invoice_id: str, role: DocumentRole) -> None:
        # An object the row named stays until purge-documents finds it without a row: deleting
        # it here would leave the row pointing at nothing if the transaction rolled back.
        await conn.execute(
            "DELETE FROM documents WHERE invoice_id = $1 AND role = $2 AND role <> 'ATTACHMENT'",
            invoice_id,
            role.value,
        )

    async def add_attachment(
        self, conn: asyncpg.Connection, invoice_id: str, document: Document
    ) -> None:
        info = document.info
        content, key = await self._kept(document)
        await conn.execute(
            "INSERT INTO documents (id, invoice_id, role, filename, media_type, size, sha256,"
            " content, object_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            info.id,
            invoice_id,
            DocumentRole.ATTACHMENT.value,
            info.filename,
            info.media_type,
            info.size,
            info.sha256,
            content,
            key,
            info.created_at,
        )

    async def attachment(
        self, conn: asyncpg.Connection, invoice_id: str, document_id: str
    ) -> Document | None:
        row = await conn.fetchrow(
            "SELECT id, role, filename, media_type, size, sha256, created_at, content,"
            " object_key FROM documents WHERE invoice_id = $1 AND id = $2 AND role = $3",
            invoice_id,
            document_id,
            DocumentRole.ATTACHMENT.value,
        )
        return await self._document(invoice_id, row)

    async def attachments_size(self, conn: asyncpg.Connection, invoice_id: str) -> int:
        total = await conn.fetchval(
            "SELECT coalesce(sum(size), 0) FROM documents WHERE invoice_id = $1 AND role = $2",
            invoice_id,
            DocumentRole.ATTACHMENT.value,
        )
        return int(total)


class S3DocumentStore(PostgresDocumentStore):
    """Contents as objects of an S3-compatible bucket (``documents/<document id>``), rows in
    PostgreSQL with ``object_key``; rows written with ``bytea`` before the switch stay
    readable from it.

    Keys are by document id rather than by content hash: a key has at most one row, so an
    object can be deleted (retention, replacement, rollback) without counting who else uses
    it, and an orphan is a key without a row. The object is written before the row, inside
    the caller's transaction: a row never names a missing object; a rolled-back or replaced
    document leaves an orphan object that ``purge-documents`` deletes."""

    def __init__(self, objects: ObjectStorage) -> None:
        self.objects = objects

    async def _kept(self, document: Document) -> tuple[bytes | None, str | None]:
        info = document.info
        key = object_key(info.id)
        await self.objects.put(key, document.content, info.media_type, info.sha256)
        return None, key

    async def _dropped(self, key: str | None) -> None:
        if key is None:
            return
        with contextlib.suppress(DocumentStoreUnavailable):  # else an orphan, purged later
            await self.objects.delete([key])

    async def _object(self, key: str) -> bytes | None:
        return await self.objects.get(key)


def object_key(document_id: str) -> str:
    """The key of a document's object."""
    return f"{OBJECT_PREFIX}{document_id}"


def _verified(invoice_id: str, info: DocumentInfo, content: bytes | None, key: str | None) -> bytes:
    """``content`` if it is the one the row describes (size and SHA-256); else logged and
    DocumentCorrupted (a missing object included)."""
    intact = content is not None and len(content) == info.size
    if intact and hashlib.sha256(content).hexdigest() == info.sha256:
        return content
    log.error(
        "document content does not match its checksum: not served",
        extra={
            "invoice_id": invoice_id,
            "document_id": info.id,
            "role": info.role.value,
            "object_key": key or "",
            "missing": content is None,
            "expected_size": info.size,
            "actual_size": -1 if content is None else len(content),
        },
    )
    raise DocumentCorrupted()


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
