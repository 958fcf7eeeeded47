"""Settings of the identity service (environment variables ``CHORUS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from chorus_platform.settings import ChorusSettings
from pydantic import Field, SecretStr

from chorus_identity.domain.password_policy import PasswordProfile


class IdentitySettings(ChorusSettings):
    """Accounts, credentials, sessions and signing keys."""

    source_migrations: ClassVar[Path] = Path(__file__).resolve().parents[2] / "migrations"

    service_name: str = Field("identity", description="Name used in logs, events and database.")
    grpc_port: int = Field(50051, description="gRPC listen port of identity.")
    activation_ttl_minutes: int = Field(
        60, gt=0, description="How long an activation link stays usable, in minutes."
    )
    refresh_token_ttl_days: int = Field(
        30, gt=0, description="Lifetime of a refresh token, in days (each rotation restarts it)."
    )
    argon2_time_cost: int = Field(2, ge=1, description="argon2id iterations (OWASP: 2).")
    argon2_memory_cost: int = Field(
        19456, ge=8, description="argon2id memory in KiB (OWASP: 19456 = 19 MiB)."
    )
    argon2_parallelism: int = Field(1, ge=1, description="argon2id lanes (OWASP: 1).")
    token_key_cache_seconds: float = Field(
        60.0, description="How long identity caches its own verification keys for GetMe & co."
    )
    token_key_refetch_seconds: float = Field(
        1.0, description="Minimum delay between key reloads triggered by an unknown kid."
    )
    password_policy: PasswordProfile = Field(
        PasswordProfile.ANSSI,
        description="Password rules: 'anssi' (12+ characters, 3 of 4 classes) or 'nist' "
        "(NIST SP 800-63B: 15+ characters, no composition rule). Both refuse common passwords "
        "and the user's own names.",
    )
    terms_of_use_version: str = Field(
        "2026-01", description="Version of the terms of use recorded when an account is created."
    )
    password_reset_ttl_minutes: int = Field(
        60, gt=0, description="How long a password-reset link stays usable, in minutes."
    )
    email_change_ttl_minutes: int = Field(
        60, gt=0, description="How long an e-mail address verification link stays usable."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Consecutive failed logins after which the account is locked."
    )
    login_lockout_seconds: int = Field(
        900, ge=1, description="How long a locked account refuses logins, in seconds."
    )
    mfa_challenge_ttl_seconds: int = Field(
        300, gt=0, description="How long a two-factor login challenge can be completed."
    )
    totp_issuer: str = Field("Chorus", description="Issuer shown by authenticator apps.")
    signing_key_max_age_hours: float = Field(
        24 * 30,
        gt=0,
        description="The signing key is rotated automatically once older than this (hours).",
    )
    key_rotation_check_seconds: float = Field(
        3600, gt=0, description="How often the background job checks the signing key's age."
    )
    anonymous_answer_min_ms: int = Field(
        100,
        ge=0,
        description="Minimum duration of the answers that must not tell whether an account "
        "exists (registration, activation link resend, password reset request), in "
        "milliseconds; 0 turns the floor off.",
    )
    sealing_key_cache_seconds: float = Field(
        300,
        gt=0,
        description="How long identity caches notifications' public sealing key.",
    )
    client_token_ttl_seconds: int = Field(
        3600,
        gt=0,
        le=86400,
        description="Lifetime of the access tokens of API applications (/api/oauth/token), "
        "in seconds; a retired signing key keeps verifying at least this long.",
    )
    technical_token_ttl_seconds: int = Field(
        300,
        gt=0,
        description="Lifetime of a technical account's access token, in seconds (capped at "
        "CHORUS_ACCESS_TOKEN_TTL_SECONDS).",
    )
    technical_password_days: int = Field(
        365,
        gt=0,
        le=3650,
        description="How long a technical account's password stays valid, in days; the "
        "structure's managers are reminded 30 and 7 days before.",
    )
    technical_expiry_scan_seconds: float = Field(
        3600,
        gt=0,
        description="How often identity looks for technical passwords expiring within 30 "
        "or 7 days (to remind the managers), in seconds.",
    )
    retention_sessions_days: int = Field(
        90,
        ge=1,
        description="Ended sessions (revoked, or every refresh token expired) with their"
        " refresh tokens, expired refresh tokens, e-mailed links and two-factor challenges,"
        " and failed-login counters are kept this many days after they ended or expired.",
    )
    retention_security_events_days: int = Field(
        365,
        ge=0,
        description="The security audit trail (with its IP addresses) is kept this many days;"
        " 0 keeps it forever.",
    )
    kek: SecretStr = Field(
        SecretStr(""),
        description="Key-encryption keys of the secrets at rest (signing keys, TOTP seeds):"
        " id:base64(32 bytes), comma-separated; the first encrypts, all decrypt. Empty: a"
        " fixed development key in dev (a warning), refused in prod.",
    )
