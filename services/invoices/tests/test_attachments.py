"""Attachments: the pure rules, add_attachments in a transaction, GetInvoiceAttachment over
real gRPC with GetInvoice's visibility."""

from __future__ import annotations

import uuid

import asyncpg
import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.domain.attachments import (
    AttachmentPolicy,
    AttachmentUpload,
    check_attachments,
)
from chorus_invoices.usecases.attachments import add_attachments
from chorus_platform.errors import InvalidArgument

POLICY = AttachmentPolicy(max_bytes=100, max_total_bytes=250)


def refusal(uploads, already=0) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as raised:
        check_attachments(uploads, already, POLICY)
    return raised.value


def test_acceptable_attachments_pass():
    check_attachments([AttachmentUpload("bon-de-commande.PDF", b"x" * 100)], 150, POLICY)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("a" * 47 + ".pdf", b"x", "ATTACHMENT_NAME_TOO_LONG"),
        ("../etc/passwd.txt", b"x", "ATTACHMENT_NAME_INVALID"),
        (" ", b"x", "ATTACHMENT_NAME_INVALID"),
        ("script.exe", b"x", "ATTACHMENT_EXTENSION_FORBIDDEN"),
        ("sans-extension", b"x", "ATTACHMENT_EXTENSION_FORBIDDEN"),
        ("vide.txt", b"", "ATTACHMENT_EMPTY"),
        ("gros.png", b"x" * 101, "ATTACHMENT_TOO_LARGE"),
    ],
)
def test_each_bad_file_is_refused_with_its_reason(name, content, reason):
    error = refusal([AttachmentUpload("ok.txt", b"x"), AttachmentUpload(name, content)])
    assert error.reason == reason
    assert [v.field for v in error.violations] == ["attachments[1]"]


def test_the_invoice_total_is_bounded():
    error = refusal([AttachmentUpload("a.pdf", b"x" * 100)], already=200)
    assert error.reason == "ATTACHMENTS_TOO_LARGE"


def get_attachment(invoice_id: str, document_id: str) -> pb.GetInvoiceAttachmentRequest:
    return pb.GetInvoiceAttachmentRequest(invoice_id=invoice_id, document_id=document_id)


async def attach(dsn: str, invoice_id: str, uploads, policy=None):
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            return await add_attachments(conn, invoice_id, uploads, policy=policy)
    finally:
        await conn.close()


async def test_attachments_are_kept_listed_and_served_to_who_sees_the_invoice(
    api, parties, make_request, fake_structures
):
    invoice = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice
    uploads = [
        AttachmentUpload("bon-de-commande.pdf", b"%PDF-1.4 bon"),
        AttachmentUpload("releve.csv", b"a;b\n1;2\n"),
    ]
    infos = await attach(api.dsn, invoice.id, uploads)

    got = await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice.id), parties.user)
    attachments = [d for d in got.invoice.documents if d.role == "ATTACHMENT"]
    assert [(d.id, d.filename, d.size) for d in attachments] == [
        (info.id, info.filename, info.size) for info in infos
    ]
    served = await api.call(
        "GetInvoiceAttachment", get_attachment(invoice.id, infos[1].id), parties.user
    )
    assert (served.filename, served.media_type, served.content) == (
        "releve.csv",
        "text/csv",
        b"a;b\n1;2\n",
    )

    stranger = str(uuid.uuid4())
    other = fake_structures.add("Autre SARL", public=False)
    fake_structures.grant(stranger, other.id, "FACTURES_EMISES", "MODIFICATION")
    error = await api.fails(
        "GetInvoiceAttachment", get_attachment(invoice.id, infos[0].id), stranger
    )
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "INVOICE_NOT_FOUND")
    for document_id in (str(uuid.uuid4()), "pas-un-uuid"):
        error = await api.fails(
            "GetInvoiceAttachment", get_attachment(invoice.id, document_id), parties.user
        )
        assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "ATTACHMENT_NOT_FOUND")


async def test_a_refused_batch_of_attachments_keeps_nothing(api, parties, make_request):
    invoice = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice
    first = [AttachmentUpload("a.txt", b"x" * 90), AttachmentUpload("b.txt", b"x" * 90)]
    await attach(api.dsn, invoice.id, first, POLICY)
    with pytest.raises(InvalidArgument) as raised:
        await attach(api.dsn, invoice.id, [AttachmentUpload("c.txt", b"x" * 90)], POLICY)
    assert raised.value.reason == "ATTACHMENTS_TOO_LARGE"
    rows = await api.fetch(
        "SELECT filename FROM documents WHERE invoice_id = $1 AND role = 'ATTACHMENT'", invoice.id
    )
    assert sorted(r["filename"] for r in rows) == ["a.txt", "b.txt"]
