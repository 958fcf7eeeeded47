"""Who may see and act on an invoice, asked of structures (the authority on access).

The supplier side acts through space ``FACTURES_EMISES`` of the supplier structure, the
recipient side through ``FACTURES_RECUES`` of the recipient structure; MODIFICATION to act,
CONSULTATION to read. The recipient sees an invoice only once it has been made available to
it (no drafts, nothing still being routed). Whoever may not see an invoice is told it does
not exist.
"""

from __future__ import annotations

import uuid

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.errors import InvoiceNotFound
from chorus_invoices.domain.invoice import Invoice
from chorus_invoices.domain.lifecycle import Party

SUPPLIER_SPACE = "FACTURES_EMISES"
RECIPIENT_SPACE = "FACTURES_RECUES"
CONSULTATION = "CONSULTATION"
MODIFICATION = "MODIFICATION"

# Actions some RPC performs today; grows as the RPCs behind COMPLETE, RECYCLE, MARK_* land.
AVAILABLE_ACTIONS = frozenset({"SUBMIT"})


def parse_invoice_id(invoice_id: str) -> str:
    """The canonical form of an invoice id; InvoiceNotFound for anything but a UUID."""
    try:
        return str(uuid.UUID(invoice_id))
    except ValueError:
        raise InvoiceNotFound() from None


class InvoiceAccess:
    def __init__(self, structures: StructuresClient) -> None:
        self._structures = structures

    async def acts_as(self, user_id: str, invoice: Invoice, party: Party, mode: str) -> bool:
        """Does ``user_id`` hold ``party``'s side of ``invoice`` with ``mode``?"""
        if party is Party.SUPPLIER:
            structure, space = invoice.supplier.structure_id, SUPPLIER_SPACE
        elif party is Party.RECIPIENT and lifecycle.STATUSES[invoice.status].visible_to_recipient:
            structure, space = invoice.recipient.structure_id, RECIPIENT_SPACE
        else:
            return False
        return await self._structures.may(user_id, structure, space, mode)

    async def can_see(self, user_id: str, invoice: Invoice) -> bool:
        return await self.acts_as(
            user_id, invoice, Party.SUPPLIER, CONSULTATION
        ) or await self.acts_as(user_id, invoice, Party.RECIPIENT, CONSULTATION)

    async def allowed_actions(self, user_id: str, invoice: Invoice) -> list[str]:
        """The lifecycle table's moves out of the invoice's status that ``user_id`` may make."""
        actions = []
        for step in lifecycle.transitions_from(invoice.status):
            if step.action in AVAILABLE_ACTIONS and await self.acts_as(
                user_id, invoice, step.party, MODIFICATION
            ):
                actions.append(step.action)
        return actions
