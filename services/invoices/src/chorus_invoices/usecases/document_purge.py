"""``chorus-invoices purge-documents``: what may go of invoices' files, and only that.

Three sweeps, each in bounded batches, each idempotent (a second run finds nothing left):

1. **Expired documents**: the documents (rows and contents) of invoices whose last change
   (``updated_at``) is older than ``CHORUS_DOCUMENT_RETENTION_DAYS`` (10 years by default,
   the legal retention of invoices). The invoice rows themselves are kept — lines, totals,
   status history, the events' subjects, the other services' references — and marked
   ``documents_purged_at`` so a download says the files are gone for good instead of "not
   yet". The rows go first, in a transaction; their objects after it commits, so a row
   never names a missing object (an object whose delete fails is an orphan, swept next).
2. **Staged uploads never attached**: staged files past their ``expires_at``
   (``CHORUS_STAGED_ATTACHMENT_TTL_SECONDS`` after their upload).
3. **Orphan objects** (``s3`` store only): objects under ``documents/`` no row names, older
   than :data:`ORPHAN_MIN_AGE` — an object is written before its row, so a younger one may
   belong to a transaction still running. They come from rolled-back deposits, replaced or
   removed documents, deleted drafts, and failed deletes.

``dry_run`` counts what each sweep would delete and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chorus_platform.unit_of_work import UnitOfWork

from chorus_invoices.store import document_purge
from chorus_invoices.store.documents import OBJECT_PREFIX, DocumentStore, S3DocumentStore

log = logging.getLogger("chorus.invoices.purge")

ORPHAN_MIN_AGE = timedelta(hours=1)


@dataclass
class PurgeCounts:
    expired_invoices: int = 0
    expired_documents: int = 0
    staged: int = 0
    orphan_objects: int = 0

    def lines(self, dry_run: bool) -> list[str]:
        verb = "would delete" if dry_run else "deleted"
        return [
            f"expired documents: {verb} {self.expired_documents}"
            f" (of {self.expired_invoices} invoices)",
            f"staged uploads never attached: {verb} {self.staged}",
            f"orphan objects: {verb} {self.orphan_objects}",
        ]


class DocumentPurge:
    def __init__(
        self,
        uow: UnitOfWork,
        store: DocumentStore,
        *,
        retention: timedelta,
        batch_size: int = 500,
    ) -> None:
        self._uow = uow
        self._store = store
        self._retention = retention
        self._batch = batch_size

    async def run(self, *, dry_run: bool = False, now: datetime | None = None) -> PurgeCounts:
        now = now or datetime.now(UTC)
        counts = PurgeCounts()
        await self._expired(counts, now - self._retention, now, dry_run)
        await self._staged(counts, now, dry_run)
        if isinstance(self._store, S3DocumentStore):
            await self._orphans(counts, self._store, now - ORPHAN_MIN_AGE, dry_run)
        log.info(
            "documents purged" if not dry_run else "documents purge (dry run)",
            extra={"dry_run": dry_run, **vars(counts)},
        )
        return counts

    async def _expired(
        self, counts: PurgeCounts, cutoff: datetime, now: datetime, dry_run: bool
    ) -> None:
        if dry_run:
            async with self._uow.reading() as conn:
                invoices, documents = await document_purge.count_expired(conn, cutoff)
            counts.expired_invoices, counts.expired_documents = invoices, documents
            return
        while True:
            async with self._uow.transaction() as tx:
                ids = await document_purge.expired_invoices(tx.conn, cutoff, self._batch)
                if not ids:
                    return
                dropped, keys = await document_purge.drop_documents(tx.conn, ids, now)
            counts.expired_invoices += len(ids)
            counts.expired_documents += dropped
            if keys and isinstance(self._store, S3DocumentStore):
                await self._store.objects.delete(keys)

    async def _staged(self, counts: PurgeCounts, now: datetime, dry_run: bool) -> None:
        if dry_run:
            async with self._uow.reading() as conn:
                counts.staged = await document_purge.count_staged(conn, now)
            return
        while True:
            async with self._uow.transaction() as tx:
                dropped = await document_purge.drop_staged(tx.conn, now, self._batch)
            counts.staged += dropped
            if dropped < self._batch:
                return

    async def _orphans(
        self, counts: PurgeCounts, store: S3DocumentStore, before: datetime, dry_run: bool
    ) -> None:
        async for page in store.objects.pages(OBJECT_PREFIX):
            old = [item.key for item in page if item.last_modified < before]
            if not old:
                continue
            async with self._uow.reading() as conn:
                kept = await document_purge.kept_keys(conn, old)
            orphans = [key for key in old if key not in kept]
            counts.orphan_objects += len(orphans)
            if orphans and not dry_run:
                await store.objects.delete(orphans)
