"""Accounts and sessions: REST models and their mapping to/from ``chorus.identity.v1``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from chorus.identity.v1 import identity_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_gateway.api.enums import ProtoEnum
from chorus_gateway.api.schemas.conversions import RequestModel, optional, timestamp

USER_STATUS = ProtoEnum(pb.UserStatus)
UserStatus = USER_STATUS.rest


class RegisterAccountBody(RequestModel):
    login_email: str = Field(description="Login e-mail address.", examples=["marie@example.fr"])
    contact_email: str | None = Field(None, description="Notification address (default: login).")
    first_name: str
    last_name: str
    phone: str | None = None


class AccountStatus(BaseModel):
    id: str
    status: UserStatus | None


class ActivationBody(RequestModel):
    token: str = Field(description="Token of the activation link.")
    password: str = Field(description="At least 12 characters, 3 of the 4 character classes.")
    secret_question: str
    secret_answer: str


class ResendActivationBody(RequestModel):
    login_email: str


class Accepted(BaseModel):
    """An empty acknowledgement (202)."""


class TokenBody(RequestModel):
    login_email: str
    password: str


class RefreshBody(RequestModel):
    refresh_token: str


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="Lifetime of the access token in seconds.")


class Account(BaseModel):
    id: str
    login_email: str
    contact_email: str | None
    first_name: str
    last_name: str
    phone: str | None
    status: UserStatus | None
    created_at: datetime | None


def register_request(body: RegisterAccountBody) -> pb.RegisterAccountRequest:
    return pb.RegisterAccountRequest(
        login_email=body.login_email,
        contact_email=body.contact_email or "",
        first_name=body.first_name,
        last_name=body.last_name,
        phone=body.phone or "",
    )


def activation_request(body: ActivationBody) -> pb.ActivateAccountRequest:
    return pb.ActivateAccountRequest(
        token=body.token,
        password=body.password,
        secret_question=body.secret_question,
        secret_answer=body.secret_answer,
    )


def account_status(user: pb.User) -> AccountStatus:
    return AccountStatus(id=user.id, status=USER_STATUS.to_rest(user.status))


def account(user: pb.User) -> Account:
    return Account(
        id=user.id,
        login_email=user.login_email,
        contact_email=optional(user.contact_email),
        first_name=user.first_name,
        last_name=user.last_name,
        phone=optional(user.phone),
        status=USER_STATUS.to_rest(user.status),
        created_at=timestamp(user, "created_at"),
    )


def token_response(tokens: pb.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )
