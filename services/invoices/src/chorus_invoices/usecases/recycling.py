"""Recycling: the supplier re-addresses an invoice the recipient sent back as misaddressed
(A_RECYCLER) and deposits it again with the same number.

The recipient and routing checks are a deposit's
(:func:`chorus_invoices.domain.routing.routed`); a portal invoice's XML is written again for
its new buyer, service and engagement, and its Factur-X queued for rendering again (the old
one dropped). The new routing, the XML, the rendering queued and the move to DEPOSEE
(announced by ``InvoiceSubmitted``, so the invoice is routed again) commit together under the
row lock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from chorus_platform.unit_of_work import UnitOfWork

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.documents import PORTAL_ROLES, Document
from chorus_invoices.domain.errors import RecipientNotFound
from chorus_invoices.domain.forms import RecipientRef
from chorus_invoices.domain.invoice import Invoice, InvoiceContent, InvoiceRef, StructureRef
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.domain.routing import Recipient, routed
from chorus_invoices.store import invoices
from chorus_invoices.store.documents import DocumentStore, PostgresDocumentStore
from chorus_invoices.usecases import status_changes
from chorus_invoices.usecases.access import InvoiceAccess
from chorus_invoices.usecases.deposit import with_parties
from chorus_invoices.usecases.facturx_rendering import FacturxRenderer


class Recycling:
    def __init__(
        self,
        uow: UnitOfWork,
        structures: StructuresClient,
        renderer: FacturxRenderer,
        store: DocumentStore | None = None,
    ) -> None:
        self._uow = uow
        self._structures = structures
        self._access = InvoiceAccess(uow, structures)
        self._renderer = renderer
        self._store = store or PostgresDocumentStore()

    async def recycle(
        self,
        user_id: str,
        invoice_id: InvoiceRef,
        *,
        recipient_structure_id: str,
        service_code: str,
        engagement_number: str,
    ) -> Invoice:
        """A_RECYCLER → DEPOSEE to a corrected recipient / service / engagement, same number,
        announced by InvoiceSubmitted (so it is routed again). ``""`` keeps the current value
        (the service code only when the recipient stays). The recipient and routing checks are
        those of a deposit. InvoiceNotFound, AccessDenied, TransitionNotAllowed,
        InvalidArgument (recipient, routing).
        """
        invoice = await self._access.acting(user_id, invoice_id, Party.SUPPLIER)
        lifecycle.transition(invoice.status, Status.DEPOSEE, Party.SUPPLIER)
        current = invoice.recipient.structure_id
        target_id = recipient_structure_id or current
        recipient = await self._structures.recipient(RecipientRef(structure_id=target_id))
        if recipient is None:
            raise RecipientNotFound()
        supplier = await self._structures.structure(invoice.supplier.structure_id)
        kept_service = invoice.content.service_code if target_id == current else ""
        content = routed(
            replace(
                invoice.content,
                service_code=service_code or kept_service,
                engagement_number=engagement_number or invoice.content.engagement_number,
            ),
            recipient,
            supplier,
        )
        portal, xml = await self._rewritten(invoice.id, content, recipient, supplier)
        async with self._uow.transaction() as tx:
            locked = await status_changes.locked(tx, invoice.id)
            readdressed = _readdressed(locked, content, recipient, supplier if portal else None)
            await invoices.save_routing(tx.conn, readdressed)
            if xml is not None:
                await self._renderer.queue(tx.conn, invoice.id, xml)
            await status_changes.move(
                tx,
                readdressed,
                Status.DEPOSEE,
                party=Party.SUPPLIER,
                actor=user_id,
                at=datetime.now(UTC),
            )
            return await invoices.get(tx.conn, invoice.id)

    async def _rewritten(
        self,
        invoice_id: str,
        content: InvoiceContent,
        recipient: Recipient,
        supplier: Recipient | None,
    ) -> tuple[bool, Document | None]:
        """Whether the invoice was entered on the portal, and then its XML written again for
        its new buyer, service (BT-10) and engagement (BT-13), to replace the old one; (False,
        None) for an invoice deposited as a file, whose document (and model) is the supplier's
        own and stays as it was."""
        async with self._uow.reading() as conn:
            roles = {info.role for info in await self._store.infos(conn, invoice_id)}
            if not roles & PORTAL_ROLES:
                return False, None
            full = await invoices.get(conn, invoice_id)
        readdressed = _readdressed(full, content, recipient, supplier)
        return True, self._renderer.canonical_xml(readdressed, supplier, recipient)


def _readdressed(
    invoice: Invoice,
    content: InvoiceContent,
    recipient: Recipient,
    supplier: Recipient | None = None,
) -> Invoice:
    """``invoice`` sent to ``recipient`` with the service code and engagement of ``content``;
    a portal invoice's model (``supplier`` given) follows: buyer, BT-10, BT-13."""
    readdressed = replace(
        invoice.content,
        service_code=content.service_code,
        engagement_number=content.engagement_number,
    )
    if supplier is not None and readdressed.document is not None:
        readdressed = replace(
            readdressed,
            document=with_parties(readdressed.document, readdressed, supplier, recipient),
        )
    return replace(
        invoice,
        content=readdressed,
        recipient=StructureRef(recipient.structure_id, recipient.raison_sociale),
    )
