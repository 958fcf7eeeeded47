"""Wiring of the invoices service: ``chorus-invoices serve | migrate |
purge-records [--dry-run] | purge-documents [--dry-run]``."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import asyncpg
import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc
from chorus_platform import checks, grpc_server
from chorus_platform.auth import AuthInterceptor, TokenVerifier
from chorus_platform.cli import run_cli
from chorus_platform.db import create_pool
from chorus_platform.grpc_client import (
    channel_for,
    identity_revocation_feed,
    identity_token_verifier,
)
from chorus_platform.idempotency import IdempotencyInterceptor
from chorus_platform.metrics import serve_metrics
from chorus_platform.outbox import OutboxRelay
from chorus_platform.request_hygiene import RequestHygieneInterceptor
from chorus_platform.retention import purge_records_command
from chorus_platform.revocation import RevocationFeed
from chorus_platform.unit_of_work import UnitOfWork

from chorus_invoices.api.errors import STATUS_CODES
from chorus_invoices.api.servicer import InvoicesServicer
from chorus_invoices.clients.structures import StructuresClient
from chorus_invoices.config import InvoicesSettings
from chorus_invoices.documents.formats import DocumentLimits
from chorus_invoices.documents.workers import DocumentWorkers
from chorus_invoices.documents.xml_safety import XmlLimits
from chorus_invoices.domain.attachments import AttachmentPolicy
from chorus_invoices.events import outgoing
from chorus_invoices.events.directory import directory_consumer
from chorus_invoices.events.routing import routing_consumer
from chorus_invoices.store.documents import DocumentStore, PostgresDocumentStore, S3DocumentStore
from chorus_invoices.store.object_storage import ObjectStorage, S3Location
from chorus_invoices.store.retention import purge_rules
from chorus_invoices.usecases.attachments import AttachmentStaging
from chorus_invoices.usecases.deposit import Deposits
from chorus_invoices.usecases.directory import Directory
from chorus_invoices.usecases.document_purge import DocumentPurge
from chorus_invoices.usecases.facturx_rendering import FacturxRenderer, FacturxRenderingJob
from chorus_invoices.usecases.flows import Flows, FlowWorker
from chorus_invoices.usecases.pdf_deposit import PdfDeposits
from chorus_invoices.usecases.processing import Processing
from chorus_invoices.usecases.reading import Reading
from chorus_invoices.usecases.recycling import Recycling
from chorus_invoices.usecases.routing_reconciler import RoutingReconciler
from chorus_invoices.usecases.structured_deposit import StructuredDeposits
from chorus_invoices.usecases.summary import InvoiceSummaries

_SERVICE = pb.DESCRIPTOR.services_by_name["InvoicesService"].full_name
# RPCs behind the gateway's creating POSTs: a retry with the same Idempotency-Key replays the
# first answer instead of depositing again (ERP connectors retry after timeouts). Not
# StageAttachment: staging a file twice is harmless (each copy is used once or expires).
IDEMPOTENT_METHODS = {
    f"/{_SERVICE}/{method}"
    for method in (
        "CreateInvoice",
        "DepositStructuredInvoice",
        "DepositPdfInvoice",
        "DepositInvoiceBatch",
        "CompleteInvoice",
        "DepositFlow",
        "UpdateDraftInvoice",
    )
}


def build_app(
    settings: InvoicesSettings,
    *,
    pool: asyncpg.Pool,
    verifier: TokenVerifier,
    structures_channel: grpc.aio.Channel,
    background: bool = True,
    reconciler: bool | None = None,
    workers: DocumentWorkers | None = None,
    attachment_policy: AttachmentPolicy | None = None,
    revocations: RevocationFeed | None = None,
    flow_worker: bool | None = None,
    rendering: bool | None = None,
    store: DocumentStore | None = None,
) -> grpc_server.GrpcApp:
    """The service as a GrpcApp; ``background=False`` leaves out the outbox relay, the
    routing consumer and the routing reconciler (tests that look at a deposit before it is
    routed); ``reconciler`` (default: as ``background``) says for the reconciler alone (tests
    of a deposit whose event never comes). Without ``workers``
    the app starts (and stops) its own document worker processes. ``attachment_policy``
    (tests) replaces the attachment limits. ``revocations`` (the verifier's deny-list feed)
    runs in the background and gates readiness. ``flow_worker`` (default: as
    ``background``) runs the worker that processes archive flows. With ``background`` the
    ``invoices-directory`` consumer keeps the directory read model the structures client reads
    first (unless ``CHORUS_DIRECTORY_MAX_AGE_SECONDS`` is 0).

    ``settings.roles`` say what the process does: ``api`` serves InvoicesService and runs the
    jobs above; ``documents`` runs the Factur-X rendering job (``rendering``, default: as the
    role says; tests turn it off to see an invoice before its PDF), which has work only with
    ``facturx_rendering=queued``. Either way the process serves gRPC health, so a
    documents-only Deployment has its probes.

    ``store`` keeps the documents' contents (default: as ``CHORUS_DOCUMENT_STORE`` says, its
    S3 client closed with the server); with ``s3`` readiness also asks the bucket."""
    api = "api" in settings.roles
    own_store = store is None
    store = store or document_store(settings)
    directory = _directory(pool, settings)
    structures = StructuresClient(
        structures_channel, cache_seconds=settings.access_cache_seconds, directory=directory
    )
    own_workers = workers is None
    workers = workers or DocumentWorkers(
        settings.document_workers,
        timeout=settings.document_timeout_seconds,
        startup_wait=settings.document_startup_wait_seconds,
    )
    limits = DocumentLimits(
        xml=XmlLimits(max_bytes=settings.max_document_bytes),
        max_pdf_bytes=settings.max_document_bytes,
    )
    policy = attachment_policy or AttachmentPolicy()
    uow = UnitOfWork(pool, service=settings.service_name, encode=outgoing.encode)
    renderer = FacturxRenderer(store, mode=settings.facturx_rendering)
    deposits = Deposits(uow, structures, renderer, store=store, attachment_policy=policy)
    staging = AttachmentStaging(
        uow,
        structures,
        ttl=timedelta(seconds=settings.staged_attachment_ttl_seconds),
        policy=policy,
    )
    structured = StructuredDeposits(deposits, workers, limits)
    flows_worker = FlowWorker(
        uow,
        structured,
        deposits,
        workers,
        poll_seconds=settings.flow_poll_seconds,
        lease_seconds=settings.flow_lease_seconds,
    )
    run_flows = api and (background if flow_worker is None else flow_worker)
    servicer = InvoicesServicer(
        deposits=deposits,
        structured=structured,
        pdf=PdfDeposits(deposits, structures, staging, workers, limits, attachment_policy=policy),
        staging=staging,
        reading=Reading(
            uow, structures, store, workers=workers, rendering=settings.facturx_rendering
        ),
        processing=Processing(uow, structures, staging, attachment_policy=policy, store=store),
        recycling=Recycling(uow, structures, renderer, store),
        flows=Flows(
            uow,
            structures,
            deposits,
            structured,
            wake=flows_worker.wake if run_flows else lambda: None,
        ),
        summary=InvoiceSummaries(uow, structures),
    )

    def register(server: grpc.aio.Server) -> list[str]:
        if not api:
            return []
        pb_grpc.add_InvoicesServiceServicer_to_server(servicer, server)
        return [pb.DESCRIPTOR.services_by_name["InvoicesService"].full_name]

    jobs = [_workers_job(workers)] if own_workers else []
    jobs += [_closing_job(store)] if own_store and isinstance(store, S3DocumentStore) else []
    jobs += [revocations.run] if revocations and api else []
    if background and api:
        relay = OutboxRelay(settings.database_dsn, settings)
        jobs += [relay.run, routing_consumer(uow, settings).run]
        jobs += [directory_consumer(uow, settings).run] if directory is not None else []
    if api and (background if reconciler is None else reconciler):
        reconciling = RoutingReconciler(
            uow,
            after_seconds=settings.routing_reconcile_after_seconds,
            interval_seconds=settings.routing_reconcile_interval_seconds,
        )
        jobs.append(reconciling.run)
    if run_flows:
        jobs.append(flows_worker.run)
    if "documents" in settings.roles if rendering is None else rendering:
        jobs.append(rendering_job(settings, uow, workers, store).run)
    return grpc_server.GrpcApp(
        name=settings.service_name,
        port=settings.grpc_port,
        register=register,
        error_status_codes=STATUS_CODES,
        interceptors=[
            AuthInterceptor(verifier, public_methods=set()),
            RequestHygieneInterceptor(),
            IdempotencyInterceptor(pool, IDEMPOTENT_METHODS),
        ],
        # Not the document workers: the schematrons compile in the background (seconds), and
        # only structured deposits and Factur-X rendering need them; those wait for them,
        # bounded (DocumentWorkers' startup_wait), while every other RPC is served at once.
        readiness_checks=[
            checks.database_check(pool),
            *([revocations.ready] if revocations and api else []),
            *([store.objects.check] if isinstance(store, S3DocumentStore) else []),
        ],
        background=jobs,
        reflection=settings.env == "dev",
        max_connection_age_seconds=settings.grpc_max_connection_age_seconds,
        shutdown_delay_seconds=settings.shutdown_delay_seconds,
    )


def rendering_job(
    settings: InvoicesSettings,
    uow: UnitOfWork,
    workers: DocumentWorkers,
    store: DocumentStore | None = None,
) -> FacturxRenderingJob:
    """The Factur-X rendering job, as many renders in flight as there are document workers."""
    return FacturxRenderingJob(
        uow,
        workers,
        dsn=settings.database_dsn,
        concurrency=settings.document_workers,
        poll_seconds=settings.rendering_poll_seconds,
        lease_seconds=settings.rendering_lease_seconds,
        retry_seconds=settings.rendering_retry_seconds,
        max_attempts=settings.rendering_max_attempts,
        store=store,
    )


def document_store(settings: InvoicesSettings) -> DocumentStore:
    """The documents' store ``CHORUS_DOCUMENT_STORE`` names; an ``s3`` one opens its client
    (one per process, reused) at its first call."""
    if settings.document_store == "postgres":
        return PostgresDocumentStore()
    return S3DocumentStore(
        ObjectStorage(
            S3Location(
                bucket=settings.s3_bucket,
                region=settings.s3_region,
                endpoint_url=settings.s3_endpoint_url,
                access_key_id=settings.s3_access_key_id.get_secret_value(),
                secret_access_key=settings.s3_secret_access_key.get_secret_value(),
            )
        )
    )


async def close_store(store: DocumentStore) -> None:
    if isinstance(store, S3DocumentStore):
        await store.objects.close()


def _closing_job(store: DocumentStore):
    """Closes the store's S3 client (its connections) when the server stops."""

    async def run() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await close_store(store)

    return run


