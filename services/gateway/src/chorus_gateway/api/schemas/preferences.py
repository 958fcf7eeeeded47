"""Notification preferences: REST models and their mapping from ``chorus.notifications.v1``."""

from __future__ import annotations

from pydantic import BaseModel, Field


class NotificationPreferences(BaseModel):
    email: dict[str, bool] = Field(
        description=(
            "Notification kind → whether it is e-mailed. GET lists every optional kind; "
            "PUT may give only the kinds to change. Account security e-mails are mandatory."
        ),
        examples=[{"INVOICE_RECEIVED": True, "INVOICE_STATUS_CHANGED": False}],
    )


def preferences(email) -> NotificationPreferences:
    return NotificationPreferences(email=dict(email))
