"""Security events: what the audit trail records, and who the client was.

Details are short non-secret facts ("reason": "WRONG_PASSWORD"); never a password, token,
answer or TOTP secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

IP_MAX = 64
USER_AGENT_MAX = 512


class SecurityEventKind(StrEnum):
    ACCOUNT_REGISTERED = "ACCOUNT_REGISTERED"
    # A registration named the login e-mail of an existing account (answered as for a new one).
    EXISTING_ACCOUNT_REGISTRATION_ATTEMPTED = "EXISTING_ACCOUNT_REGISTRATION_ATTEMPTED"
    ACTIVATION_LINK_RESENT = "ACTIVATION_LINK_RESENT"
    ACCOUNT_ACTIVATED = "ACCOUNT_ACTIVATED"
    LOGIN_SUCCEEDED = "LOGIN_SUCCEEDED"
    LOGIN_FAILED = "LOGIN_FAILED"
    LOGIN_MFA_REQUIRED = "LOGIN_MFA_REQUIRED"
    MFA_FAILED = "MFA_FAILED"
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    PASSWORD_RESET_REQUESTED = "PASSWORD_RESET_REQUESTED"
    PASSWORD_RESET = "PASSWORD_RESET"
    PASSWORD_RESET_FAILED = "PASSWORD_RESET_FAILED"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    PROFILE_UPDATED = "PROFILE_UPDATED"
    EMAIL_CHANGE_REQUESTED = "EMAIL_CHANGE_REQUESTED"
    CONTACT_EMAIL_CHANGED = "CONTACT_EMAIL_CHANGED"
    LOGIN_EMAIL_CHANGED = "LOGIN_EMAIL_CHANGED"
    ACCOUNT_DEACTIVATED = "ACCOUNT_DEACTIVATED"
    ACCOUNT_DISABLED = "ACCOUNT_DISABLED"
    ACCOUNT_ENABLED = "ACCOUNT_ENABLED"
    TWO_FACTOR_ENABLED = "TWO_FACTOR_ENABLED"
    TWO_FACTOR_DISABLED = "TWO_FACTOR_DISABLED"
    RECOVERY_CODE_USED = "RECOVERY_CODE_USED"
    SESSION_REVOKED = "SESSION_REVOKED"
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"
    ADMIN_GRANTED = "ADMIN_GRANTED"
    # Credentials of the Chorus Pro-compatible API (user_id: the owner, or the technical
    # account; actor_id: the manager who acted on a technical account).
    API_CLIENT_CREATED = "API_CLIENT_CREATED"
    API_CLIENT_REVOKED = "API_CLIENT_REVOKED"
    CLIENT_TOKEN_REFUSED = "CLIENT_TOKEN_REFUSED"
    TECHNICAL_ACCOUNT_ACTIVATED = "TECHNICAL_ACCOUNT_ACTIVATED"
    TECHNICAL_PASSWORD_ROTATED = "TECHNICAL_PASSWORD_ROTATED"
    TECHNICAL_ACCOUNT_REVOKED = "TECHNICAL_ACCOUNT_REVOKED"
    TECHNICAL_LOGIN_FAILED = "TECHNICAL_LOGIN_FAILED"


@dataclass(frozen=True)
class ClientContext:
    """Where a request came from, as the gateway reported it."""

    ip_address: str = ""
    user_agent: str = ""

    def clipped(self) -> ClientContext:
        return ClientContext(self.ip_address[:IP_MAX], self.user_agent[:USER_AGENT_MAX])


@dataclass(frozen=True)
class SecurityEvent:
    id: str
    kind: str
    user_id: str | None
    actor_id: str | None
    occurred_at: datetime
    ip_address: str
    user_agent: str
    details: dict[str, str] = field(default_factory=dict)
