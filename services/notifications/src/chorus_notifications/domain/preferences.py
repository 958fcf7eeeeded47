"""E-mail preferences: which kinds a user may switch off, and the effective settings."""

from __future__ import annotations

from dataclasses import dataclass

from chorus_notifications.domain.digests import DigestFrequency
from chorus_notifications.domain.kinds import NotificationKind

MANDATORY_KINDS = frozenset(
    {
        NotificationKind.ACCOUNT_ACTIVATION,
        NotificationKind.PASSWORD_RESET,
        NotificationKind.PASSWORD_CHANGED,
        NotificationKind.EMAIL_VERIFICATION,
        NotificationKind.LOGIN_EMAIL_CHANGED,
        NotificationKind.ACCOUNT_LOCKED,
        NotificationKind.TWO_FACTOR_CHANGED,
        NotificationKind.CONTACT_EMAIL_CHANGED,
        NotificationKind.EXISTING_ACCOUNT_REGISTRATION,
        # A structure's API credentials: an expiry cuts its connectors off, a new or renewed
        # credential is a security fact every manager should see.
        NotificationKind.TECHNICAL_ACCOUNT_EXPIRING,
        NotificationKind.TECHNICAL_ACCOUNT_CHANGED,
    }
)
"""Account security messages: always e-mailed, not offered as preferences."""

NOT_PREFERENCES = frozenset(
    {NotificationKind.INVOICE_DIGEST, NotificationKind.SOLLICITATION_CLOSED}
)
"""Kinds with no on/off setting of their own: the digest follows the invoice kinds it gathers
(and the user's digest frequency); a sollicitation's closing is told in the feed only."""

OPTIONAL_KINDS = tuple(
    str(kind)
    for kind in NotificationKind
    if kind not in MANDATORY_KINDS and kind not in NOT_PREFERENCES
)


def is_optional(kind: str) -> bool:
    return kind in OPTIONAL_KINDS


def effective(stored: dict[str, bool]) -> dict[str, bool]:
    """Every optional kind with its setting (stored, else on)."""
    return {kind: stored.get(kind, True) for kind in OPTIONAL_KINDS}


@dataclass(frozen=True)
class EmailSetting:
    """What a user chose for one kind of e-mail: sent or not, and (invoice kinds) at once or
    in a digest."""

    enabled: bool = True
    frequency: DigestFrequency = DigestFrequency.IMMEDIATE
