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
