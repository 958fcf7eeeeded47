"""Settings of the invoices service (environment variables ``CHORUS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from chorus_platform.settings import ChorusSettings
from pydantic import Field


class InvoicesSettings(ChorusSettings):
    """Invoices, their lines, totals and status history; deposit and routing."""

    source_migrations: ClassVar[Path] = Path(__file__).resolve().parents[2] / "migrations"

    service_name: str = Field("invoices", description="Name used in logs, events and database.")
    grpc_port: int = Field(50053, description="gRPC listen port of invoices.")
    access_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long answers of structures' CheckAccess are reused (0 turns it off).",
    )
    document_workers: int = Field(
        1,
        ge=1,
        le=16,
        description="Worker processes validating structured files and rendering Factur-X PDFs"
        " (each keeps the EN 16931 schematrons compiled, ~250 MB).",
    )
    document_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="Longest a worker may spend on one document before it is ended.",
    )
    max_document_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=15 * 1024 * 1024,
        description="Largest structured file (XML or Factur-X PDF) a deposit accepts.",
    )
    staged_attachment_ttl_seconds: int = Field(
        3600,
        ge=60,
        description="How long an attachment uploaded ahead of its deposit or completion"
        " (StageAttachment) stays usable before it is purged.",
    )
