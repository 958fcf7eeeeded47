"""Who may see and act on an invoice, asked of structures (the authority on access).

The supplier side acts through space ``FACTURES_EMISES`` of the supplier structure, the
recipient side through ``FACTURES_RECUES`` of the recipient structure; MODIFICATION to act,
CONSULTATION to read. The recipient sees an invoice only once it has been made available to
it (no drafts, nothing still being routed). Whoever may not see an invoice is told it does
not exist: :meth:`InvoiceAccess.visible` and :meth:`InvoiceAccess.acting` are how every use
case finds the invoice it was asked about.
"""

from __future__ import annotations

import uuid

from chorus_platform.unit_of_work import UnitOfWork

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.errors import AccessDenied, InvoiceNotFound
from chorus_invoices.domain.invoice import Invoice, InvoiceRef
from chorus_invoices.domain.lifecycle import Party
from chorus_invoices.store import invoices

SUPPLIER_SPACE = "FACTURES_EMISES"
RECIPIENT_SPACE = "FACTURES_RECUES"
CONSULTATION = "CONSULTATION"
MODIFICATION = "MODIFICATION"

# Actions some RPC performs (the ROUTE and DELIVER of the system are no caller's).
AVAILABLE_ACTIONS = frozenset(
    {"SUBMIT", "COMPLETE", "RECYCLE"}
    | {t.action for t in lifecycle.TRANSITIONS if t.party is Party.RECIPIENT}
)


NOT_ISSUER = "Vous n'êtes pas habilité à émettre des factures pour cette structure."
"""Why a caller without FACTURES_EMISES in MODIFICATION on the supplier is refused."""


def parse_invoice_id(invoice_id: str) -> str:
    """The canonical form of an invoice id; InvoiceNotFound for anything but a UUID."""
    try:
        return str(uuid.UUID(invoice_id))
    except ValueError:
        raise InvoiceNotFound() from None


class InvoiceAccess:
    def __init__(self, uow: UnitOfWork, structures: StructuresClient) -> None:
        self._uow = uow
        self._structures = structures

    async def visible(
        self, user_id: str, invoice_id: InvoiceRef, *, details: bool = False
    ) -> Invoice:
        """The invoice if ``user_id`` may see it (``details``: with lines and VAT breakdown);
        InvoiceNotFound otherwise, malformed ids included. ``invoice_id``: the UUID, or the
        integer ``cpp_id``."""
        async with self._uow.reading() as conn:
            if isinstance(invoice_id, int):
                found = await invoices.id_of(conn, invoice_id)
                invoice = await invoices.get(conn, found, details=details) if found else None
            else:
                invoice = await invoices.get(conn, parse_invoice_id(invoice_id), details=details)
        if invoice is None or not await self.can_see(user_id, invoice):
            raise InvoiceNotFound()
        return invoice

    async def acting(
        self, user_id: str, invoice_id: InvoiceRef, party: Party, denied: str = NOT_ISSUER
    ) -> Invoice:
        """The invoice (without lines) if ``user_id`` holds ``party``'s side of it in
        MODIFICATION: InvoiceNotFound when they may not see it, AccessDenied(``denied``) when
        they see it but may not act."""
        invoice = await self.visible(user_id, invoice_id)
        if not await self.acts_as(user_id, invoice, party, MODIFICATION):
            raise AccessDenied(denied)
        return invoice

    async def acts_as(self, user_id: str, invoice: Invoice, party: Party, mode: str) -> bool:
        """Does ``user_id`` hold ``party``'s side of ``invoice`` with ``mode``?"""
        if party is Party.SUPPLIER:
            structure, space = invoice.supplier.structure_id, SUPPLIER_SPACE
        elif party is Party.RECIPIENT and lifecycle.STATUSES[invoice.status].visible_to_recipient:
            structure, space = invoice.recipient.structure_id, RECIPIENT_SPACE
        else:
            return False
        if not await self._structures.may(user_id, structure, space, mode):
            return False
        if party is Party.RECIPIENT:
            return await self._within_services(user_id, invoice, mode)
        return True

    async def _within_services(self, user_id: str, invoice: Invoice, mode: str) -> bool:
        """A recipient-side user limited to some services only handles their invoices."""
        limits = await self._structures.accessible(user_id, RECIPIENT_SPACE, mode)
        codes = limits.get(invoice.recipient.structure_id, ())
        wanted = invoice.content.service_code.casefold()
        return not codes or any(code.casefold() == wanted for code in codes)

    async def can_see(self, user_id: str, invoice: Invoice) -> bool:
        return await self.acts_as(
            user_id, invoice, Party.SUPPLIER, CONSULTATION
        ) or await self.acts_as(user_id, invoice, Party.RECIPIENT, CONSULTATION)

    async def allowed_actions(self, user_id: str, invoice: Invoice) -> list[str]:
        """The lifecycle table's moves out of the invoice's status that ``user_id`` may make,
        plus DELETE (a draft) and ACKNOWLEDGE_REJECTION (a rejection not yet acknowledged)."""
        held: dict[Party, bool] = {}

        async def holds(party: Party) -> bool:
            if party not in held:
                held[party] = await self.acts_as(user_id, invoice, party, MODIFICATION)
            return held[party]

        actions = [
            step.action
            for step in lifecycle.transitions_from(invoice.status)
            if step.action in AVAILABLE_ACTIONS and await holds(step.party)
        ]
        if invoice.status is lifecycle.Status.BROUILLON and await holds(Party.SUPPLIER):
            actions.append(lifecycle.DELETE_DRAFT)
        unacknowledged = (
            invoice.status is lifecycle.Status.REJETEE and invoice.rejection_acknowledged_at is None
        )
        if unacknowledged and await holds(Party.SUPPLIER):
            actions.append(lifecycle.ACKNOWLEDGE_REJECTION)
        return actions
