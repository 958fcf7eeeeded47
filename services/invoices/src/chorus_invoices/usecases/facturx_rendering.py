"""The Factur-X of a portal invoice (CII EN 16931 inside a PDF/A-3), rendered in a document
worker process when the invoice enters DEPOSEE (deposit, submitted draft, recycling), and kept
as its FACTURX document in the transaction of that change."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from chorus_invoices.documents.content import buyer_of, model_of_content, seller_of
from chorus_invoices.documents.facturx import make_facturx_model
from chorus_invoices.documents.workers import DocumentWorkers
from chorus_invoices.domain import en16931
from chorus_invoices.domain.documents import Document, DocumentRole, new_document
from chorus_invoices.domain.invoice import Invoice
from chorus_invoices.domain.routing import Recipient

_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class FacturxRenderer:
    def __init__(self, workers: DocumentWorkers | None) -> None:
        """``workers`` render the Factur-X (None: no rendering, e.g. tests of the rest)."""
        self._workers = workers

    async def render(
        self, invoice: Invoice, supplier: Recipient | None, recipient: Recipient
    ) -> list[Document]:
        """The invoice's Factur-X, rendered in a worker process ([] without workers)."""
        if self._workers is None:
            return []
        # The whole model (entered on the portal, parties from the directory); for an invoice
        # stored before the model was kept (a draft submitted or recycled), a minimal one.
        model = model_of_content(
            invoice.content,
            seller_of(supplier) if supplier else en16931.Seller(name=invoice.supplier.name),
            buyer_of(recipient),
        )
        facturx = await self._workers.run(make_facturx_model, model)
        name = _FILENAME_UNSAFE.sub("-", invoice.content.number)
        return [
            new_document(
                str(uuid.uuid4()),
                DocumentRole.FACTURX,
                f"facture-{name}.pdf",
                "application/pdf",
                facturx.pdf,
                datetime.now(UTC),
            )
        ]
