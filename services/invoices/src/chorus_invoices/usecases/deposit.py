"""Deposit on the portal: create an invoice (draft or deposited) and submit a draft.

Everything is checked before anything is written — shape, the caller's right to issue for the
supplier, the recipient and its routing parameters — so a refused invoice leaves no trace.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import asyncpg

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.errors import AccessDenied, InvoiceNotFound, invalid
from chorus_invoices.domain.invoice import Invoice, InvoiceContent, StructureRef
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.domain.routing import Recipient, check_routing
from chorus_invoices.domain.validation import InvoiceForm, RecipientRef, validate_invoice
from chorus_invoices.events import status_changes
from chorus_invoices.store import invoices
from chorus_invoices.usecases.access import (
    MODIFICATION,
    SUPPLIER_SPACE,
    InvoiceAccess,
    parse_invoice_id,
)

_NOT_ISSUER = "Vous n'êtes pas habilité à émettre des factures pour cette structure."


class Deposits:
    def __init__(self, pool: asyncpg.Pool, structures: StructuresClient) -> None:
        self._pool = pool
        self._structures = structures
        self._access = InvoiceAccess(structures)

    async def create(self, user_id: str, form: InvoiceForm, *, draft: bool) -> Invoice:
        """Stores a new invoice as BROUILLON (draft) or DEPOSEE (announced by InvoiceSubmitted).

        InvalidArgument (shape, recipient, routing), AccessDenied, InvoiceNumberDuplicate.
        """
        now = datetime.now(UTC)
        valid = validate_invoice(form, today=now.date())
        supplier_id = valid.supplier_structure_id
        if not await self._structures.may(user_id, supplier_id, SUPPLIER_SPACE, MODIFICATION):
            raise AccessDenied(_NOT_ISSUER)
        supplier = await self._structures.structure(supplier_id)
        recipient = await self._recipient(valid.recipient)
        content = self._routed(valid.content, recipient)
        deposited = not draft
        invoice = Invoice(
            id=str(uuid.uuid4()),
            content=content,
            supplier=StructureRef(supplier_id, supplier.raison_sociale if supplier else ""),
            recipient=StructureRef(recipient.structure_id, recipient.raison_sociale),
            totals=content.totals(),
            status=Status.DEPOSEE if deposited else Status.BROUILLON,
            created_by=user_id,
            created_at=now,
            updated_at=now,
            deposited_by=user_id if deposited else "",
            deposited_at=now if deposited else None,
        )
        async with self._pool.acquire() as conn, conn.transaction():
            await status_changes.record_new(conn, invoice, actor=user_id)
        return invoice

    async def submit(self, user_id: str, invoice_id: str) -> Invoice:
        """BROUILLON → DEPOSEE, announced by InvoiceSubmitted; the recipient is checked again.

        InvoiceNotFound, AccessDenied, TransitionNotAllowed, InvalidArgument (routing).
        """
        invoice_id = parse_invoice_id(invoice_id)
        async with self._pool.acquire() as conn:
            invoice = await invoices.get(conn, invoice_id, details=False)
        if invoice is None or not await self._access.can_see(user_id, invoice):
            raise InvoiceNotFound()
        if not await self._access.acts_as(user_id, invoice, Party.SUPPLIER, MODIFICATION):
            raise AccessDenied(_NOT_ISSUER)
        lifecycle.transition(invoice.status, Status.DEPOSEE, Party.SUPPLIER)
        recipient = await self._structures.structure(invoice.recipient.structure_id)
        if recipient is None:
            raise _recipient_not_found()
        check_routing(recipient, invoice.content.service_code, invoice.content.engagement_number)
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await invoices.get(conn, invoice_id, lock=True, details=False)
            await status_changes.move(
                conn,
                locked,
                Status.DEPOSEE,
                party=Party.SUPPLIER,
                actor=user_id,
                at=datetime.now(UTC),
            )
            return await invoices.get(conn, invoice_id)

    async def _recipient(self, ref: RecipientRef) -> Recipient:
        if ref.structure_id:
            recipient = await self._structures.structure(ref.structure_id)
        else:
            recipient = await self._structures.find(ref.identifier_type, ref.identifier)
        if recipient is None:
            raise _recipient_not_found()
        return recipient

    @staticmethod
    def _routed(content: InvoiceContent, recipient: Recipient) -> InvoiceContent:
        service_code = check_routing(recipient, content.service_code, content.engagement_number)
        return replace(content, service_code=service_code)


def _recipient_not_found():
    return invalid(
        "RECIPIENT_NOT_FOUND",
        "recipient",
        "Destinataire introuvable : vérifiez son identifiant (SIRET) dans l'annuaire.",
    )
