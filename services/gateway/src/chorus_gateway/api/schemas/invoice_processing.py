"""Invoice processing: request bodies of the recipient's and the supplier's actions."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from chorus_edge.conversions import RequestModel
from chorus_edge.invoices import InvoiceStatus


class StatusChangeBody(RequestModel):
    status: InvoiceStatus
    reason: str = Field(
        "", max_length=1000, description="Required for SUSPENDUE, A_RECYCLER and REJETEE."
    )


class CompletionBody(RequestModel):
    comment: str = Field("", max_length=1000, description="What the supplier adds or answers.")


class RecyclingBody(RequestModel):
    recipient_structure_id: UUID | None = Field(None, description="Absent: the same recipient.")
    service_code: str = Field("", max_length=100, description="Empty: keep the current one.")
    engagement_number: str = Field("", max_length=50, description="Empty: keep the current one.")
