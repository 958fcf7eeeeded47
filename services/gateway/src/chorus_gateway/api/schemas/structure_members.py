"""A structure's members, their roles, and the managers' history: REST models and their
mapping from ``chorus.structures.v1``."""

from __future__ import annotations

from datetime import datetime

from chorus.structures.v1 import structures_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_edge.conversions import RequestModel, optional, timestamp
from chorus_edge.structures import ACTION_KIND, ROLE, ActionKind, Role


class Person(BaseModel):
    user_id: str
    first_name: str | None
    last_name: str | None
    email: str | None


def person(message: pb.Person) -> Person:
    return Person(
        user_id=message.user_id,
        first_name=optional(message.first_name),
        last_name=optional(message.last_name),
        email=optional(message.email),
    )


class Member(BaseModel):
    user_id: str
    first_name: str | None
    last_name: str | None
    email: str | None = Field(description="Contact e-mail address.")
    role: Role | None
    service_ids: list[str] = Field(description="Services the user is limited to; empty: all.")
    since: datetime | None


class MemberList(BaseModel):
    items: list[Member]


def member(message: pb.Member) -> Member:
    return Member(
        user_id=message.user.user_id,
        first_name=optional(message.user.first_name),
        last_name=optional(message.user.last_name),
        email=optional(message.user.email),
        role=ROLE.to_rest(message.role),
        service_ids=list(message.service_ids),
        since=timestamp(message, "since"),
    )


class AttachMemberBody(RequestModel):
    login_email: str = Field(description="Login e-mail of an existing, active account.")
    role: Role | None = Field(None, description="UTILISATEUR (default) or GESTIONNAIRE_SECONDAIRE.")
    service_ids: list[str] = Field(default_factory=list)


class TransferPrincipalBody(RequestModel):
    user_id: str = Field(description="The member who becomes principal manager.")


class PrincipalTransfer(BaseModel):
    principal: Member
    previous_principal: Member


class ManagerAction(BaseModel):
    id: str
    kind: ActionKind | None
    actor_user_id: str | None
    target_user_id: str | None
    details: dict[str, str]
    at: datetime | None


class ManagerActionPage(BaseModel):
    items: list[ManagerAction]
    next_page_token: str | None


def manager_action(message: pb.ManagerAction) -> ManagerAction:
    return ManagerAction(
        id=message.id,
        kind=ACTION_KIND.to_rest(message.kind),
        actor_user_id=optional(message.actor_user_id),
        target_user_id=optional(message.target_user_id),
        details=dict(message.details),
        at=timestamp(message, "at"),
    )
