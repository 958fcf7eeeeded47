"""``/me/notification-preferences``: the caller's e-mail preferences over NotificationsService."""

from __future__ import annotations

from fastapi import APIRouter

from chorus_edge.callers import Clients
from chorus_gateway.api.schemas import preferences as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Fil d'événements"])


@router.get("/me/notification-preferences", summary="The caller's e-mail preferences")
async def get_preferences(
    clients: Clients, caller: AuthenticatedCaller
) -> schemas.NotificationPreferences:
    response = await clients.notifications.get_preferences(caller)
    return schemas.preferences(response)


@router.put(
    "/me/notification-preferences",
    summary=(
        "Switch e-mails on or off per notification kind (422 PREFERENCE_KIND_UNKNOWN) and"
        " choose immediate, hourly or daily invoice e-mails (422 VALIDATION_FAILED)"
    ),
)
async def update_preferences(
    body: schemas.NotificationPreferencesUpdate, clients: Clients, caller: AuthenticatedCaller
) -> schemas.NotificationPreferences:
    response = await clients.notifications.update_preferences(
        body.email,
        caller,
        schemas.INVOICE_EMAIL_FREQUENCY.to_proto(body.invoice_email_frequency),
    )
    return schemas.preferences(response)
