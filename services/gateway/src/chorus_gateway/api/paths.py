"""Resource ids in paths: a malformed id names nothing, so it answers 404 without a call."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path

from chorus_edge.problems import ProblemError


def known_id(value: str, what: str) -> str:
    """``value`` as a canonical UUID string; 404 NOT_FOUND when it is not a UUID."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ProblemError(404, "NOT_FOUND", f"{what} introuvable : identifiant inconnu.") from None


def _structure_id(structure_id: Annotated[str, Path(description="Structure id (UUID).")]) -> str:
    return known_id(structure_id, "Structure")


def _invoice_id(invoice_id: Annotated[str, Path(description="Invoice id (UUID).")]) -> str:
    return known_id(invoice_id, "Facture")


def _feed_item_id(item_id: Annotated[str, Path(description="Feed item id (UUID).")]) -> str:
    return known_id(item_id, "Événement")


StructureId = Annotated[str, Depends(_structure_id)]
InvoiceId = Annotated[str, Depends(_invoice_id)]
FeedItemId = Annotated[str, Depends(_feed_item_id)]


def _user_id(user_id: Annotated[str, Path(description="User id (UUID).")]) -> str:
    return known_id(user_id, "Utilisateur")


def _service_id(service_id: Annotated[str, Path(description="Service id (UUID).")]) -> str:
    return known_id(service_id, "Service")


def _attachment_request_id(
    request_id: Annotated[str, Path(description="Attachment request id (UUID).")],
) -> str:
    return known_id(request_id, "Demande de rattachement")


def _subscription_id(
    subscription_id: Annotated[str, Path(description="Subscription id (UUID).")],
) -> str:
    return known_id(subscription_id, "Abonnement")


UserId = Annotated[str, Depends(_user_id)]
ServiceId = Annotated[str, Depends(_service_id)]
AttachmentRequestId = Annotated[str, Depends(_attachment_request_id)]
SubscriptionId = Annotated[str, Depends(_subscription_id)]
