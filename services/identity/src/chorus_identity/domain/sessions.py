"""Login sessions and the rotation rules of their refresh tokens.

A session is a refresh-token family. Each refresh spends the presented token and issues the
next generation. Presenting a spent token again means it was copied: whoever holds the
family is not trustworthy any more, so the whole session is revoked (reuse detection).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, StrEnum

from chorus_identity.domain.accounts import UserStatus


@dataclass(frozen=True)
class TokenPair:
    """What a login or refresh hands back; ``refresh_token`` is shown only this once."""

    access_token: str
    refresh_token: str
    expires_in: int

    def __repr__(self) -> str:
        return f"TokenPair(expires_in={self.expires_in})"


class RevokeReason(StrEnum):
    LOGOUT = "LOGOUT"
    REFRESH_TOKEN_REUSE = "REFRESH_TOKEN_REUSE"
    REVOKED_BY_USER = "REVOKED_BY_USER"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    PASSWORD_RESET = "PASSWORD_RESET"
    DEACTIVATED = "DEACTIVATED"
    DISABLED_BY_ADMIN = "DISABLED_BY_ADMIN"
    API_CLIENT_REVOKED = "API_CLIENT_REVOKED"
    """An API application was revoked (the "session" is the application itself)."""
    TECHNICAL_PASSWORD_ROTATED = "TECHNICAL_PASSWORD_ROTATED"
    TECHNICAL_ACCOUNT_REVOKED = "TECHNICAL_ACCOUNT_REVOKED"


@dataclass(frozen=True)
class PresentedRefreshToken:
    """A stored refresh token found by the hash of the presented one, with its context."""

    session_id: str
    user_id: str
    generation: int
    expires_at: datetime
    spent_at: datetime | None
    session_revoked_at: datetime | None
    user_status: UserStatus


class RefreshVerdict(Enum):
    ROTATE = "rotate"
    """Valid: spend it and issue the next generation."""
    REVOKE_SESSION = "revoke_session"
    """A spent token came back: revoke the family, refuse."""
    REFUSE = "refuse"
    """Expired, revoked or owner not active: refuse, change nothing."""


def judge_refresh(token: PresentedRefreshToken, now: datetime) -> RefreshVerdict:
    """What to do with a presented refresh token."""
    if token.session_revoked_at is not None:
        return RefreshVerdict.REFUSE
    if token.spent_at is not None:
        return RefreshVerdict.REVOKE_SESSION
    if token.expires_at <= now or token.user_status is not UserStatus.ACTIF:
        return RefreshVerdict.REFUSE
    return RefreshVerdict.ROTATE


@dataclass(frozen=True)
class LiveSession:
    """A session not revoked, of an active account, as its owner sees it listed."""

    id: str
    user_id: str
    created_at: datetime
    last_used_at: datetime
    ip_address: str
    user_agent: str


@dataclass(frozen=True)
class RevokedSession:
    """A revoked session whose access tokens may not have expired yet: every service refuses
    them until ``tokens_valid_until``."""

    id: str
    revoked_at: datetime
    tokens_valid_until: datetime


def tokens_valid_until(revoked_at: datetime, access_token_ttl: timedelta) -> datetime:
    """Until when an access token of a session revoked at ``revoked_at`` may be valid: tokens
    are issued while the session lives and last ``access_token_ttl``, so none outlives
    ``revoked_at`` + ``access_token_ttl`` (deny-lists add a margin for a refresh that raced
    the revocation)."""
    return revoked_at + access_token_ttl
