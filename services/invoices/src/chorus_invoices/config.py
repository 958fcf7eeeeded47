"""Settings of the invoices service (environment variables ``CHORUS_*``)."""

from __future__ import annotations

from pathlib import Path

from chorus_platform.settings import ChorusSettings
from pydantic import Field

_REPO_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


class InvoicesSettings(ChorusSettings):
    """Invoices, their lines, totals and status history; deposit and routing."""

    service_name: str = Field("invoices", description="Name used in logs, events and database.")
    grpc_port: int = Field(50053, description="gRPC listen port of invoices.")
    migrations_dir: str = Field(
        "",
        description="Directory of invoices' SQL migrations; empty means services/invoices/"
        "migrations in the source tree (set it in container images).",
    )
    access_cache_seconds: float = Field(
        5.0,
        ge=0,
        description="How long answers of structures' CheckAccess are reused (0 turns it off).",
    )

    @property
    def migrations_path(self) -> Path:
        """Where ``chorus-invoices migrate`` reads the SQL files from."""
        return Path(self.migrations_dir) if self.migrations_dir else _REPO_MIGRATIONS
