"""What waits in the caller's structures (the portal's home): per structure and side the
caller may consult, how many invoices are in each status, whether that status waits on that
side, and how many rejections the supplier has not acknowledged. Counted in the database
(one grouped query per side), over exactly what ListInvoices would list for the caller."""

from __future__ import annotations

from dataclasses import dataclass

from chorus_platform.unit_of_work import UnitOfWork

from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.invoice import InvoiceFilter
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_invoices.store import invoices
from chorus_invoices.usecases.access import CONSULTATION, RECIPIENT_SPACE, SUPPLIER_SPACE


def waiting_on(party: Party) -> frozenset[Status]:
    """The statuses ``party`` has a move out of (an invoice there waits on that side), from
    the lifecycle table: for the supplier a draft, a suspended invoice, one to recycle; for
    the recipient everything from its making available until the payment."""
    return frozenset(
        t.source for t in lifecycle.TRANSITIONS if t.party is party and t.source is not None
    )


@dataclass(frozen=True)
class StatusCount:
    status: Status
    count: int
    waiting: bool


@dataclass(frozen=True)
class InvoiceSummary:
    structure_id: str
    received: bool
    statuses: list[StatusCount]
    """In the lifecycle table's order; statuses with no invoice left out."""
    rejections_to_acknowledge: int
    """Issued side: REJETEE invoices whose rejection the supplier has not acknowledged."""


class InvoiceSummaries:
    def __init__(self, uow: UnitOfWork, structures: StructuresClient) -> None:
        self._uow = uow
        self._structures = structures

    async def of_caller(self, user_id: str) -> list[InvoiceSummary]:
        """Issued side first, then received; structures with no invoice on a side are left
        out of it. Only the structures (and, for a recipient-side user limited to some
        services, only the services) the caller may consult are counted."""
        found: list[InvoiceSummary] = []
        for received in (False, True):
            wanted = await self._scope(user_id, received=received)
            if wanted is None:
                continue
            async with self._uow.reading(snapshot=True) as conn:
                rows = await invoices.counts_by_status(conn, wanted)
            found.extend(_summaries(rows, received=received))
        return found

    async def _scope(self, user_id: str, *, received: bool) -> InvoiceFilter | None:
        space = RECIPIENT_SPACE if received else SUPPLIER_SPACE
        accessible = await self._structures.accessible(user_id, space, CONSULTATION)
        structure_ids = [s for s, codes in accessible.items() if not received or not codes]
        limited = tuple((s, code) for s, codes in accessible.items() if received for code in codes)
        if not (structure_ids or limited):
            return None
        statuses = tuple(
            s for s, info in lifecycle.STATUSES.items() if info.visible_to_recipient or not received
        )
        return InvoiceFilter(
            structure_ids=tuple(structure_ids),
            service_limited=limited,
            received=received,
            statuses=statuses,
        )


def _summaries(rows: list[tuple[str, Status, int, int]], *, received: bool) -> list[InvoiceSummary]:
    waiting = waiting_on(Party.RECIPIENT if received else Party.SUPPLIER)
    order = list(lifecycle.STATUSES)
    by_structure: dict[str, list[tuple[Status, int, int]]] = {}
    for structure_id, status, count, unacknowledged in rows:
        by_structure.setdefault(structure_id, []).append((status, count, unacknowledged))
    return [
        InvoiceSummary(
            structure_id=structure_id,
            received=received,
            statuses=[
                StatusCount(status, count, status in waiting)
                for status, count, _ in sorted(counts, key=lambda c: order.index(c[0]))
            ],
            rejections_to_acknowledge=0
            if received
            else sum(u for status, _, u in counts if status is Status.REJETEE),
        )
        for structure_id, counts in sorted(by_structure.items())
    ]
