"""Settings of the structures service (``CHORUS_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar
from uuid import UUID

from chorus_platform.settings import ChorusSettings
from pydantic import Field, field_validator


class StructuresSettings(ChorusSettings):
    source_migrations: ClassVar[Path] = Path(__file__).resolve().parents[2] / "migrations"
    service_name: str = Field("structures", description="Name used in logs, events and database.")
    grpc_port: int = Field(50052, description="gRPC listen port of the structures service.")
    allow_public_creation: bool = Field(
        True,
        description="Whether users may create PUBLIQUE structures (sandbox behaviour); when off, "
        "public structures come only from the directory import.",
    )
    claim_unmanaged_structures: bool = Field(
        True,
        description="Whether the first attachment request to a structure without any manager "
        "(imported from the directory) is validated at once, its requester becoming principal "
        "manager (sandbox behaviour); when off, such requests wait for an administrator.",
    )
    support_user_ids: str = Field(
        "",
        description="The platform's support: comma-separated account ids (identity's user ids, "
        "as `identity grant-admin` prints them) who read and answer the sollicitations "
        "addressed to the support. Empty: nobody can write to the support.",
    )

    @field_validator("support_user_ids")
    @classmethod
    def _uuids(cls, value: str) -> str:
        ids = [part.strip() for part in value.split(",") if part.strip()]
        for part in ids:
            UUID(part)  # ValueError: not an account id
        return ",".join(ids)

    @property
    def support_users(self) -> tuple[UUID, ...]:
        """The accounts of ``support_user_ids``."""
        return tuple(UUID(part) for part in self.support_user_ids.split(",") if part)
