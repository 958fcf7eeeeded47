"""The Factur-X of a portal invoice (CII EN 16931 inside a PDF/A-3), off the request path.

When a portal invoice enters DEPOSEE (deposit, submitted draft, recycling),
:class:`FacturxRenderer` writes its canonical CII XML in the server process (``write_model``
of the model, under a millisecond) and the change's own transaction keeps it as the invoice's
CII document: the deposit answers without waiting for any PDF. Then, as
``CHORUS_FACTURX_RENDERING`` says:

- ``on_demand`` (the default): nothing is queued. The first download of the Factur-X renders
  it from the stored XML in the document workers of the process serving it
  (:func:`render_on_demand`), stores it and serves it; later downloads read the stored PDF.
  Two first downloads at once both render, one PDF is stored (the unique index on documents
  (invoice, role)) and both get that one.
- ``queued``: the transaction also queues the rendering (``store/facturx_renderings.py``)
  for the job below.

:class:`FacturxRenderingJob` (a background job, the ``documents`` role) renders the queued
invoices in the document workers — as many at once as there are workers — and stores each
FACTURX document. Its guarantees:

- **Shared between replicas**: a rendering is claimed with FOR UPDATE SKIP LOCKED and a lease;
  NOTIFY wakes the job at each deposit, and it also polls.
- **Kill-safe**: a job that dies leaves its lease to run out; the rendering is taken again.
  The FACTURX document is stored in the transaction that deletes the queue row, and only by
  the job that still holds the lease, so rendering twice never stores two documents (nor an
  old rendering over a recycled invoice's new one).
- **Never lost**: a failed rendering is retried with a growing delay; after ``max_attempts``
  it stays in the queue as failed, with its error, and is logged as an error. Document
  workers still starting do not spend an attempt.

While the rendering is queued the invoice's Factur-X is "en préparation": GetInvoice says so
and GetInvoiceDocument answers UNAVAILABLE DOCUMENT_IN_PREPARATION (``usecases/reading.py``).
In ``on_demand`` mode the job finds nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Literal

import asyncpg
from chorus_platform.errors import Unavailable
from chorus_platform.transient_errors import classify
from chorus_platform.unit_of_work import UnitOfWork
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from chorus_invoices.documents.cii_writer import write_model
from chorus_invoices.documents.content import buyer_of, model_of_content, seller_of
from chorus_invoices.documents.facturx import make_facturx_of_xml
from chorus_invoices.documents.workers import DocumentWorkers, documents_queue
from chorus_invoices.domain import en16931
from chorus_invoices.domain.documents import Document, DocumentRole, new_document
from chorus_invoices.domain.errors import (
    DocumentCorrupted,
    DocumentInPreparation,
    FacturxRenderingFailed,
)
from chorus_invoices.domain.invoice import Invoice
from chorus_invoices.domain.routing import Recipient
from chorus_invoices.store import facturx_renderings
from chorus_invoices.store.documents import DocumentStore, PostgresDocumentStore

log = logging.getLogger(__name__)

_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_RETRY_DELAY_SECONDS = 300.0
"""A failed rendering waits at most this long before its next attempt."""
BACKLOG_GAUGE = "chorus.invoices.facturx.backlog"
FAILED_COUNTER = "chorus.invoices.facturx.failed"
ON_DEMAND_ATTEMPTS = 3
"""Renderings one on-demand download tries while the invoice's XML keeps being rewritten."""

RenderingMode = Literal["on_demand", "queued"]
"""When a portal invoice's Factur-X is rendered (``CHORUS_FACTURX_RENDERING``)."""


def facturx_filename(invoice_number: str, suffix: str) -> str:
    """``facture-<number>.pdf`` / ``.xml``, the number made safe for a file name."""
    return f"facture-{_FILENAME_UNSAFE.sub('-', invoice_number)}{suffix}"


def facturx_document(xml: Document, pdf: bytes) -> Document:
    """The FACTURX document of ``pdf``, rendered from the CII document ``xml``."""
    return new_document(
        str(uuid.uuid4()),
        DocumentRole.FACTURX,
        xml.info.filename.removesuffix(".xml") + ".pdf",
        "application/pdf",
        pdf,
        datetime.now(UTC),
    )


