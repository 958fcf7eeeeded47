"""Settings of the notifications service (environment variables ``CHORUS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from chorus_platform.settings import ChorusSettings
from pydantic import Field, SecretStr


class NotificationsSettings(ChorusSettings):
    """E-mail outbox and delivery, per-user event feed."""

    source_migrations: ClassVar[Path] = Path(__file__).resolve().parents[2] / "migrations"

    service_name: str = Field(
        "notifications", description="Name used in logs, the consumer group and the database."
    )
    grpc_port: int = Field(50054, description="gRPC listen port of notifications.")
    portal_url: str = Field(
        "http://127.0.0.1:8080",
        description="Public base URL of the web portal, used to build links in e-mails.",
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server host.")
    smtp_port: int = Field(1025, description="SMTP server port.")
    smtp_username: str = Field("", description="SMTP login; empty means no authentication.")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_timeout_seconds: float = Field(
        10.0, gt=0, description="Timeout of one SMTP conversation (connect, send, quit)."
    )
    smtp_noop_after_seconds: float = Field(
        1.0,
        ge=0,
        description="An SMTP connection idle this long is checked with NOOP before it is"
        " reused (a new one is opened if the server closed it).",
    )
    smtp_idle_close_seconds: float = Field(
        5.0, gt=0, description="An SMTP connection idle this long is closed (QUIT)."
    )
    mail_from: str = Field(
        "Chorus <no-reply@chorus.localhost>", description="From header of every e-mail."
    )
    email_max_attempts: int = Field(
        8, ge=1, description="Sending attempts of one e-mail before it is marked FAILED."
    )
    email_backoff_seconds: float = Field(
        10.0, gt=0, description="Delay before the first retry of an e-mail, doubled each try."
    )
    email_backoff_max_seconds: float = Field(
        3600.0, gt=0, description="Longest delay between two attempts at one e-mail."
    )
    email_takeover_seconds: float = Field(
        30.0,
        gt=0,
        description="How long a sender must have been connected to the database before it"
        " sends again the e-mails a vanished sender left between SMTP and its record (same"
        " Message-ID); longer than a live sender needs to record after a database restart.",
    )
    email_batch_size: int = Field(
        50,
        ge=1,
        description="Due e-mails claimed in one transaction, then sent one after the other"
        " over one SMTP connection.",
    )
    email_poll_seconds: float = Field(
        1.0, gt=0, description="E-mail sender polling fallback when no NOTIFY arrives."
    )
    digest_poll_seconds: float = Field(
        30.0,
        gt=0,
        description="How often the invoice digest job looks for hourly or daily digests due;"
        " a digest goes at most this long after its period ends.",
    )
    retention_feed_days: int = Field(
        365,
        ge=1,
        description="Feed items (read or not) are kept this many days, then purge-records"
        " deletes them.",
    )
    retention_email_days: int = Field(
        180,
        ge=1,
        description="E-mails sent or failed (with their attempts) and the digest entries already"
        " e-mailed are kept this many days; e-mails still to send are never purged.",
    )
    kek: SecretStr = Field(
        SecretStr(""),
        description="Key-encryption keys of the secrets at rest (the sealing private keys):"
        " id:base64(32 bytes), comma-separated; the first encrypts, all decrypt. Empty: a"
        " fixed development key in dev (a warning), refused in prod.",
    )
