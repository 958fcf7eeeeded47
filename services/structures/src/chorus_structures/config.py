"""Settings of the structures service (``CHORUS_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from chorus_platform.settings import ChorusSettings
from pydantic import Field

# services/structures/migrations when running from the repository.
_REPO_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


class StructuresSettings(ChorusSettings):
    service_name: str = Field("structures", description="Name used in logs, events and database.")
    grpc_port: int = Field(50052, description="gRPC listen port of the structures service.")
    allow_public_creation: bool = Field(
        True,
        description="Whether users may create PUBLIQUE structures (sandbox behaviour); when off, "
        "public structures come only from the directory import.",
    )
    migrations_dir: str = Field(
        "",
        description="Directory of the service's SQL migrations; empty means the repository's "
        "services/structures/migrations (set it in container images).",
    )

    @property
    def migrations_path(self) -> Path:
        return Path(self.migrations_dir) if self.migrations_dir else _REPO_MIGRATIONS