class FacturxRenderer:
    """Writes a portal invoice's canonical XML and, in ``queued`` mode, queues its Factur-X
    rendering."""

    def __init__(
        self, store: DocumentStore | None = None, *, mode: RenderingMode = "on_demand"
    ) -> None:
        self._store = store or PostgresDocumentStore()
        self.mode: RenderingMode = mode

    def canonical_xml(
        self, invoice: Invoice, supplier: Recipient | None, recipient: Recipient
    ) -> Document:
        """The invoice's CII XML (EN 16931) as its CII document, written here (cheap: no
        worker). The whole model (entered on the portal, parties from the directory); for an
        invoice stored before the model was kept (a draft submitted or recycled), a minimal
        one."""
        model = model_of_content(
            invoice.content,
            seller_of(supplier) if supplier else en16931.Seller(name=invoice.supplier.name),
            buyer_of(recipient),
        )
        return new_document(
            str(uuid.uuid4()),
            DocumentRole.CII,
            facturx_filename(invoice.content.number, ".xml"),
            "application/xml",
            write_model(model),
            datetime.now(UTC),
        )

    async def queue(self, conn: asyncpg.Connection, invoice_id: str, xml: Document) -> None:
        """In the caller's transaction: keeps ``xml`` as the invoice's CII document, drops a
        Factur-X rendered from an earlier XML (a recycled invoice) and, in ``queued`` mode,
        queues the rendering (the job is woken at commit); in ``on_demand`` mode it drops a
        rendering queued before instead (the first download renders)."""
        await self._store.put(conn, invoice_id, xml)
        await self._store.remove(conn, invoice_id, DocumentRole.FACTURX)
        if self.mode == "queued":
            await facturx_renderings.enqueue(conn, invoice_id, xml.info.created_at)
        else:
            await facturx_renderings.drop(conn, invoice_id)


async def render_on_demand(
    uow: UnitOfWork, workers: DocumentWorkers, store: DocumentStore, invoice_id: str
) -> Document | None:
    """The invoice's FACTURX document: the stored one, else rendered now from its CII document
    in ``workers`` and stored (unless another download stored one first: that one is
    returned); None when the invoice has no CII document (not a portal invoice). Unavailable
    DOCUMENT_WORKERS_STARTING (the workers are still starting), FACTURX_RENDERING_FAILED (the
    workers failed on it or overran; logged as an error), DocumentInPreparation (its XML was
    rewritten at each of :data:`ON_DEMAND_ATTEMPTS` renderings: a recycling loop).

    The PDF is stored only if the XML it embeds is still the invoice's CII document (the row
    locked FOR SHARE until commit), so a recycling that rewrites it meanwhile never ends with
    a Factur-X of the old XML."""
    for _ in range(ON_DEMAND_ATTEMPTS):
        async with uow.reading() as conn:
            stored = await store.by_role(conn, invoice_id, DocumentRole.FACTURX)
            xml = None if stored else await store.by_role(conn, invoice_id, DocumentRole.CII)
        if stored is not None or xml is None:
            return stored
        try:
            pdf = await workers.run(make_facturx_of_xml, xml.content)
        except Unavailable:
            raise
        except Exception as error:  # a bug or an overrun, not the caller's doing
            log.error(
                "Factur-X rendering on demand failed",
                extra={"invoice_id": invoice_id, "error_type": type(error).__name__},
            )
            raise FacturxRenderingFailed() from error
        rendered = facturx_document(xml, pdf)
        async with uow.transaction() as tx:
            kept = await store.put_rendered(tx.conn, invoice_id, rendered, xml.info.id)
            # The copy kept is this one, as rendered; else read the one another download kept.
            stored = (
                rendered if kept else await store.by_role(tx.conn, invoice_id, DocumentRole.FACTURX)
            )
        if stored is not None:
            return stored
    raise DocumentInPreparation()


class FacturxRenderingJob:
    """Renders the queued Factur-X PDFs, up to ``concurrency`` at once (a background job)."""

    def __init__(
        self,
        uow: UnitOfWork,
        workers: DocumentWorkers,
        *,
        dsn: str,
        concurrency: int,
        poll_seconds: float,
        lease_seconds: float,
        retry_seconds: float,
        max_attempts: int,
        store: DocumentStore | None = None,
        meter: metrics.Meter | None = None,
    ) -> None:
        """``dsn``: where to LISTEN for the queue's NOTIFY (a connection of its own).

        Metrics: :data:`BACKLOG_GAUGE`, the renderings still to do (refreshed every
        ``poll_seconds``: what an autoscaler of the ``documents`` role reads), and
        :data:`FAILED_COUNTER`, the renderings kept failed for good."""
        self._uow = uow
        self._workers = workers
        self._dsn = dsn
        self._slots = asyncio.Semaphore(concurrency)
        self._poll = poll_seconds
        self._lease = lease_seconds
        self._retry = retry_seconds
        self._max_attempts = max_attempts
        self._store = store or PostgresDocumentStore()
        self._woken = asyncio.Event()
        self._rendering: set[asyncio.Task] = set()
        self.backlog = 0
        """Renderings still to do when last counted."""
        self._counted_at = float("-inf")
        meter = meter or metrics.get_meter("chorus_invoices")
        meter.create_observable_gauge(
            BACKLOG_GAUGE,
            callbacks=[self._observe_backlog],
            unit="{invoice}",
            description="Portal invoices whose Factur-X is still to be rendered.",
        )
        self._failed_for_good = meter.create_counter(
            FAILED_COUNTER,
            unit="{invoice}",
            description="Factur-X renderings that failed every attempt (kept, not retried).",
        )

    def wake(self) -> None:
        """A rendering was queued: look now rather than at the next poll."""
        self._woken.set()

    async def run(self) -> None:
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(facturx_renderings.listening(self._dsn, self.wake))
            except (OSError, asyncpg.PostgresError) as error:
                log.warning(
                    "Factur-X rendering job polls only: no NOTIFY listener",
                    extra={"error_type": type(error).__name__},
                )
            try:
                await self._loop()
            finally:
                for task in list(self._rendering):
                    task.cancel()

    def _observe_backlog(self, options: CallbackOptions):
        yield Observation(self.backlog)

    async def count_backlog(self) -> int:
        """Counts the renderings still to do (:attr:`backlog`)."""
        async with self._uow.reading() as conn:
            self.backlog = await facturx_renderings.backlog(conn)
        documents_queue.set(self.backlog, {"queue": "rendering"})
        self._counted_at = asyncio.get_running_loop().time()
        return self.backlog

    async def _loop(self) -> None:
        while True:
            if asyncio.get_running_loop().time() - self._counted_at >= self._poll:
                with contextlib.suppress(Exception):  # a database outage: counted later
                    await self.count_backlog()
            await self._slots.acquire()
            self._woken.clear()  # a wake-up from now on is for a rendering this claim may miss
            try:
                claim = await self._claim()
            except Exception as error:  # the loop outlives a database outage
                log.warning(
                    "Factur-X rendering claim failed",
                    exc_info=classify(error) is None,
                    extra={"error_type": type(error).__name__},
                )
                claim = None
            if claim is None:
                self._slots.release()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._woken.wait(), self._poll)
                continue
            task = asyncio.get_running_loop().create_task(self._render_releasing(claim))
            self._rendering.add(task)
            task.add_done_callback(self._rendering.discard)

    async def render_next(self) -> bool:
        """Claims and renders one due rendering; False when none is due (tests, tools)."""
        claim = await self._claim()
        if claim is None:
            return False
        await self.render(claim)
        return True

    async def _claim(self) -> facturx_renderings.Claim | None:
        async with self._uow.transaction() as tx:
            return await facturx_renderings.claim(tx.conn, self._lease)

    async def _render_releasing(self, claim: facturx_renderings.Claim) -> None:
        try:
            await self.render(claim)
        except Exception:  # its outcome is in the queue row; the job goes on
            log.warning("Factur-X rendering step failed", exc_info=True)
        finally:
            self._slots.release()

    async def render(self, claim: facturx_renderings.Claim) -> None:
        """Renders the claimed invoice's Factur-X from its CII document and stores it (if the
        claim still holds the lease), or records the failure."""
        try:
            async with self._uow.reading() as conn:
                xml = await self._store.by_role(conn, claim.invoice_id, DocumentRole.CII)
        except (DocumentCorrupted, Unavailable) as error:  # its XML unreadable, for now or good
            await self._failed(claim, error)
            return
        if xml is None:  # nothing to render from: not an invoice of the portal any more
            async with self._uow.transaction() as tx:
                await facturx_renderings.finish(tx.conn, claim)
            return
        try:
            pdf = await self._workers.run(make_facturx_of_xml, xml.content)
        except Exception as error:
            await self._failed(claim, error)
            return
        document = facturx_document(xml, pdf)
        try:
            async with self._uow.transaction() as tx:
                if await facturx_renderings.finish(tx.conn, claim):
                    await self._store.put(tx.conn, claim.invoice_id, document)
                    return
        except Unavailable as error:  # the object storage: rolled back, the row is still there
            await self._failed(claim, error)
            return
        log.info("Factur-X rendered after its lease was lost; dropped", extra=_logged(claim))

    async def _failed(self, claim: facturx_renderings.Claim, error: Exception) -> None:
        reason = getattr(error, "reason", "") or type(error).__name__
        transient = isinstance(error, Unavailable) or classify(error) is not None
        async with self._uow.transaction() as tx:
            if transient:
                await facturx_renderings.retry_later(
                    tx.conn, claim, self._retry, reason, counted=False
                )
            elif claim.attempts >= self._max_attempts:
                await facturx_renderings.fail(tx.conn, claim, reason)
            else:
                delay = min(self._retry * 2 ** (claim.attempts - 1), MAX_RETRY_DELAY_SECONDS)
                await facturx_renderings.retry_later(tx.conn, claim, delay, reason, counted=True)
        if not transient and claim.attempts >= self._max_attempts:
            self._failed_for_good.add(1)
            log.error("Factur-X rendering failed for good", extra=_logged(claim, reason))
        else:
            log.warning("Factur-X rendering failed; retried later", extra=_logged(claim, reason))


def _logged(claim: facturx_renderings.Claim, reason: str = "") -> dict[str, object]:
    extra: dict[str, object] = {"invoice_id": claim.invoice_id, "attempts": claim.attempts}
    if reason:
        extra["reason"] = reason
    return extra
