"""What waits on a manager (the portal's home): per structure the caller manages, how many
attachment requests and space subscriptions await a decision, counted in one snapshot.
Only managed structures are counted: a simple user, or a technical account, has none."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.domain.access import Caller
from chorus_structures.store import memberships, pending_counts


@dataclass(frozen=True)
class PendingRequests:
    structure_id: UUID
    attachment_requests: int
    subscriptions: int


class PendingRequestsSummary:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def of_caller(self, caller: Caller) -> list[PendingRequests]:
        """Every structure the caller manages (raison sociale order) with its pending counts;
        empty for a technical account (never a manager)."""
        if caller.is_technical:
            return []
        async with self._uow.reading(snapshot=True) as conn:
            rows = await memberships.memberships_of_user(conn, caller.user_id)
            managed = [row.structure_id for row in rows if row.role.is_manager]
            if not managed:
                return []
            attachments = await pending_counts.attachment_requests(conn, managed)
            subscriptions = await pending_counts.subscriptions(conn, managed)
        return [PendingRequests(s, attachments.get(s, 0), subscriptions.get(s, 0)) for s in managed]
