"""The configurable rules the use cases apply, gathered from the settings in ``main.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from chorus_identity.domain.lockout import LockoutPolicy
from chorus_identity.domain.password_policy import PasswordProfile


@dataclass(frozen=True)
class Rules:
    activation_ttl: timedelta = timedelta(minutes=60)
    password_reset_ttl: timedelta = timedelta(minutes=60)
    email_change_ttl: timedelta = timedelta(minutes=60)
    refresh_token_ttl: timedelta = timedelta(days=30)
    password_profile: PasswordProfile = PasswordProfile.ANSSI
    lockout: LockoutPolicy = field(
        default_factory=lambda: LockoutPolicy(max_failures=5, duration=timedelta(minutes=15))
    )
    terms_version: str = "2026-01"
    mfa_challenge_ttl: timedelta = timedelta(minutes=5)
    mfa_max_attempts: int = 5
    totp_issuer: str = "Chorus"
