"""Notification preferences: REST models and their mapping from ``chorus.notifications.v1``."""

from __future__ import annotations

from chorus.notifications.v1 import notifications_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_edge.conversions import RequestModel
from chorus_edge.enums import ProtoEnum

INVOICE_EMAIL_FREQUENCY = ProtoEnum(pb.InvoiceEmailFrequency)
InvoiceEmailFrequency = INVOICE_EMAIL_FREQUENCY.rest

_FREQUENCY_DESCRIPTION = (
    "How invoice e-mails (status changes, invoices received or completed) reach the caller:"
    " IMMEDIATE (one e-mail per event, the default), HOURLY or DAILY (one digest e-mail per"
    " hour or per Paris day listing the invoices and their new statuses). Account security"
    " e-mails always go at once."
)


class NotificationPreferences(BaseModel):
    email: dict[str, bool] = Field(
        description=(
            "Notification kind → whether it is e-mailed. GET lists every optional kind; "
            "PUT may give only the kinds to change. Account security e-mails are mandatory."
        ),
        examples=[{"INVOICE_RECEIVED": True, "INVOICE_STATUS_CHANGED": False}],
    )
    invoice_email_frequency: InvoiceEmailFrequency | None = Field(
        None, description=_FREQUENCY_DESCRIPTION, examples=["DAILY"]
    )


class NotificationPreferencesUpdate(RequestModel):
    email: dict[str, bool] = Field(
        default_factory=dict,
        description="Notification kind → whether to e-mail it; kinds left out keep theirs.",
        examples=[{"INVOICE_STATUS_CHANGED": False}],
    )
    invoice_email_frequency: InvoiceEmailFrequency | None = Field(
        None, description=_FREQUENCY_DESCRIPTION + " Left out: unchanged.", examples=["HOURLY"]
    )


def preferences(response) -> NotificationPreferences:
    return NotificationPreferences(
        email=dict(response.email),
        invoice_email_frequency=INVOICE_EMAIL_FREQUENCY.to_rest(response.invoice_email_frequency),
    )
