"""Documents with the default store (PostgreSQL ``bytea``): every read is checked against the
size and SHA-256 kept with the row, and ``purge-documents`` deletes expired documents and
staged files (objects are the S3 store's: test_documents_s3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.store.documents import PostgresDocumentStore
from chorus_invoices.usecases.document_purge import DocumentPurge
from chorus_platform.unit_of_work import UnitOfWork


async def deposit(api, parties, make_request) -> pb.Invoice:
    return (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice


def get_document(invoice_id: str, role: str = "") -> pb.GetInvoiceDocumentRequest:
    return pb.GetInvoiceDocumentRequest(invoice_id=invoice_id, role=role)


async def test_a_content_altered_in_the_database_is_refused_never_served(
    api, parties, make_request, caplog
):
    invoice = await deposit(api, parties, make_request)
    served = await api.call("GetInvoiceDocument", get_document(invoice.id, "CII"), parties.user)
    # Same size, one byte changed: only the SHA-256 tells.
    await api.fetch(
        "UPDATE documents SET content = overlay(content placing '\\x00'::bytea from 10)"
        " WHERE invoice_id = $1 AND role = 'CII'",
        invoice.id,
    )

    error = await api.fails("GetInvoiceDocument", get_document(invoice.id, "CII"), parties.user)

    assert served.content.startswith(b"<?xml")
    assert (error.code, error.reason) == (grpc.StatusCode.DATA_LOSS, "DOCUMENT_CORRUPTED")
    assert "illisible" in error.message
    [logged] = [r for r in caplog.records if "does not match its checksum" in r.getMessage()]
    assert (logged.levelname, logged.invoice_id, logged.role) == ("ERROR", invoice.id, "CII")


async def test_purge_with_the_default_store_dry_run_then_for_real(
    api, parties, make_request, fake_structures
):
    old = await deposit(api, parties, make_request)
    recent = await deposit(api, parties, make_request)
    await api.fetch(
        "UPDATE invoices SET updated_at = now() - interval '11 years' WHERE id = $1", old.id
    )
    staged = await api.call(
        "StageAttachment",
        pb.StageAttachmentRequest(
            file=pb.AttachmentFile(filename="bon.pdf", content=b"%PDF-1.4 bon"),
            supplier_structure_id=parties.supplier.id,
        ),
        parties.user,
    )
    await api.fetch(
        "UPDATE staged_attachments SET expires_at = now() - interval '1 minute' WHERE id = $1",
        staged.staged_attachment_id,
    )
    purge = DocumentPurge(
        UnitOfWork(api.pool, service="invoices"),
        PostgresDocumentStore(),
        retention=timedelta(days=3653),
    )

    dry = await purge.run(dry_run=True)
    assert (dry.expired_invoices, dry.expired_documents, dry.staged) == (1, 1, 1)
    assert await api.count("documents") == 2 and await api.count("staged_attachments") == 1

    done = await purge.run()
    assert (done.expired_invoices, done.expired_documents, done.staged) == (1, 1, 1)
    assert done.orphan_objects == 0
    left = await api.fetch("SELECT invoice_id FROM documents")
    assert [str(row["invoice_id"]) for row in left] == [recent.id]
    assert await api.count("staged_attachments") == 0
    assert await api.count("invoices") == 2
    error = await api.fails("GetInvoiceDocument", get_document(old.id), parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "DOCUMENTS_PURGED")
    # A recent invoice without a document yet still says so (not "purged").
    draft = (
        await api.call("CreateInvoice", make_request(parties, draft=True), parties.user)
    ).invoice
    error = await api.fails("GetInvoiceDocument", get_document(draft.id, "ORIGINAL"), parties.user)
    assert error.reason == "DOCUMENT_NOT_FOUND"

    again = await purge.run(now=datetime.now(UTC))
    assert (again.expired_documents, again.staged) == (0, 0)