def _directory(pool: asyncpg.Pool, settings: InvoicesSettings) -> Directory | None:
    """The directory read model the structures client reads first, unless
    ``directory_max_age_seconds`` is 0; its consumer runs with the other ``background``
    jobs."""
    if settings.directory_max_age_seconds <= 0:
        return None
    uow = UnitOfWork(pool, service=settings.service_name, encode=outgoing.encode)
    return Directory(uow, max_age=timedelta(seconds=settings.directory_max_age_seconds))


def _workers_job(workers: DocumentWorkers):
    """Starts the workers (compiling the schematrons) in the background, once the server is
    up, and stops them with the server."""

    async def run() -> None:
        try:
            await workers.start()
            await asyncio.Event().wait()
        finally:
            await workers.close()

    return run


async def serve(settings: InvoicesSettings) -> None:
    pool = await create_pool(settings.database_dsn, max_size=settings.database_pool_max)
    structures = channel_for(settings, "structures")
    try:
        revocations = identity_revocation_feed(settings)
        async with identity_token_verifier(settings, revoked=revocations.revoked) as verifier:
            app = build_app(
                settings,
                pool=pool,
                verifier=verifier,
                structures_channel=structures,
                revocations=revocations,
            )
            async with serve_metrics(settings):
                await grpc_server.serve(app)
    finally:
        await structures.close()
        await pool.close()


