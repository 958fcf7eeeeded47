"""Reading invoices: one invoice, a page of a list, a status history — only what the caller
may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from chorus_platform.errors import NotFound
from chorus_platform.unit_of_work import UnitOfWork

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.documents.workers import DocumentWorkers
from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.documents import (
    DOWNLOADABLE_ROLES,
    Document,
    DocumentInfo,
    DocumentRole,
)
from chorus_invoices.domain.errors import (
    DocumentInPreparation,
    DocumentNotFound,
    DocumentRoleInvalid,
    DocumentsPurged,
)
from chorus_invoices.domain.invoice import HistoryEntry, Invoice, InvoiceFilter, InvoiceRef
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.domain.listing import ListCriteria, ListOrder, check_order_paging
from chorus_invoices.domain.rule_violations import RuleViolation
from chorus_invoices.store import (
    document_purge,
    facturx_renderings,
    history,
    invoices,
    rule_warnings,
)
from chorus_invoices.store.documents import DocumentStore, PostgresDocumentStore
from chorus_invoices.usecases.access import (
    CONSULTATION,
    RECIPIENT_SPACE,
    SUPPLIER_SPACE,
    InvoiceAccess,
)
from chorus_invoices.usecases.facturx_rendering import RenderingMode, render_on_demand

Cursor = tuple[datetime, str]


class Reading:
    def __init__(
        self,
        uow: UnitOfWork,
        structures: StructuresClient,
        store: DocumentStore | None = None,
        *,
        workers: DocumentWorkers | None = None,
        rendering: RenderingMode = "queued",
    ) -> None:
        """``rendering``: when portal invoices' Factur-X PDFs are rendered; ``on_demand``
        renders one at its first download in ``workers`` (required then)."""
        if rendering == "on_demand" and workers is None:
            raise ValueError("on-demand rendering needs document workers")
        self._uow = uow
        self._structures = structures
        self._access = InvoiceAccess(uow, structures)
        self._store = store or PostgresDocumentStore()
        self._workers = workers
        self._on_demand = rendering == "on_demand"

    async def invoice(self, user_id: str, invoice_id: InvoiceRef) -> tuple[Invoice, list[str]]:
        """The invoice and the actions the caller may take on it; InvoiceNotFound."""
        invoice = await self._access.visible(user_id, invoice_id, details=True)
        return invoice, await self._access.allowed_actions(user_id, invoice)

    async def kept_with(self, invoice: Invoice) -> KeptWith:
        """The EN 16931 warnings and the documents of an invoice the caller may see, and
        whether its Factur-X is still being rendered (``queued`` mode). In ``on_demand`` mode
        a portal invoice whose Factur-X is not rendered yet lists it all the same, as
        :func:`to_render_on_demand` describes it (its first download renders it)."""
        async with self._uow.reading() as conn:
            warnings = await rule_warnings.of_invoice(conn, invoice.id)
            documents = await self._store.infos(conn, invoice.id)
            if self._on_demand:
                return KeptWith(warnings, _with_facturx_to_render(documents), False)
            return KeptWith(warnings, documents, await facturx_renderings.pending(conn, invoice.id))

    async def document(self, user_id: str, invoice_id: InvoiceRef, role: str = "") -> Document:
        """The invoice's document of ``role`` (FACTURX, ORIGINAL, CII), or its main one ("":
        Factur-X, else the deposited file); InvalidArgument DOCUMENT_ROLE_INVALID,
        InvoiceNotFound, DocumentNotFound (DocumentsPurged once the retention deleted them).
        The Factur-X asked for (or the main document of a
        portal invoice) not rendered yet: in ``on_demand`` mode rendered now from its CII
        XML in the document workers and stored (Unavailable DOCUMENT_WORKERS_STARTING while
        they start, FACTURX_RENDERING_FAILED when they fail on it), only once the caller's
        access is checked; in ``queued`` mode
        Unavailable DOCUMENT_IN_PREPARATION while the job renders it. The first download by
        a recipient-side user is recorded (``recipient_downloaded_at``)."""
        wanted = _role(role)
        invoice = await self._access.visible(user_id, invoice_id)
        async with self._uow.reading() as conn:
            document = await self._kept(conn, invoice.id, wanted)
            rendering = document is None and wanted in (None, DocumentRole.FACTURX)
            queued = rendering and not self._on_demand
            if queued:
                if await facturx_renderings.pending(conn, invoice.id):
                    raise DocumentInPreparation()
                # Not pending: the job may have stored it since the first read.
                document = await self._kept(conn, invoice.id, wanted)
        if rendering and self._on_demand:
            assert self._workers is not None
            document = await render_on_demand(self._uow, self._workers, self._store, invoice.id)
        if document is None:
            async with self._uow.reading() as conn:
                purged = await document_purge.documents_purged_at(conn, invoice.id)
            raise DocumentsPurged() if purged is not None else DocumentNotFound()
        if invoice.recipient_downloaded_at is None and await self._access.acts_as(
            user_id, invoice, Party.RECIPIENT, CONSULTATION
        ):
            async with self._uow.transaction() as tx:
                await invoices.mark_downloaded_by_recipient(tx.conn, invoice.id)
        return document

    async def _kept(
        self, conn: asyncpg.Connection, invoice_id: str, wanted: DocumentRole | None
    ) -> Document | None:
        if wanted is None:
            return await self._store.main(conn, invoice_id)
        return await self._store.by_role(conn, invoice_id, wanted)

    async def attachment(self, user_id: str, invoice_id: str, document_id: str) -> Document:
        """One attachment of an invoice the caller may see; InvoiceNotFound, NotFound
        ATTACHMENT_NOT_FOUND."""
        invoice = await self._access.visible(user_id, invoice_id)
        try:
            document_id = str(uuid.UUID(document_id))
        except ValueError:
            raise _attachment_not_found() from None
        async with self._uow.reading() as conn:
            document = await self._store.attachment(conn, invoice.id, document_id)
        if document is None:
            raise _attachment_not_found()
        return document

    async def history(self, user_id: str, invoice_id: InvoiceRef) -> list[HistoryEntry]:
        """The invoice's status history, oldest first; InvoiceNotFound."""
        invoice = await self._access.visible(user_id, invoice_id)
        async with self._uow.reading() as conn:
            return await history.entries(conn, invoice.id)

    async def page(
        self,
        user_id: str,
        *,
        received: bool,
        structure_id: str,
        statuses: frozenset[Status] = frozenset(),
        number_prefix: str = "",
        limit: int,
        after: Cursor | None = None,
        page_number: int = 0,
        criteria: ListCriteria | None = None,
        order: ListOrder | None = None,
    ) -> InvoicePage:
        """Up to ``limit`` invoices of the structures the caller may consult on that side, in
        ``statuses`` (empty: any), newest first (or in ``order``, paging by number only:
        InvalidArgument FILTER_INVALID otherwise), with how many match in all: after the keyset
        position ``after`` (with the cursor of the next page, None on the last one), or page
        ``page_number`` (1-based) of pages of ``limit``."""
        order = order or ListOrder()
        check_order_paging(order, numbered=page_number > 0)
        space = RECIPIENT_SPACE if received else SUPPLIER_SPACE
        accessible = await self._structures.accessible(user_id, space, CONSULTATION)
        if structure_id:
            accessible = {s: c for s, c in accessible.items() if s == structure_id}
        # A recipient-side user limited to some services sees only those services' invoices.
        structure_ids = [s for s, codes in accessible.items() if not received or not codes]
        limited = tuple((s, code) for s, codes in accessible.items() if received for code in codes)
        visible = [
            s
            for s, info in lifecycle.STATUSES.items()
            if (info.visible_to_recipient or not received) and (not statuses or s in statuses)
        ]
        if not (structure_ids or limited) or not visible:
            return InvoicePage([], None, 0)
        wanted = InvoiceFilter(
            structure_ids=tuple(structure_ids),
            service_limited=limited,
            received=received,
            statuses=tuple(visible),
            number_prefix=number_prefix,
            after=None if page_number else after,
            offset=(page_number - 1) * limit if page_number else None,
            limit=limit + 1,
            criteria=criteria or ListCriteria(),
            order=order,
        )
        async with self._uow.reading(snapshot=True) as conn:
            found = await invoices.page(conn, wanted)
            total = await invoices.count(conn, wanted)
        if page_number or len(found) <= limit:
            return InvoicePage(found[:limit], None, total)
        found = found[:limit]
        return InvoicePage(found, invoices.cursor_of(found[-1]), total)


