"""Settings of the invoices service (environment variables ``CHORUS_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from chorus_platform.settings import ChorusSettings
from pydantic import Field, SecretStr, field_validator

ROLES = ("api", "documents")
"""What a process of the service can do (``CHORUS_INVOICES_ROLES``)."""


class InvoicesSettings(ChorusSettings):
    """Invoices, their lines, totals and status history; deposit and routing."""

    source_migrations: ClassVar[Path] = Path(__file__).resolve().parents[2] / "migrations"

    service_name: str = Field("invoices", description="Name used in logs, events and database.")
    grpc_port: int = Field(50053, description="gRPC listen port of invoices.")
    invoices_roles: str = Field(
        "api,documents",
        description="What this process does, comma-separated: ``api`` serves the gRPC"
        " InvoicesService and runs every other background job (outbox relay, routing consumer"
        " and reconciler, flow worker); ``documents`` runs the Factur-X rendering job and its"
        " document workers (only ``facturx_rendering=queued`` gives that job work; with"
        " ``on_demand`` it stays idle). A process with only ``documents`` (the"
        " ``invoices-documents`` Deployment) serves gRPC health only.",
    )
    facturx_rendering: Literal["on_demand", "queued"] = Field(
        "on_demand",
        description="When the Factur-X PDF of a portal invoice is rendered. ``on_demand``"
        " (default): at its first download (GetInvoiceDocument), in the document workers of"
        " the process serving it, from the CII XML kept at deposit, then stored and served"
        " as stored; a deposit queues nothing (the portal deposit rate is not bounded by"
        " PDF rendering, ~30 ms of CPU each). ``queued``: each deposit queues the rendering"
        " for the Factur-X rendering job (``documents`` role), the invoice's PDF being"
        ' "en préparation" until it is done.',
    )
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
    rendering_poll_seconds: float = Field(
        1.0,
        gt=0,
        description="How often the Factur-X rendering job looks for portal invoices to render"
        " (each deposit also wakes it at once, through NOTIFY).",
    )
    rendering_lease_seconds: float = Field(
        120.0,
        gt=0,
        description="How long a rendering job holds a claimed rendering (more than"
        " ``document_timeout_seconds``): a job that died leaves it to be taken again after"
        " this.",
    )
    rendering_retry_seconds: float = Field(
        2.0,
        gt=0,
        description="Delay before a failed rendering is tried again, doubled at each failure"
        " (at most 300 s).",
    )
    rendering_max_attempts: int = Field(
        5,
        ge=1,
        description="Attempts at rendering one Factur-X before it is kept as failed for good"
        " (logged as an error; the invoice keeps its XML).",
    )
    staged_attachment_ttl_seconds: int = Field(
        3600,
        ge=60,
        description="How long an attachment uploaded ahead of its deposit or completion"
        " (StageAttachment) stays usable before it is purged.",
    )

    document_store: Literal["postgres", "s3"] = Field(
        "postgres",
        description="Where the contents of invoices' documents (Factur-X, deposited files, XML,"
        " attachments) are kept: ``postgres`` (default, ``bytea`` in the service's database)"
        " or ``s3`` (an S3-compatible object storage, ``CHORUS_S3_*``). Their metadata (name,"
        " size, SHA-256) stays in PostgreSQL either way, and every read is checked against"
        " the SHA-256. Documents written under one setting stay readable under ``s3``.",
    )
    s3_endpoint_url: str = Field(
        "",
        description="S3-compatible endpoint (MinIO, Ceph, AWS), e.g. ``http://minio:9000``;"
        " empty: the AWS endpoint of ``CHORUS_S3_REGION``.",
    )
    s3_bucket: str = Field(
        "chorus-documents",
        description="Bucket of the documents (created beforehand; readiness checks it).",
    )
    s3_region: str = Field("us-east-1", description="Region of the bucket.")
    s3_access_key_id: SecretStr = Field(
        SecretStr(""),
        description="Access key of the object storage; empty: the default AWS credential chain.",
    )
    s3_secret_access_key: SecretStr = Field(
        SecretStr(""), description="Secret key of the object storage (never logged)."
    )
    document_retention_days: int = Field(
        3653,
        ge=1,
        description="Documents of an invoice are kept this long after the invoice's last change"
        " (10 years: the legal retention of invoices), then deleted by ``chorus-invoices"
        " purge-documents``; the invoice itself is kept.",
    )

    @field_validator("invoices_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        roles = [role.strip() for role in value.split(",") if role.strip()]
        unknown = [role for role in roles if role not in ROLES]
        if not roles or unknown:
            raise ValueError(f"roles are a comma-separated subset of {', '.join(ROLES)}")
        return ",".join(roles)

    @property
    def roles(self) -> frozenset[str]:
        """The roles of ``invoices_roles``."""
        return frozenset(self.invoices_roles.split(","))
