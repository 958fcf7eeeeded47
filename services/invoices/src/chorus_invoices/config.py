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
    directory_max_age_seconds: float = Field(
        3600.0,
        ge=0,
        description="How long an entry of the directory read model (structures fed by"
        " structures' events, or by its answers on a miss) is used without news before"
        " structures is asked again; 0 turns the read model off (every look-up asks).",
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
    document_startup_wait_seconds: float = Field(
        20.0,
        gt=0,
        description="How long a document arriving while the workers still compile the"
        " schematrons (after a start) waits for them before UNAVAILABLE"
        " DOCUMENT_WORKERS_STARTING; the service is ready without waiting for them.",
    )
    max_document_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=15 * 1024 * 1024,
        description="Largest structured file (XML or Factur-X PDF) a deposit accepts.",
    )
    routing_reconcile_after_seconds: float = Field(
        30.0,
        gt=0,
        description="An invoice still DEPOSEE this long after its deposit is routed by the"
        " reconciler (its InvoiceSubmitted was lost, parked or not published yet).",
    )
    routing_reconcile_interval_seconds: float = Field(
        10.0,
        gt=0,
        description="How often the routing reconciler looks for invoices waiting past that.",
    )
    flow_poll_seconds: float = Field(
        1.0,
        gt=0,
        description="How often the flow worker looks for archive flows waiting (DepositFlow"
        " also wakes it at once).",
    )
    flow_lease_seconds: float = Field(
        120.0,
        gt=0,
        description="How long a flow worker holds a flow without news (renewed before each"
        " file, so more than a file's longest processing): a worker that died leaves it to be"
        " resumed after this.",
    )
    staged_attachment_ttl_seconds: int = Field(
        3600,
        ge=60,
        description="How long an attachment uploaded ahead of its deposit or completion"
        " (StageAttachment) stays usable before it is purged.",
    )
