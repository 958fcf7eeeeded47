"""Invoice facts notifications reacts to (invoices' events, statuses as codes such as
``DEPOSEE``), and the rules of who is told of a status change and how."""

from __future__ import annotations

from dataclasses import dataclass

MADE_AVAILABLE = "MISE_A_DISPOSITION"
COMPLETED = "COMPLETEE"

FEED_ONLY_STATUSES = frozenset({"EN_COURS_ACHEMINEMENT"})
"""Statuses the depositor is told of in the feed but not by e-mail: the routing step a few
milliseconds after the deposit would otherwise send a depositor of a thousand invoices two
thousand e-mails."""


@dataclass(frozen=True)
class InvoiceSubmission:
    invoice_id: str
    number: str
    gross_total: str
    currency: str
    submitted_by: str
    """The depositing user ("" when not a user)."""


@dataclass(frozen=True)
class StatusChange:
    """One step of an invoice's status machine. Ids are "" when the event carried none;
    ``from_status`` is "" for the first step."""

    invoice_id: str
    number: str
    from_status: str
    to_status: str
    comment: str
    actor: str
    depositor_user_id: str
    recipient_structure_id: str
    supplier_structure_id: str
    service_code: str

    @property
    def emails_depositor(self) -> bool:
        """The depositor gets an e-mail (always a feed item)."""
        return self.to_status not in FEED_ONLY_STATUSES

    @property
    def makes_available(self) -> bool:
        """The invoice reaches the recipient structure: its members are told."""
        return self.to_status == MADE_AVAILABLE

    @property
    def completes(self) -> bool:
        """The supplier answered a suspension: the recipient structure's members are told."""
        return self.to_status == COMPLETED
