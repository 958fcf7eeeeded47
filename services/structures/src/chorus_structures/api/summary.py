"""Handler of what waits on the caller as a manager (the portal's home)."""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb

from chorus_structures.api.handlers import Handlers
from chorus_structures.api.request_fields import current_caller


class SummaryHandlers(Handlers):
    async def SummarizePendingRequests(self, request, context):
        """Per structure the caller manages (raison sociale order), how many attachment
        requests and space subscriptions await a decision (zero included). Empty for a user
        who manages nothing and for a technical account. No errors beyond UNAUTHENTICATED."""
        found = await self._usecases.pending_requests.of_caller(current_caller())
        return pb.SummarizePendingRequestsResponse(
            structures=[
                pb.PendingRequestsSummary(
                    structure_id=str(p.structure_id),
                    attachment_requests=p.attachment_requests,
                    subscriptions=p.subscriptions,
                )
                for p in found
            ]
        )
