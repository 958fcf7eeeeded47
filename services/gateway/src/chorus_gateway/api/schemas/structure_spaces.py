"""A structure's spaces and the subscriptions to them: REST models and their mapping from
``chorus.structures.v1``."""

from __future__ import annotations

from datetime import datetime

from chorus.structures.v1 import structures_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_edge.conversions import RequestModel, optional, timestamp
from chorus_edge.structures import (
    ACCESS_MODE,
    SPACE,
    SUBSCRIPTION_STATUS,
    AccessMode,
    Decision,
    Space,
    SubscriptionStatus,
)
from chorus_gateway.api.schemas.structure_members import Person, person


class SpaceState(BaseModel):
    space: Space | None
    open: bool
    access_mode: AccessMode | None = Field(description="The caller's mode; null: no access.")
    pending_mode: AccessMode | None = Field(description="Mode of the caller's pending request.")
    managers_only: bool
    always_open: bool
    self_subscription: bool = Field(description="Subscriptions are validated at once.")


class SpaceList(BaseModel):
    items: list[SpaceState]


def space_state(message: pb.SpaceState) -> SpaceState:
    return SpaceState(
        space=SPACE.to_rest(message.space),
        open=message.open,
        access_mode=ACCESS_MODE.to_rest(message.access_mode),
        pending_mode=ACCESS_MODE.to_rest(message.pending_mode),
        managers_only=message.managers_only,
        always_open=message.always_open,
        self_subscription=message.self_subscription,
    )


class SubscriptionBody(RequestModel):
    mode: AccessMode


class Subscription(BaseModel):
    id: str
    structure_id: str
    user: Person
    space: Space | None
    mode: AccessMode | None
    status: SubscriptionStatus | None
    decision_comment: str | None
    decided_by: str | None
    requested_at: datetime | None
    decided_at: datetime | None


class SubscriptionPage(BaseModel):
    items: list[Subscription]
    next_page_token: str | None


def subscription(message: pb.Subscription) -> Subscription:
    return Subscription(
        id=message.id,
        structure_id=message.structure_id,
        user=person(message.user),
        space=SPACE.to_rest(message.space),
        mode=ACCESS_MODE.to_rest(message.mode),
        status=SUBSCRIPTION_STATUS.to_rest(message.status),
        decision_comment=optional(message.decision_comment),
        decided_by=optional(message.decided_by),
        requested_at=timestamp(message, "requested_at"),
        decided_at=timestamp(message, "decided_at"),
    )


class SubscriptionDecisionBody(RequestModel):
    decision: Decision
    comment: str | None = None
