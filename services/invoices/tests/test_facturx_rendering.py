"""The Factur-X of a portal invoice off the request path: the deposit keeps the XML and queues
the rendering, the job renders it in the document workers (claim, lease, retries), the
invoice says "en préparation" meanwhile; and the roles a process can take."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.documents.cii_writer import write_model
from chorus_invoices.documents.facturx import read_facturx_model
from chorus_invoices.store import facturx_renderings
from chorus_invoices.usecases.facturx_rendering import (
    BACKLOG_GAUGE,
    FAILED_COUNTER,
    FacturxRenderingJob,
)
from chorus_platform.unit_of_work import UnitOfWork
from facturx import get_xml_from_pdf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader


@pytest.fixture
def settings(settings):
    """The queue (``CHORUS_FACTURX_RENDERING=queued``, not the default); a running rendering
    job polls only every 10 minutes here: a deposit rendered within a test's wait was woken
    by its NOTIFY."""
    return settings.model_copy(
        update={"rendering_poll_seconds": 600.0, "facturx_rendering": "queued"}
    )


def rendering_job(api, workers, reader=None, **overrides) -> FacturxRenderingJob:
    """A rendering job on the test server's database, stepped by the test (render_next);
    its metrics read by ``reader``."""
    meter = MeterProvider(metric_readers=[reader] if reader else []).get_meter("test")
    options = dict(
        meter=meter,
        dsn=api.dsn,
        concurrency=1,
        poll_seconds=0.1,
        lease_seconds=60.0,
        retry_seconds=0.01,
        max_attempts=3,
    )
    options.update(overrides)
    return FacturxRenderingJob(UnitOfWork(api.pool, service="invoices"), workers, **options)


def metric(reader: InMemoryMetricReader, name: str) -> float:
    data = reader.get_metrics_data()
    return sum(
        point.value
        for resource in (data.resource_metrics if data else [])
        for scope in resource.scope_metrics
        for found in scope.metrics
        if found.name == name
        for point in found.data.data_points
    )


async def deposit(api, parties, make_request, **fields) -> pb.Invoice:
    request = make_request(parties, **fields)
    return (await api.call("CreateInvoice", request, parties.user)).invoice


async def get(api, parties, invoice_id: str) -> pb.Invoice:
    request = pb.GetInvoiceRequest(invoice_id=invoice_id)
    return (await api.call("GetInvoice", request, parties.user)).invoice


async def facturx_rows(api, invoice_id: str) -> list:
    return await api.fetch(
        "SELECT id, content FROM documents WHERE invoice_id = $1 AND role = 'FACTURX'", invoice_id
    )


async def test_deposit_answers_before_the_pdf_with_its_xml_listed_and_downloadable(
    start_api, parties, make_request
):
    api = await start_api(rendering=False)
    invoice = await deposit(api, parties, make_request, number="F-PREP-1")

    seen = await get(api, parties, invoice.id)
    assert seen.facturx_pending
    assert [(d.role, d.filename, d.media_type) for d in seen.documents] == [
        ("CII", "facture-F-PREP-1.xml", "application/xml")
    ]
    error = await api.fails(
        "GetInvoiceDocument", pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), parties.user
    )
    assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, "DOCUMENT_IN_PREPARATION")
    assert error.metadata["retry_after_seconds"] == "2"
    assert "en préparation" in error.message
    asked = pb.GetInvoiceDocumentRequest(invoice_id=invoice.id, role="FACTURX")
    error = await api.fails("GetInvoiceDocument", asked, parties.user)
    assert error.reason == "DOCUMENT_IN_PREPARATION"

    asked = pb.GetInvoiceDocumentRequest(invoice_id=invoice.id, role="CII")
    xml = await api.call("GetInvoiceDocument", asked, parties.user)
    assert (xml.filename, xml.media_type) == ("facture-F-PREP-1.xml", "application/xml")
    assert b"<rsm:CrossIndustryInvoice" in xml.content and b"F-PREP-1" in xml.content
    assert len(await api.fetch("SELECT 1 FROM facturx_renderings")) == 1


@pytest.mark.parametrize("role", ["ATTACHMENT", "PDF", "../x"])
async def test_a_download_of_an_unknown_role_is_refused(api, parties, make_request, role):
    invoice = await deposit(api, parties, make_request)
    asked = pb.GetInvoiceDocumentRequest(invoice_id=invoice.id, role=role)
    error = await api.fails("GetInvoiceDocument", asked, parties.user)
    assert (error.code, error.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "DOCUMENT_ROLE_INVALID",
    )


async def test_the_job_stores_one_facturx_embedding_the_deposits_xml(
    start_api, parties, make_request, document_workers
):
    api = await start_api(rendering=False)
    invoice = await deposit(api, parties, make_request, number="F-JOB-1")
    reader = InMemoryMetricReader()
    job = rendering_job(api, document_workers, reader)
    assert await job.count_backlog() == 1
    assert metric(reader, BACKLOG_GAUGE) == 1

    assert await job.render_next()
    assert not await job.render_next()

    assert await job.count_backlog() == 0
    assert metric(reader, BACKLOG_GAUGE) == 0

    [row] = await facturx_rows(api, invoice.id)
    [xml] = await api.fetch(
        "SELECT content FROM documents WHERE invoice_id = $1 AND role = 'CII'", invoice.id
    )
    _, embedded = get_xml_from_pdf(bytes(row["content"]), check_xsd=False)
    assert embedded == bytes(xml["content"])
    assert write_model(read_facturx_model(bytes(row["content"]))) == embedded
    seen = await get(api, parties, invoice.id)
    assert not seen.facturx_pending
    assert sorted(d.role for d in seen.documents) == ["CII", "FACTURX"]
    document = await api.call(
        "GetInvoiceDocument", pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), parties.user
    )
    assert (document.filename, document.media_type) == ("facture-F-JOB-1.pdf", "application/pdf")
    assert await api.count("facturx_renderings") == 0


async def test_a_claimed_rendering_is_not_claimed_again_while_its_lease_runs(
    start_api, parties, make_request, document_workers
):
    api = await start_api(rendering=False)
    await deposit(api, parties, make_request)
    async with api.pool.acquire() as conn:
        held = await facturx_renderings.claim(conn, 60.0)
    assert held is not None

    assert not await rendering_job(api, document_workers).render_next()


async def test_a_killed_jobs_rendering_is_taken_again_and_stored_once(
    start_api, parties, make_request, document_workers
):
    api = await start_api(rendering=False)
    invoice = await deposit(api, parties, make_request)
    async with api.pool.acquire() as conn:  # a job that claimed it, then was killed
        dead = await facturx_renderings.claim(conn, 0.01)
    await asyncio.sleep(0.1)  # its lease runs out
    job = rendering_job(api, document_workers)

    assert await job.render_next()
    [stored] = await facturx_rows(api, invoice.id)
    # The killed job comes back to life and finishes its rendering: it no longer holds the
    # lease, so nothing is stored over the first document.
    await job.render(dead)

    assert await facturx_rows(api, invoice.id) == [stored]
    [attempts] = await api.fetch("SELECT count(*) AS n FROM facturx_renderings")
    assert attempts["n"] == 0


async def test_a_failing_rendering_is_retried_then_kept_failed_never_lost(
    start_api, parties, make_request, document_workers
):
    api = await start_api(rendering=False)
    invoice = await deposit(api, parties, make_request)
    # A well-kept XML the renderer fails on (size and SHA-256 follow: not a corruption).
    await api.fetch(
        "UPDATE documents SET content = $2::bytea, size = length($2::bytea),"
        " sha256 = encode(sha256($2::bytea), 'hex')"
        " WHERE invoice_id = $1 AND role = 'CII'",
        invoice.id,
        b"<not-an-invoice/>",
    )
    reader = InMemoryMetricReader()
    job = rendering_job(api, document_workers, reader, max_attempts=2)

    assert await job.render_next()
    [row] = await api.fetch("SELECT attempts, failed_at, last_error FROM facturx_renderings")
    assert (row["attempts"], row["failed_at"]) == (1, None)
    assert row["last_error"]
    error = await api.fails(
        "GetInvoiceDocument", pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), parties.user
    )
    assert error.reason == "DOCUMENT_IN_PREPARATION"  # still to be tried again

    await asyncio.sleep(0.1)  # the backoff's delay
    assert await job.render_next()
    [row] = await api.fetch("SELECT attempts, failed_at FROM facturx_renderings")
    assert row["attempts"] == 2 and row["failed_at"] is not None
    assert metric(reader, FAILED_COUNTER) == 1
    assert not await job.render_next()  # failed for good: not taken again
    assert await facturx_rows(api, invoice.id) == []
    assert not (await get(api, parties, invoice.id)).facturx_pending
    error = await api.fails(
        "GetInvoiceDocument", pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), parties.user
    )
    assert error.reason == "DOCUMENT_NOT_FOUND"


async def test_a_submitted_draft_is_rendered_by_the_woken_job(api, parties, make_request):
    draft = await deposit(api, parties, make_request, draft=True, number="F-DRAFT-9")
    assert (await get(api, parties, draft.id)).documents == []

    await api.call("SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user)

    document = await api.document(pb.GetInvoiceDocumentRequest(invoice_id=draft.id), parties.user)
    assert read_facturx_model(document.content).number == "F-DRAFT-9"
    assert not (await get(api, parties, draft.id)).facturx_pending


async def test_a_documents_only_process_serves_health_not_invoices_and_renders(
    start_api, parties, make_request, wait_until
):
    front = await start_api(roles="api")
    documents = await start_api(roles="documents")
    health = health_pb2_grpc.HealthStub(documents.channel)

    async def serving() -> bool:
        answer = await health.Check(health_pb2.HealthCheckRequest(service=""))
        return answer.status == health_pb2.HealthCheckResponse.SERVING

    await wait_until(serving)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await documents.call("CreateInvoice", make_request(parties), parties.user)
    assert refused.value.code() is grpc.StatusCode.UNIMPLEMENTED

    invoice = await deposit(front, parties, make_request, number="F-ROLES-1")
    # The api-only process renders nothing; the documents-only one does.
    document = await front.document(
        pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), parties.user
    )
    assert read_facturx_model(document.content).number == "F-ROLES-1"


def test_roles_setting_refuses_unknown_roles():
    from chorus_invoices.config import InvoicesSettings
    from pydantic import ValidationError

    assert InvoicesSettings().roles == {"api", "documents"}
    assert InvoicesSettings(invoices_roles=" documents ").roles == {"documents"}
    for wrong in ("", "api,render", ","):
        with pytest.raises(ValidationError):
            InvoicesSettings(invoices_roles=wrong)
