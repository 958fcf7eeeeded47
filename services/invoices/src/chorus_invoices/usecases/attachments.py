"""Adding attachments to an invoice, inside the caller's transaction; staging them first.

Entry point for every channel that brings attachments (PDF deposit, completion of a suspended
invoice): the caller has already checked who may do it and locked the invoice; this checks
the files (:func:`~chorus_invoices.domain.attachments.check_attachments`, the invoice's total
included) and keeps them behind the document store, in the caller's transaction, so a refusal
or a later failure keeps nothing.

Files may come inline or staged beforehand (:class:`AttachmentStaging`, RPC StageAttachment) so
that up to 120 MB of attachments never travel in one message: a staged file is checked when
uploaded — after the uploader's right to issue for the supplier (or to complete the invoice)
is — belongs to its uploader, and is moved into the invoice's documents (then forgotten) in the
transaction that uses it; the call naming it being refused drops it
(:meth:`AttachmentStaging.dropped_on_refusal`). What one user may keep staged at a time is
bounded (:data:`STAGING_QUOTA_FILES`, and in bytes one invoice's worth of attachments).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
from chorus_platform.errors import (
    DomainError,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
)
from chorus_platform.unit_of_work import UnitOfWork

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.documents.formats import PDF_MAGIC, PDF_MAGIC_WINDOW
from chorus_invoices.domain.attachments import (
    AttachmentPolicy,
    AttachmentUpload,
    StagedAttachment,
    check_attachments,
)
from chorus_invoices.domain.documents import (
    FALLBACK_FILENAMES,
    DocumentInfo,
    DocumentRole,
    new_document,
)
from chorus_invoices.domain.errors import AccessDenied, invalid
from chorus_invoices.domain.filenames import safe_filename
from chorus_invoices.domain.lifecycle import Party
from chorus_invoices.store import staged_attachments
from chorus_invoices.store.documents import DocumentStore, PostgresDocumentStore
from chorus_invoices.usecases.access import (
    MODIFICATION,
    NOT_ISSUER,
    SUPPLIER_SPACE,
    InvoiceAccess,
)


async def add_attachments(
    conn: asyncpg.Connection,
    invoice_id: str,
    uploads: Sequence[AttachmentUpload],
    *,
    staged_ids: Sequence[str] = (),
    owner_user_id: str = "",
    policy: AttachmentPolicy | None = None,
    store: DocumentStore | None = None,
    at: datetime | None = None,
) -> list[DocumentInfo]:
    """Keeps ``uploads``, then the files staged by ``owner_user_id`` under ``staged_ids``, as
    ATTACHMENT documents of the invoice; their infos, in order. The staged files are deleted
    from staging.

    Call within ``conn.transaction()``. InvalidArgument: STAGED_ATTACHMENT_UNKNOWN (someone
    else's, expired, already used or no such file), the reasons of check_attachments
    (ATTACHMENT_*, ATTACHMENTS_TOO_LARGE, staged files counted in the total), nothing kept
    then.
    """
    policy = policy or AttachmentPolicy()
    store = store or PostgresDocumentStore()
    at = at or datetime.now(UTC)
    if not uploads and not staged_ids:
        return []
    staged = await _claim(conn, staged_ids, owner_user_id, at)
    already = await store.attachments_size(conn, invoice_id) + sum(s.size for s in staged)
    check_attachments(uploads, already, policy)
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
    for file in staged:
        content = await staged_attachments.content(conn, file.id)
        document = new_document(
            str(uuid.uuid4()), DocumentRole.ATTACHMENT, file.filename, file.media_type, content, at
        )
        await store.add_attachment(conn, invoice_id, document)
        await staged_attachments.discard(conn, file.id)
        infos.append(document.info)
    return infos


async def _claim(
    conn: asyncpg.Connection, staged_ids: Sequence[str], owner_user_id: str, at: datetime
) -> list[StagedAttachment]:
    """The staged files named, in order, locked; InvalidArgument STAGED_ATTACHMENT_UNKNOWN
    naming each id that is not a usable file of the caller's (a repeated id included)."""
    if not staged_ids:
        return []
    wanted = await _staged_uuids(conn, staged_ids, owner_user_id)
    found = await staged_attachments.claim(
        conn, sorted({i for i in wanted if i}), owner_user_id, at
    )
    staged, seen, unknown = [], set(), []
    for index, staged_id in enumerate(wanted):
        if staged_id is None or staged_id not in found or staged_id in seen:
            unknown.append(index)
            continue
        seen.add(staged_id)
        staged.append(found[staged_id])
    if unknown:
        message = (
            "Cette pièce jointe n'est plus disponible (inconnue, expirée ou déjà utilisée) :"
            " déposez-la de nouveau."
        )
        raise InvalidArgument(
            "STAGED_ATTACHMENT_UNKNOWN",
            "Certaines pièces jointes téléversées ne sont plus disponibles (inconnues, expirées"
            " ou déjà utilisées) : déposez-les de nouveau.",
            [FieldViolation(f"staged_attachment_ids[{i}]", message) for i in unknown],
        )
    return staged


async def take_staged_pdf(
    conn: asyncpg.Connection, staged: StagedAttachment, owner_user_id: str, at: datetime
) -> None:
    """Forgets the staged PDF a deposit was read from (:meth:`AttachmentStaging.staged_pdf`),
    in the deposit's transaction: locked, it must still be there, unchanged. InvalidArgument
    STAGED_ATTACHMENT_UNKNOWN (``staged_pdf_id``) when another call used it meanwhile or it
    expired."""
    found = await staged_attachments.claim(conn, [staged.id], owner_user_id, at)
    taken = found.get(staged.id)
    if taken is None or taken.sha256 != staged.sha256:
        raise invalid(
            "STAGED_ATTACHMENT_UNKNOWN",
            "staged_pdf_id",
            "Ce PDF téléversé vient d'être utilisé par un autre dépôt ou a expiré :"
            " téléversez-le de nouveau.",
        )
    await staged_attachments.discard(conn, staged.id)


# An integer id is a decimal string of at most 18 digits (a bigint, never negative).
_MAX_CPP_DIGITS = 18


async def _staged_uuids(
    conn: asyncpg.Connection, staged_ids: Sequence[str], owner_user_id: str
) -> list[str | None]:
    """Each staged id as the UUID it names (None for what names nothing): a UUID as it is,
    an integer id (``cpp_id``, as a decimal string) through the owner's staged files."""
    numbers = {
        value: int(value)
        for value in (s.strip() for s in staged_ids)
        if value.isascii() and value.isdigit() and len(value) <= _MAX_CPP_DIGITS
    }
    by_number = (
        await staged_attachments.ids_of(conn, sorted(set(numbers.values())), owner_user_id)
        if numbers
        else {}
    )
    found = []
    for value in staged_ids:
        value = value.strip()
        found.append(by_number.get(numbers[value]) if value in numbers else _uuid_or_none(value))
    return found


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


_STAGING_IDS = uuid.UUID("6f0f8d1e-5a57-4c39-9a36-2f1b0e6c7d41")
STAGING_QUOTA_FILES = 50
"""How many files one user may keep staged at once; in bytes, one invoice's attachments
(the policy's total, 120 MB) and one more file."""


class AttachmentStaging:
    """StageAttachment: one file checked and kept for its uploader until it is used or
    expires; expired files are purged whenever a file is staged.

    A file staged with a ``retry_key`` (the Idempotency-Key of the deposit it is for, made
    unique per file by the caller) gets an id derived from (uploader, key, content), so that
    a retried deposit names the same staged ids, i.e. is the same request, and its
    Idempotency-Key replays the first answer instead of being refused as reused. Staging it
    again before it is used only extends its life; after, it stages it anew (unused: the
    replay runs nothing, and it expires).
    """

    def __init__(
        self,
        uow: UnitOfWork,
        structures: StructuresClient,
        *,
        ttl: timedelta = timedelta(hours=1),
        policy: AttachmentPolicy | None = None,
        quota_files: int = STAGING_QUOTA_FILES,
    ) -> None:
        self._uow = uow
        self._structures = structures
        self._access = InvoiceAccess(uow, structures)
        self._ttl = ttl
        self._policy = policy or AttachmentPolicy()
        self._quota_bytes = self._policy.max_total_bytes + self._policy.max_bytes
        self._quota_files = quota_files

    async def stage(
        self,
        user_id: str,
        upload: AttachmentUpload,
        *,
        supplier_structure_id: str = "",
        invoice_id: str = "",
        retry_key: str = "",
    ) -> StagedAttachment:
        """The staged file, for a deposit by ``supplier_structure_id`` or the completion of
        ``invoice_id`` (one of them), whose right is checked first.

        InvalidArgument FIELD_REQUIRED (neither), ATTACHMENT_NAME_INVALID,
        ATTACHMENT_NAME_TOO_LONG, ATTACHMENT_EXTENSION_FORBIDDEN, ATTACHMENT_EMPTY,
        ATTACHMENT_TOO_LARGE (field ``file``); AccessDenied; InvoiceNotFound; ResourceExhausted
        STAGING_QUOTA_EXCEEDED (the caller keeps too much staged already). Nothing kept then."""
        await self._check_purpose(user_id, supplier_structure_id.strip(), invoice_id.strip())
        check_attachments([upload], 0, self._policy, fields=["file"])
        now = datetime.now(UTC)
        # Up to 10 MB: hashed off the event loop (hashlib releases the GIL on large inputs).
        sha256 = await asyncio.to_thread(lambda: hashlib.sha256(upload.content).hexdigest())
        if retry_key:
            name = "\n".join((user_id, retry_key, upload.filename, sha256))
            staged_id = str(uuid.uuid5(_STAGING_IDS, name))
        else:
            staged_id = str(uuid.uuid4())
        staged = StagedAttachment(
            id=staged_id,
            owner_user_id=user_id,
            filename=safe_filename(upload.filename, FALLBACK_FILENAMES[DocumentRole.ATTACHMENT]),
            media_type=upload.media_type,
            size=len(upload.content),
            sha256=sha256,
            created_at=now,
            expires_at=now + self._ttl,
        )
        async with self._uow.transaction() as tx:
            await staged_attachments.purge_expired(tx.conn, now)
            # One stager at a time per user, so concurrent uploads cannot pass the quota.
            await staged_attachments.lock_owner(tx.conn, user_id)
            files, size = await staged_attachments.usage(tx.conn, user_id, now, except_id=staged_id)
            if files + 1 > self._quota_files or size + staged.size > self._quota_bytes:
                raise ResourceExhausted(
                    "STAGING_QUOTA_EXCEEDED",
                    "Trop de pièces jointes en attente d'envoi pour votre compte"
                    f" ({self._quota_files} fichiers ou {self._quota_bytes // 1024**2} Mo"
                    " au plus) :"
                    " déposez d'abord la facture qui les attend, ou réessayez dans une heure.",
                )
            cpp_id = await staged_attachments.insert(tx.conn, staged, upload.content)
        return replace(staged, cpp_id=cpp_id)

    async def staged_pdf(self, user_id: str, staged_id: str) -> tuple[StagedAttachment, bytes]:
        """The PDF ``user_id`` staged under ``staged_id`` (its id, or its integer id as a
        decimal string) and its content, for the PDF deposit that names it as the invoice
        itself (Chorus Pro's ``pieceJointePrincipaleId``). Nothing is taken here:
        :func:`take_staged_pdf` does, in the deposit's transaction.

        InvalidArgument on ``staged_pdf_id``: STAGED_ATTACHMENT_UNKNOWN (not the caller's,
        expired, already used or no such file), STAGED_FILE_NOT_PDF (a file without a PDF
        header)."""
        now = datetime.now(UTC)
        async with self._uow.reading() as conn:
            (wanted,) = await _staged_uuids(conn, [staged_id], user_id)
            found = await staged_attachments.usable(conn, wanted, user_id, now) if wanted else None
        if found is None:
            raise invalid(
                "STAGED_ATTACHMENT_UNKNOWN",
                "staged_pdf_id",
                "Ce PDF téléversé n'est pas disponible (inconnu, expiré, déjà utilisé ou"
                " téléversé par un autre compte) : téléversez-le de nouveau.",
            )
        staged, content = found
        if PDF_MAGIC not in content[:PDF_MAGIC_WINDOW]:
            raise invalid(
                "STAGED_FILE_NOT_PDF",
                "staged_pdf_id",
                f"« {staged.filename} » n'est pas un PDF : la facture déposée en PDF doit être"
                " un fichier PDF (éventuellement Factur-X).",
            )
        return staged, content

    @asynccontextmanager
    async def dropped_on_refusal(
        self, user_id: str, staged_ids: Sequence[str]
    ) -> AsyncIterator[None]:
        """Around a call naming the caller's staged files: drops them if it is refused (a
        DomainError), since they would otherwise wait for their expiry, counting against the
        caller's quota (the caller must upload them again anyway)."""
        try:
            yield
        except DomainError:
            await self.discard(user_id, staged_ids)
            raise

    async def discard(self, user_id: str, staged_ids: Sequence[str]) -> None:
        """Drops the caller's staged files named by a call that was refused (the caller must
        upload them again anyway); ids that are not the caller's are left alone."""
        if not staged_ids:
            return
        async with self._uow.transaction() as tx:
            wanted = [i for i in await _staged_uuids(tx.conn, staged_ids, user_id) if i]
            if wanted:
                await staged_attachments.discard_owned(tx.conn, user_id, wanted)

    async def _check_purpose(self, user_id: str, supplier_id: str, invoice_id: str) -> None:
        if invoice_id:
            await self._access.acting(user_id, invoice_id, Party.SUPPLIER)
        elif supplier_id:
            if not await self._structures.may(user_id, supplier_id, SUPPLIER_SPACE, MODIFICATION):
                raise AccessDenied(NOT_ISSUER)
        else:
            raise invalid(
                "FIELD_REQUIRED",
                "supplier_structure_id",
                "Indiquez la structure émettrice (ou la facture) à laquelle la pièce jointe est"
                " destinée.",
            )
