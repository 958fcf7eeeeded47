"""The Factur-X of a portal invoice rendered at its first download (``CHORUS_FACTURX_RENDERING``
``on_demand``, the default): the deposit keeps the XML and queues nothing, the invoice lists
its Factur-X, the first download renders it in the document workers and stores it, later ones
read it; access is checked before any rendering."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.config import InvoicesSettings
from chorus_invoices.documents.facturx import read_facturx_model
from chorus_invoices.documents.workers import DocumentWorkers
from chorus_invoices.domain.documents import DocumentRole, new_document
from chorus_invoices.store.documents import PostgresDocumentStore
from facturx import get_xml_from_pdf


class CountingWorkers:
    """The session's real document workers (or ``inner`` when a test sets it), counting the
    documents handed to them."""

    def __init__(self, inner: DocumentWorkers) -> None:
        self.inner = inner
        self.calls: list[str] = []

    async def run(self, fn, *args):
        self.calls.append(fn.__name__)
        return await self.inner.run(fn, *args)


@pytest.fixture
def document_workers(document_workers) -> CountingWorkers:
    return CountingWorkers(document_workers)


async def deposit(api, parties, make_request, **fields) -> pb.Invoice:
    request = make_request(parties, **fields)
    return (await api.call("CreateInvoice", request, parties.user)).invoice


async def get(api, parties, invoice_id: str) -> pb.Invoice:
    request = pb.GetInvoiceRequest(invoice_id=invoice_id)
    return (await api.call("GetInvoice", request, parties.user)).invoice


async def download(
    api, user: str, invoice_id: str, role: str = ""
) -> pb.GetInvoiceDocumentResponse:
    request = pb.GetInvoiceDocumentRequest(invoice_id=invoice_id, role=role)
    return await api.call("GetInvoiceDocument", request, user)


async def facturx_rows(api, invoice_id: str) -> list:
    return await api.fetch(
        "SELECT id, content FROM documents WHERE invoice_id = $1 AND role = 'FACTURX'", invoice_id
    )


def test_on_demand_is_the_default_and_the_setting_refuses_other_modes():
    from pydantic import ValidationError

    assert InvoicesSettings().facturx_rendering == "on_demand"
    assert InvoicesSettings(facturx_rendering="queued").facturx_rendering == "queued"
    with pytest.raises(ValidationError):
        InvoicesSettings(facturx_rendering="lazy")


async def test_a_deposit_queues_nothing_and_lists_its_facturx_to_render(
    api, parties, make_request, document_workers
):
    invoice = await deposit(api, parties, make_request, number="F-OD-1")

    assert await api.count("facturx_renderings") == 0
    seen = await get(api, parties, invoice.id)
    assert not seen.facturx_pending
    assert [(d.role, d.filename, d.media_type, d.size) for d in seen.documents][-1] == (
        "FACTURX",
        "facture-F-OD-1.pdf",
        "application/pdf",
        0,
    )
    assert sorted(d.role for d in seen.documents) == ["CII", "FACTURX"]
    assert await facturx_rows(api, invoice.id) == []
    assert document_workers.calls == []  # listing renders nothing


async def test_the_first_download_renders_and_stores_later_ones_read_it(
    api, parties, make_request, document_workers
):
    invoice = await deposit(api, parties, make_request, number="F-OD-2")

    first = await download(api, parties.user, invoice.id)

    assert (first.filename, first.media_type) == ("facture-F-OD-2.pdf", "application/pdf")
    assert document_workers.calls == ["make_facturx_of_xml"]
    [row] = await facturx_rows(api, invoice.id)
    assert bytes(row["content"]) == first.content
    xml = await download(api, parties.user, invoice.id, "CII")
    _, embedded = get_xml_from_pdf(first.content, check_xsd=False)
    assert embedded == xml.content
    assert read_facturx_model(first.content).number == "F-OD-2"

    again = await download(api, parties.user, invoice.id, "FACTURX")

    assert again.content == first.content
    assert document_workers.calls == ["make_facturx_of_xml"]  # not rendered again
    assert await facturx_rows(api, invoice.id) == [row]
    listed = [d for d in (await get(api, parties, invoice.id)).documents if d.role == "FACTURX"]
    assert [(d.id, d.size) for d in listed] == [(str(row["id"]), len(first.content))]


async def test_two_first_downloads_at_once_store_one_pdf_and_get_it_both(
    api, parties, make_request
):
    invoice = await deposit(api, parties, make_request)

    one, two = await asyncio.gather(
        download(api, parties.user, invoice.id), download(api, parties.user, invoice.id)
    )

    [row] = await facturx_rows(api, invoice.id)
    assert one.content == two.content == bytes(row["content"])


async def test_a_rendering_is_stored_once_and_only_from_the_invoices_current_xml(
    api, parties, make_request
):
    invoice = await deposit(api, parties, make_request)
    store = PostgresDocumentStore()
    [cii] = await api.fetch(
        "SELECT id FROM documents WHERE invoice_id = $1 AND role = 'CII'", invoice.id
    )

    def rendered(content: bytes):
        return new_document(
            str(uuid.uuid4()),
            DocumentRole.FACTURX,
            "f.pdf",
            "application/pdf",
            content,
            datetime.now(UTC),
        )

    async with api.pool.acquire() as conn:
        assert await store.put_rendered(conn, invoice.id, rendered(b"%PDF-1"), str(cii["id"]))
        # A second rendering (another download at the same time) keeps the first.
        assert not await store.put_rendered(conn, invoice.id, rendered(b"%PDF-2"), str(cii["id"]))
        assert (await store.by_role(conn, invoice.id, DocumentRole.FACTURX)).content == b"%PDF-1"
        await store.remove(conn, invoice.id, DocumentRole.FACTURX)
        # A rendering of an XML replaced meanwhile (the invoice recycled) is not kept.
        stale = str(uuid.uuid4())
        assert not await store.put_rendered(conn, invoice.id, rendered(b"%PDF-3"), stale)
        assert await store.by_role(conn, invoice.id, DocumentRole.FACTURX) is None


async def test_someone_without_access_is_refused_before_any_rendering(
    api, parties, make_request, document_workers
):
    invoice = await deposit(api, parties, make_request)
    stranger = str(uuid.uuid4())

    for role in ("", "FACTURX"):
        request = pb.GetInvoiceDocumentRequest(invoice_id=invoice.id, role=role)
        error = await api.fails("GetInvoiceDocument", request, stranger)
        assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "INVOICE_NOT_FOUND")

    assert document_workers.calls == []
    assert await facturx_rows(api, invoice.id) == []


async def test_workers_still_starting_answer_unavailable_and_store_nothing(
    api, parties, make_request, document_workers
):
    invoice = await deposit(api, parties, make_request)
    starting = DocumentWorkers(1, warm=False, startup_wait=0.001)  # never ready that soon
    document_workers.inner = starting
    try:
        request = pb.GetInvoiceDocumentRequest(invoice_id=invoice.id)
        error = await api.fails("GetInvoiceDocument", request, parties.user)
    finally:
        await starting.close()

    assert (error.code, error.reason) == (
        grpc.StatusCode.UNAVAILABLE,
        "DOCUMENT_WORKERS_STARTING",
    )
    assert await facturx_rows(api, invoice.id) == []


async def test_a_rendering_that_fails_answers_unavailable_and_keeps_the_xml(
    api, parties, make_request
):
    invoice = await deposit(api, parties, make_request)
    # A well-kept XML the renderer fails on (size and SHA-256 follow: not a corruption).
    await api.fetch(
        "UPDATE documents SET content = $2::bytea, size = length($2::bytea),"
        " sha256 = encode(sha256($2::bytea), 'hex')"
        " WHERE invoice_id = $1 AND role = 'CII'",
        invoice.id,
        b"<not-an-invoice/>",
    )

    error = await api.fails(
        "GetInvoiceDocument", pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), parties.user
    )

    assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, "FACTURX_RENDERING_FAILED")
    assert "XML (CII) reste téléchargeable" in error.message
    assert await facturx_rows(api, invoice.id) == []
    xml = await download(api, parties.user, invoice.id, "CII")
    assert xml.content == b"<not-an-invoice/>"


async def test_a_recycled_invoice_drops_its_pdf_and_renders_the_new_xml(
    api, parties, make_request, fake_structures
):
    invoice = await deposit(api, parties, make_request, number="F-OD-REC")
    await api.route(invoice.id)
    before = await download(api, parties.user, invoice.id)
    assert read_facturx_model(before.content).buyer.name == "Commune de Villebois"
    processor = str(uuid.uuid4())
    fake_structures.grant(processor, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    await api.call(
        "ChangeInvoiceStatus",
        pb.ChangeInvoiceStatusRequest(
            invoice_id=invoice.id, status=pb.INVOICE_STATUS_A_RECYCLER, reason="Mauvais service"
        ),
        processor,
    )
    right = fake_structures.add("Préfecture du Rhône")

    await api.call(
        "RecycleInvoice",
        pb.RecycleInvoiceRequest(invoice_id=invoice.id, recipient_structure_id=right.id),
        parties.user,
    )

    assert await facturx_rows(api, invoice.id) == []
    assert await api.count("facturx_renderings") == 0
    after = await download(api, parties.user, invoice.id)
    assert read_facturx_model(after.content).buyer.name == "Préfecture du Rhône"


async def test_a_submitted_draft_queues_nothing_and_renders_at_its_download(
    api, parties, make_request
):
    draft = await deposit(api, parties, make_request, draft=True, number="F-OD-DRAFT")
    assert (await get(api, parties, draft.id)).documents == []

    await api.call("SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user)

    assert await api.count("facturx_renderings") == 0
    document = await download(api, parties.user, draft.id)
    assert read_facturx_model(document.content).number == "F-OD-DRAFT"
