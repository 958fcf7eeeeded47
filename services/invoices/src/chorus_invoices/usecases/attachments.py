"""Adding attachments to an invoice, inside the caller's transaction.

Entry point for every channel that brings attachments (PDF deposit, completion of a suspended
invoice): the caller has already checked who may do it and locked the invoice; this checks
the files (:func:`~chorus_invoices.domain.attachments.check_attachments`, the invoice's total
included) and keeps them behind the document store, in the caller's transaction, so a refusal
or a later failure keeps nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from chorus_invoices.domain.attachments import (
    AttachmentPolicy,
    AttachmentUpload,
    check_attachments,
)
from chorus_invoices.store.documents import (
    DocumentInfo,
    DocumentRole,
    DocumentStore,
    PostgresDocumentStore,
    new_document,
)


async def add_attachments(
    conn: asyncpg.Connection,
    invoice_id: str,
    uploads: Sequence[AttachmentUpload],
    *,
    policy: AttachmentPolicy | None = None,
    store: DocumentStore | None = None,
    at: datetime | None = None,
) -> list[DocumentInfo]:
    """Keeps ``uploads`` as ATTACHMENT documents of the invoice; their infos, in order.

    Call within ``conn.transaction()``. InvalidArgument: the reasons of check_attachments
    (ATTACHMENT_*, ATTACHMENTS_TOO_LARGE), nothing kept then.
    """
    policy = policy or AttachmentPolicy()
    store = store or PostgresDocumentStore()
    at = at or datetime.now(UTC)
    if not uploads:
        return []
    check_attachments(uploads, await store.attachments_size(conn, invoice_id), policy)
    infos = []
    for upload in uploads:
        document = new_document(
            str(uuid.uuid4()),
            DocumentRole.ATTACHMENT,
            upload.filename,
            upload.media_type,
            upload.content,
            at,
        )
        await store.add_attachment(conn, invoice_id, document)
        infos.append(document.info)
    return infos
