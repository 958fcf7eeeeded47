"""The configurable rules the use cases apply, gathered from the settings in ``main.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from chorus_identity.domain.lockout import LockoutPolicy
from chorus_identity.domain.password_policy import (
    PasswordProblem,
    PasswordProfile,
    PersonalData,
    check_password,
)
from chorus_identity.store import common_passwords


@dataclass(frozen=True)
class Rules:
    activation_ttl: timedelta = timedelta(minutes=60)
    access_token_ttl: timedelta = timedelta(minutes=15)
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
    # Floor of the answers that must not tell whether an account exists (uniform_answers).
    anonymous_answer_min: timedelta = timedelta(milliseconds=100)
    # Credentials of the Chorus Pro-compatible API.
    client_token_ttl: timedelta = timedelta(hours=1)
    technical_token_ttl: timedelta = timedelta(minutes=5)
    technical_password_days: int = 365
    common_passwords: frozenset[str] = field(default_factory=common_passwords.load, repr=False)

    def password_problems(
        self, password: str, personal: PersonalData | None
    ) -> list[PasswordProblem]:
        """Every rule of the configured policy ``password`` breaks (empty when fine)."""
        return check_password(
            password,
            common=self.common_passwords,
            profile=self.password_profile,
            personal=personal,
        )
