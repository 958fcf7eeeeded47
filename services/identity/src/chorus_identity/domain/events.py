"""The events identity publishes, as facts of its domain: one frozen dataclass per event.

Use cases emit them (``tx.emit(UserRegistered(account))``) in the transaction that makes the
change, so an event exists if and only if its change committed; ``events/outgoing.py`` maps
each to its ``chorus.identity.events.v1`` message of the same name, keyed by user id.

``SessionRevoked`` is emitted once per revoked session, by every path that revokes one
(``usecases/revocations.py``), so that every service's deny-list refuses its access tokens.

Link events (activation, password reset, e-mail change) carry their token only sealed to
notifications' key (:mod:`chorus_identity.domain.sealed_tokens`): no event holds a secret in
plain text, not even before it is encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from chorus_identity.domain.accounts import Account
from chorus_identity.domain.api_clients import ApiClient
from chorus_identity.domain.sessions import RevokeReason
from chorus_identity.domain.technical_accounts import ExpiryReminder, TechnicalAccount


@dataclass(frozen=True)
class UserRegistered:
    """An account was created and waits for activation."""

    account: Account


@dataclass(frozen=True)
class ExistingAccountRegistrationAttempted:
    """Someone registered with the login e-mail of this (active or deactivated) account; the
    registration answered as for a new address, the owner is told instead."""

    account: Account
    at: datetime


@dataclass(frozen=True)
class ActivationLinkIssued:
    """A single-use activation link was issued (at registration or on resend)."""

    account: Account
    expires_at: datetime
    sealed_token: bytes = field(repr=False)


@dataclass(frozen=True)
class UserActivated:
    """An account was activated."""

    account: Account


@dataclass(frozen=True)
class PasswordResetRequested:
    """A password-reset link was issued for an active account."""

    account: Account
    expires_at: datetime
    sealed_token: bytes = field(repr=False)


@dataclass(frozen=True)
class EmailChangeRequested:
    """A verification link was sent to a new contact (``login`` False) or login address."""

    account: Account
    login: bool
    new_email: str
    expires_at: datetime
    sealed_token: bytes = field(repr=False)


@dataclass(frozen=True)
class PasswordChanged:
    """A password changed, by its owner or through a reset link; sessions were revoked."""

    user_id: str
    by_reset: bool
    at: datetime


@dataclass(frozen=True)
class ContactEmailChanged:
    """The contact address change was confirmed (``account`` holds the new one); the
    previous address is told."""

    account: Account
    previous_contact_email: str


@dataclass(frozen=True)
class LoginEmailChanged:
    """The login address change was confirmed (``account`` holds the new one)."""

    account: Account
    previous_login_email: str


@dataclass(frozen=True)
class UserProfileUpdated:
    """The account's names changed."""

    account: Account


@dataclass(frozen=True)
class UserDeactivated:
    """An account was deactivated, by its owner or by an administrator."""

    user_id: str
    by_admin: bool
    at: datetime


@dataclass(frozen=True)
class UserReactivated:
    """An administrator re-enabled a deactivated account."""

    user_id: str
    at: datetime


@dataclass(frozen=True)
class AccountLocked:
    """Repeated failures locked a real account's login address until ``locked_until``."""

    user_id: str
    locked_until: datetime
    failed_attempts: int


@dataclass(frozen=True)
class TwoFactorChanged:
    """Two-factor authentication was turned on or off."""

    user_id: str
    enabled: bool
    at: datetime


@dataclass(frozen=True)
class SessionRevoked:
    """A session was revoked (``reason``): its access tokens are to be refused everywhere
    until ``tokens_valid_until`` (``revoked_at`` + the access-token lifetime)."""

    user_id: str
    session_id: str
    reason: RevokeReason
    revoked_at: datetime
    tokens_valid_until: datetime


@dataclass(frozen=True)
class ApiClientCreated:
    """A user created an API application."""

    client: ApiClient


@dataclass(frozen=True)
class ApiClientRevoked:
    """An API application was revoked (a SessionRevoked for its id goes with it)."""

    client: ApiClient


@dataclass(frozen=True)
class TechnicalAccountActivated:
    """A manager activated a technical account for a structure."""

    account: TechnicalAccount
    actor_id: str
    at: datetime


@dataclass(frozen=True)
class TechnicalAccountPasswordRotated:
    """A manager renewed a technical account's password (``account`` holds the new expiry)."""

    account: TechnicalAccount
    actor_id: str
    at: datetime


@dataclass(frozen=True)
class TechnicalAccountRevoked:
    """A manager revoked a technical account."""

    account: TechnicalAccount
    actor_id: str
    at: datetime


@dataclass(frozen=True)
class TechnicalAccountPasswordExpiring:
    """A technical password expires within 30 or 7 days (once per threshold)."""

    reminder: ExpiryReminder
