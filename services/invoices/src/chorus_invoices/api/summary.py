"""The home's summary RPC of InvoicesService: counts per structure, side and status."""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_platform.auth import current_principal

from chorus_invoices.api import mapping
from chorus_invoices.usecases.summary import InvoiceSummaries


class SummaryRpcs:
    """Part of :class:`~chorus_invoices.api.servicer.InvoicesServicer`."""

    _summary: InvoiceSummaries

    async def SummarizeInvoices(self, request: pb.SummarizeInvoicesRequest, context):
        """Per structure and side the caller may consult (issued first, then received; as
        ListInvoices would list them, so a recipient-side user limited to some services counts
        only theirs), how many invoices are in each status (none: left out), whether the
        status waits on that side (its party has a move out of it) and, issued side, how many
        rejections are not acknowledged. No errors beyond UNAUTHENTICATED."""
        found = await self._summary.of_caller(current_principal().user_id)
        return pb.SummarizeInvoicesResponse(
            summaries=[
                pb.InvoiceSummary(
                    structure_id=s.structure_id,
                    side=pb.LIST_SIDE_RECEIVED if s.received else pb.LIST_SIDE_ISSUED,
                    statuses=[
                        pb.InvoiceStatusCount(
                            status=mapping.status_to_proto(c.status),
                            count=c.count,
                            waiting=c.waiting,
                        )
                        for c in s.statuses
                    ],
                    rejections_to_acknowledge=s.rejections_to_acknowledge,
                )
                for s in found
            ]
        )
