"""Accounts and sessions: REST models and their mapping to/from ``chorus.identity.v1``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from chorus.identity.v1 import identity_service_pb2 as pb
from pydantic import BaseModel, Field

from chorus_edge.conversions import RequestModel, optional, timestamp
from chorus_edge.enums import ProtoEnum

USER_STATUS = ProtoEnum(pb.UserStatus)
UserStatus = USER_STATUS.rest


class RegisterAccountBody(RequestModel):
    login_email: str = Field(description="Login e-mail address.", examples=["marie@example.fr"])
    contact_email: str | None = Field(None, description="Notification address (default: login).")
    first_name: str
    last_name: str
    phone: str | None = None
    terms_accepted: bool = Field(
        False, description="The user accepted the terms of use (required; version recorded)."
    )
    terms_version: str | None = Field(
        None, description="Version of the terms shown to the user; must then be the current one."
    )


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


class MfaChallenge(BaseModel):
    """Login of an account with two-factor authentication: finish with POST /auth/token/mfa."""

    mfa_required: Literal[True] = True
    challenge_id: str
    expires_at: datetime | None


class MfaBody(RequestModel):
    challenge_id: str
    code: str = Field(description="6-digit code of the authenticator app, or a recovery code.")


class PasswordResetRequestBody(RequestModel):
    login_email: str


class PasswordResetLookupBody(RequestModel):
    token: str = Field(description="Token of the reset link.")


class PasswordResetLink(BaseModel):
    secret_question: str
    expires_at: datetime | None


class PasswordResetConfirmBody(RequestModel):
    token: str
    secret_answer: str
    password: str


class ChangePasswordBody(RequestModel):
    current_password: str
    new_password: str


class ContactEmailBody(RequestModel):
    contact_email: str
    current_password: str


class LoginEmailBody(RequestModel):
    login_email: str
    current_password: str


class TokenOnlyBody(RequestModel):
    token: str


class PasswordConfirmationBody(RequestModel):
    current_password: str


class TotpCodeBody(RequestModel):
    code: str


class Session(BaseModel):
    id: str
    created_at: datetime | None
    last_used_at: datetime | None
    ip_address: str | None
    user_agent: str | None
    current: bool


class Sessions(BaseModel):
    items: list[Session]


class TotpEnrolment(BaseModel):
    """Shown once: keep the recovery codes somewhere safe."""

    secret: str = Field(description="Base32 secret, for manual entry.")
    otpauth_uri: str = Field(description="otpauth:// URI to show as a QR code.")
    recovery_codes: list[str]


class Account(BaseModel):
    id: str
    login_email: str
    contact_email: str | None
    first_name: str
    last_name: str
    phone: str | None
    status: UserStatus | None
    created_at: datetime | None
    two_factor_enabled: bool = False


def register_request(body: RegisterAccountBody) -> pb.RegisterAccountRequest:
    return pb.RegisterAccountRequest(
        login_email=body.login_email,
        contact_email=body.contact_email or "",
        first_name=body.first_name,
        last_name=body.last_name,
        phone=body.phone or "",
        terms_accepted=body.terms_accepted,
        terms_version=body.terms_version or "",
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
        two_factor_enabled=user.two_factor_enabled,
    )


def token_response(tokens: pb.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


def mfa_challenge(response: pb.CreateSessionResponse) -> MfaChallenge:
    return MfaChallenge(
        challenge_id=response.mfa_challenge_id,
        expires_at=timestamp(response, "mfa_challenge_expires_at"),
    )


def reset_link(response: pb.GetPasswordResetResponse) -> PasswordResetLink:
    return PasswordResetLink(
        secret_question=response.secret_question, expires_at=timestamp(response, "expires_at")
    )


def reset_confirm_request(body: PasswordResetConfirmBody) -> pb.ConfirmPasswordResetRequest:
    return pb.ConfirmPasswordResetRequest(
        token=body.token, secret_answer=body.secret_answer, password=body.password
    )


def session(item: pb.Session) -> Session:
    return Session(
        id=item.id,
        created_at=timestamp(item, "created_at"),
        last_used_at=timestamp(item, "last_used_at"),
        ip_address=optional(item.ip_address),
        user_agent=optional(item.user_agent),
        current=item.current,
    )


def totp_enrolment(response: pb.StartTotpEnrolmentResponse) -> TotpEnrolment:
    return TotpEnrolment(
        secret=response.secret,
        otpauth_uri=response.otpauth_uri,
        recovery_codes=list(response.recovery_codes),
    )