@dataclass(frozen=True)
class KeptWith:
    """What is kept with an invoice besides its data."""

    warnings: list[RuleViolation]
    documents: list[DocumentInfo]
    facturx_pending: bool
    """Its Factur-X is queued for rendering (a portal invoice just deposited, ``queued``
    mode; never in ``on_demand`` mode)."""


def to_render_on_demand(cii: DocumentInfo) -> DocumentInfo:
    """How a portal invoice's Factur-X not rendered yet is listed (``on_demand`` mode): its
    file name and media type, the created_at of the CII XML it will embed, no id, size 0 and
    no sha256 (none exists before its first download renders and stores it)."""
    return DocumentInfo(
        "",
        DocumentRole.FACTURX,
        cii.filename.removesuffix(".xml") + ".pdf",
        "application/pdf",
        0,
        "",
        cii.created_at,
    )


def _with_facturx_to_render(documents: list[DocumentInfo]) -> list[DocumentInfo]:
    """``documents``, with the Factur-X to render on demand last (where it comes once
    rendered) when they hold a CII XML but no FACTURX (a portal invoice not downloaded
    yet)."""
    roles = {d.role for d in documents}
    if DocumentRole.CII not in roles or DocumentRole.FACTURX in roles:
        return documents
    cii = next(d for d in documents if d.role == DocumentRole.CII)
    return [*documents, to_render_on_demand(cii)]


def _role(role: str) -> DocumentRole | None:
    """The role a download asks for (None: the main document)."""
    if not role:
        return None
    try:
        wanted = DocumentRole(role.strip().upper())
    except ValueError:
        raise DocumentRoleInvalid(role) from None
    if wanted not in DOWNLOADABLE_ROLES:
        raise DocumentRoleInvalid(role)
    return wanted


@dataclass(frozen=True)
class InvoicePage:
    invoices: list[Invoice]
    next_cursor: Cursor | None
    """Where the next page starts (keyset paging), None on the last page."""
    total: int
    """How many invoices match, every page together."""


def _attachment_not_found() -> NotFound:
    return NotFound("ATTACHMENT_NOT_FOUND", "Cette pièce jointe n'existe pas pour cette facture.")