def purge_documents_command(dry_run: bool):
    """``purge-documents [--dry-run]``: expired documents, staged uploads never attached and
    orphan objects (:mod:`chorus_invoices.usecases.document_purge`); prints the counts."""

    async def purge(settings: InvoicesSettings) -> None:
        pool = await create_pool(settings.database_dsn, max_size=2)
        store = document_store(settings)
        try:
            counts = await DocumentPurge(
                UnitOfWork(pool, service=settings.service_name, encode=outgoing.encode),
                store,
                retention=timedelta(days=settings.document_retention_days),
            ).run(dry_run=dry_run)
        finally:
            await close_store(store)
            await pool.close()
        for line in counts.lines(dry_run):
            print(line)

    return purge


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    # The shared CLI takes no options per command: ``--dry-run`` is taken off here.
    dry_run = args[:1] == ["purge-documents"] and "--dry-run" in args
    if dry_run:
        args.remove("--dry-run")
    settings = InvoicesSettings()
    args, purge_records = purge_records_command(purge_rules, args)
    run_cli(
        settings,
        serve=serve,
        migrations_dir=settings.migrations_path,
        extra={
            **purge_records,
            "purge-documents": (
                "purge-documents [--dry-run]: delete expired documents, staged uploads never"
                " attached and orphan objects (counts printed; --dry-run changes nothing)",
                purge_documents_command(dry_run),
            ),
        },
        argv=args,
    )
