"""Integer invoice ids (Chorus Pro ``identifiantFactureCPP``, issue 11): given at creation from
a sequence, carried by the answers and the events, accepted instead of the UUID by every RPC
that names one invoice, with the same access rules; and the backfill of migration 0010."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import pytest
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.config import InvoicesSettings
from chorus_platform.migrations import apply_migrations, load_migrations, platform_migrations


@pytest.fixture
def processor(parties, fake_structures) -> str:
    user = str(uuid.uuid4())
    fake_structures.grant(user, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    return user


async def create(api, parties, make_request, **overrides) -> pb.Invoice:
    return (
        await api.call("CreateInvoice", make_request(parties, **overrides), parties.user)
    ).invoice


async def test_every_invoice_gets_the_next_integer_id_drafts_included(api, parties, make_request):
    first = await create(api, parties, make_request)
    draft = await create(api, parties, make_request, draft=True)
    third = await create(api, parties, make_request)
    assert [first.cpp_id, draft.cpp_id, third.cpp_id] == [1, 2, 3]
    rows = await api.fetch("SELECT id::text, cpp_id FROM invoices ORDER BY cpp_id")
    assert [(r["id"], r["cpp_id"]) for r in rows] == [
        (first.id, 1),
        (draft.id, 2),
        (third.id, 3),
    ]
    events = await api.fetch(
        "SELECT payload FROM outbox WHERE ce_type LIKE '%InvoiceSubmitted' ORDER BY seq"
    )
    submitted = [events_pb.InvoiceSubmitted.FromString(bytes(r["payload"])) for r in events]
    assert [(e.invoice_id, e.cpp_id) for e in submitted] == [(first.id, 1), (third.id, 3)]


async def test_a_refused_deposit_uses_no_visible_id_and_ids_are_never_reused(
    api, parties, make_request
):
    first = await create(api, parties, make_request)
    duplicate = make_request(parties, number=first.number)
    error = await api.fails("CreateInvoice", duplicate, parties.user)
    assert error.reason == "INVOICE_NUMBER_DUPLICATE"
    draft = await create(api, parties, make_request, draft=True)
    await api.call("DeleteInvoice", pb.DeleteInvoiceRequest(invoice_id=draft.id), parties.user)
    after = await create(api, parties, make_request)
    assert after.cpp_id > draft.cpp_id > first.cpp_id


async def test_reads_accept_the_integer_id(api, parties, make_request):
    invoice = await create(api, parties, make_request)
    got = await api.call("GetInvoice", pb.GetInvoiceRequest(cpp_id=invoice.cpp_id), parties.user)
    assert (got.invoice.id, got.invoice.cpp_id) == (invoice.id, invoice.cpp_id)
    by_uuid = await api.call(
        "GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice.id), parties.user
    )
    assert by_uuid.invoice.cpp_id == invoice.cpp_id
    history = await api.call(
        "GetInvoiceHistory", pb.GetInvoiceHistoryRequest(cpp_id=invoice.cpp_id), parties.user
    )
    assert [e.status for e in history.entries] == [pb.INVOICE_STATUS_DEPOSEE]
    document = await api.document(pb.GetInvoiceDocumentRequest(cpp_id=invoice.cpp_id), parties.user)
    assert document.media_type == "application/pdf"
    listed = await api.call("ListInvoices", pb.ListInvoicesRequest(), parties.user)
    assert [i.cpp_id for i in listed.invoices] == [invoice.cpp_id]


async def test_processing_rpcs_accept_the_integer_id(api, parties, make_request, processor):
    invoice = await create(api, parties, make_request)
    await api.route(invoice.id)
    suspended = await api.call(
        "ChangeInvoiceStatus",
        pb.ChangeInvoiceStatusRequest(
            cpp_id=invoice.cpp_id, status=pb.INVOICE_STATUS_SUSPENDUE, reason="RIB manquant"
        ),
        processor,
    )
    assert suspended.invoice.status == pb.INVOICE_STATUS_SUSPENDUE
    completed = await api.call(
        "CompleteInvoice",
        pb.CompleteInvoiceRequest(cpp_id=invoice.cpp_id, comment="RIB joint"),
        parties.user,
    )
    assert completed.invoice.status == pb.INVOICE_STATUS_COMPLETEE
    await api.call(
        "ChangeInvoiceStatus",
        pb.ChangeInvoiceStatusRequest(
            cpp_id=invoice.cpp_id, status=pb.INVOICE_STATUS_A_RECYCLER, reason="Mauvais service"
        ),
        processor,
    )
    recycled = await api.call(
        "RecycleInvoice", pb.RecycleInvoiceRequest(cpp_id=invoice.cpp_id), parties.user
    )
    assert (recycled.invoice.status, recycled.invoice.cpp_id) == (
        pb.INVOICE_STATUS_DEPOSEE,
        invoice.cpp_id,
    )
    await api.route(invoice.id)
    await api.call(
        "ChangeInvoiceStatus",
        pb.ChangeInvoiceStatusRequest(
            cpp_id=invoice.cpp_id, status=pb.INVOICE_STATUS_REJETEE, reason="Doublon"
        ),
        processor,
    )
    acknowledged = await api.call(
        "AcknowledgeRejection", pb.AcknowledgeRejectionRequest(cpp_id=invoice.cpp_id), parties.user
    )
    assert acknowledged.invoice.HasField("rejection_acknowledged_at")
    rows = await api.fetch(
        "SELECT ce_type, payload FROM outbox WHERE key = $1 ORDER BY seq", invoice.id
    )
    kinds = {
        "InvoiceSubmitted": events_pb.InvoiceSubmitted,
        "InvoiceStatusChanged": events_pb.InvoiceStatusChanged,
        "InvoiceRejectionAcknowledged": events_pb.InvoiceRejectionAcknowledged,
    }
    decoded = [kinds[r["ce_type"].rsplit(".", 1)[-1]].FromString(bytes(r["payload"])) for r in rows]
    assert len(decoded) >= 8
    assert {e.cpp_id for e in decoded} == {invoice.cpp_id}


@pytest.mark.parametrize(
    ("rpc", "request_type"),
    [
        ("GetInvoice", pb.GetInvoiceRequest),
        ("GetInvoiceHistory", pb.GetInvoiceHistoryRequest),
        ("GetInvoiceDocument", pb.GetInvoiceDocumentRequest),
        ("ChangeInvoiceStatus", pb.ChangeInvoiceStatusRequest),
        ("CompleteInvoice", pb.CompleteInvoiceRequest),
        ("RecycleInvoice", pb.RecycleInvoiceRequest),
        ("AcknowledgeRejection", pb.AcknowledgeRejectionRequest),
    ],
)
async def test_refusals_by_integer_id(api, parties, make_request, rpc, request_type):
    invoice = await create(api, parties, make_request)
    both = await api.fails(
        rpc, request_type(invoice_id=invoice.id, cpp_id=invoice.cpp_id), parties.user
    )
    assert (both.code, both.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVOICE_REFERENCE_AMBIGUOUS",
    )
    assert [v.field for v in both.violations] == ["cpp_id"]
    for unknown in (invoice.cpp_id + 1000, -invoice.cpp_id, 2**63 - 1):
        error = await api.fails(rpc, request_type(cpp_id=unknown), parties.user)
        assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "INVOICE_NOT_FOUND")
    stranger = str(uuid.uuid4())
    error = await api.fails(rpc, request_type(cpp_id=invoice.cpp_id), stranger)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "INVOICE_NOT_FOUND")
    history = await api.fetch("SELECT count(*) AS n FROM invoice_history")
    assert history[0]["n"] == 1  # nothing moved


async def test_the_recipient_sees_by_integer_id_only_once_made_available(
    api, parties, make_request, processor
):
    invoice = await create(api, parties, make_request)
    lookup = pb.GetInvoiceRequest(cpp_id=invoice.cpp_id)
    error = await api.fails("GetInvoice", lookup, processor)
    assert error.code == grpc.StatusCode.NOT_FOUND
    await api.route(invoice.id)
    seen = await api.call("GetInvoice", lookup, processor)
    assert seen.invoice.id == invoice.id


async def test_migration_numbers_invoices_stored_before_in_deposit_order(postgres_server):
    """Rows stored under migration 0009 get 1..n in deposit order (drafts by creation), and
    the sequence continues after them."""
    name = f"invoices_cpp_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(postgres_server.url_for(name))
    try:
        every = platform_migrations() + load_migrations(
            "invoices", InvoicesSettings().migrations_path
        )
        before = [m for m in every if m.component == "platform" or m.version < 10]
        await apply_migrations(conn, before)
        now = datetime.now(UTC)
        rows = [  # (number, created, deposited): deposited later than created, or a draft
            ("C", now - timedelta(hours=5), now - timedelta(hours=1)),
            ("A", now - timedelta(hours=4), now - timedelta(hours=3)),
            ("DRAFT", now - timedelta(hours=2), None),
            ("B", now - timedelta(hours=6), now - timedelta(hours=2, minutes=30)),
        ]
        for number, created, deposited in rows:
            await conn.execute(
                "INSERT INTO invoices (id, number, supplier_structure_id, recipient_structure_id,"
                " framework, type, issue_date, issue_year, currency, net_total, vat_total,"
                " gross_total, amount_due, status, created_by, created_at, updated_at,"
                " deposited_at) VALUES ($1, $2, 's', 'r', 'A1_FACTURE_FOURNISSEUR', 'FACTURE',"
                " '2025-01-02', 2025, 'EUR', 1, 0, 1, 1, $3, 'u', $4, $4, $5)",
                uuid.uuid4(),
                number,
                "DEPOSEE" if deposited else "BROUILLON",
                created,
                deposited,
            )
        await apply_migrations(conn, every)
        numbered = await conn.fetch("SELECT number, cpp_id FROM invoices ORDER BY cpp_id")
        assert [(r["number"], r["cpp_id"]) for r in numbered] == [
            ("A", 1),
            ("B", 2),
            ("DRAFT", 3),
            ("C", 4),
        ]
        assert await conn.fetchval("SELECT nextval('invoices_cpp_id_seq')") == 5
    finally:
        await conn.close()
