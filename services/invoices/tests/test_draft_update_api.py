"""CreateInvoice's dry run (the portal's "Vérifier" step), UpdateDraftInvoice (a draft edited,
kept or deposited) and staged attachments on an entered invoice, over real gRPC and
PostgreSQL."""

from __future__ import annotations

import uuid

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb

TABLES = ("invoices", "invoice_lines", "invoice_vat_breakdown", "invoice_history", "outbox")


def line(description="Prestation", quantity="1", unit_price="100", vat_rate="20"):
    return pb.InvoiceLine(
        description=description, quantity=quantity, unit_price=unit_price, vat_rate=vat_rate
    )


async def draft_of(api, parties, make_request, **fields) -> pb.Invoice:
    request = make_request(parties, draft=True, **fields)
    return (await api.call("CreateInvoice", request, parties.user)).invoice


def update(invoice_id: str, request: pb.CreateInvoiceRequest) -> pb.UpdateDraftInvoiceRequest:
    return pb.UpdateDraftInvoiceRequest(invoice_id=invoice_id, invoice=request)


async def stored(api) -> list[tuple]:
    rows = await api.fetch("SELECT status, number, gross_total::text FROM invoices ORDER BY 2")
    return [tuple(r) for r in rows]


# --- dry run ----------------------------------------------------------------------------


async def test_a_dry_run_answers_the_computed_invoice_and_stores_nothing(
    api, parties, make_request
):
    request = make_request(
        parties, lines=[line("A", "3", "410.50", "20"), line("B", "2", "10", "5.5")]
    )
    request.dry_run = True

    invoice = (await api.call("CreateInvoice", request, parties.user)).invoice

    assert invoice.id == ""
    assert invoice.recipient_structure_id == parties.recipient.id
    assert (invoice.totals.net_total, invoice.totals.vat_total, invoice.totals.gross_total) == (
        "1251.50",
        "247.40",
        "1498.90",
    )
    assert [(v.rate, v.base, v.amount) for v in invoice.totals.vat_breakdown] == [
        ("20", "1231.50", "246.30"),
        ("5.5", "20.00", "1.10"),
    ]
    for table in TABLES:
        assert await api.count(table) == 0, table


async def test_a_dry_run_refuses_like_a_deposit(api, parties, make_request, fake_structures):
    fake_structures.structures[parties.recipient.id].routing.engagement_required = True
    await api.structure_changed(parties.recipient)
    request = make_request(parties, dry_run=True)

    error = await api.fails("CreateInvoice", request, parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "ENGAGEMENT_REQUIRED")
    assert await api.count("invoices") == 0


# --- UpdateDraftInvoice -----------------------------------------------------------------


async def test_a_draft_is_edited_and_stays_a_draft(api, parties, make_request):
    draft = await draft_of(api, parties, make_request, number="BR-1")
    edited = make_request(parties, number="BR-2", lines=[line("Nouvelle", "2", "50")], draft=True)

    invoice = (await api.call("UpdateDraftInvoice", update(draft.id, edited), parties.user)).invoice

    assert (invoice.id, invoice.status, invoice.number) == (
        draft.id,
        pb.INVOICE_STATUS_BROUILLON,
        "BR-2",
    )
    assert [(li.description, li.net_amount) for li in invoice.lines] == [("Nouvelle", "100.00")]
    assert await stored(api) == [("BROUILLON", "BR-2", "120.00")]
    assert await api.count("invoice_lines") == 1
    assert await api.count("outbox") == 0


async def test_a_draft_edited_then_deposited_is_announced_once(api, parties, make_request):
    draft = await draft_of(api, parties, make_request, number="BR-3")
    edited = make_request(parties, number="BR-3", lines=[line("Ouvrage", "1", "1000")])

    invoice = (await api.call("UpdateDraftInvoice", update(draft.id, edited), parties.user)).invoice

    assert (invoice.id, invoice.status) == (draft.id, pb.INVOICE_STATUS_DEPOSEE)
    assert invoice.totals.gross_total == "1200.00"
    events = await api.fetch("SELECT key, ce_type FROM outbox")
    assert [tuple(e) for e in events] == [(draft.id, "chorus.invoices.events.v1.InvoiceSubmitted")]
    history = await api.fetch("SELECT status FROM invoice_history ORDER BY seq")
    assert [r["status"] for r in history] == ["BROUILLON", "DEPOSEE"]

    again = await api.fails("UpdateDraftInvoice", update(draft.id, edited), parties.user)

    assert (again.code, again.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INVALID_STATUS_TRANSITION",
    )
    assert await stored(api) == [("DEPOSEE", "BR-3", "1200.00")]


async def test_a_refused_edit_changes_nothing(api, parties, make_request):
    draft = await draft_of(api, parties, make_request, number="BR-4")
    edited = make_request(
        parties, number="BR-4", lines=[line("Ouvrage", "1200000", "999999999999")], draft=True
    )

    error = await api.fails("UpdateDraftInvoice", update(draft.id, edited), parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "AMOUNT_TOO_LARGE")
    assert await stored(api) == [("BROUILLON", "BR-4", "1477.80")]


async def test_only_the_suppliers_editors_may_edit_a_draft(
    api, parties, make_request, fake_structures
):
    draft = await draft_of(api, parties, make_request, number="BR-5")
    reader, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    fake_structures.grant(reader, parties.supplier.id, "FACTURES_EMISES", "CONSULTATION")
    other = fake_structures.add("Autre fournisseur SAS", public=False)
    fake_structures.grant(stranger, other.id, "FACTURES_EMISES", "MODIFICATION")
    edited = make_request(parties, number="BR-6", draft=True)

    denied = await api.fails("UpdateDraftInvoice", update(draft.id, edited), reader)
    hidden = await api.fails("UpdateDraftInvoice", update(draft.id, edited), stranger)
    moved = make_request(parties, number="BR-6", draft=True, supplier_structure_id=other.id)
    fake_structures.grant(parties.user, other.id, "FACTURES_EMISES", "MODIFICATION")
    changed = await api.fails("UpdateDraftInvoice", update(draft.id, moved), parties.user)

    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")
    assert (hidden.code, hidden.reason) == (grpc.StatusCode.NOT_FOUND, "INVOICE_NOT_FOUND")
    assert (changed.code, changed.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "SUPPLIER_CHANGED")
    assert await stored(api) == [("BROUILLON", "BR-5", "1477.80")]


# --- staged attachments on an entered invoice --------------------------------------------


async def test_an_entered_invoice_keeps_its_staged_attachments(api, parties, make_request):
    staged = await api.call(
        "StageAttachment",
        pb.StageAttachmentRequest(
            file=pb.AttachmentFile(filename="bon-de-livraison.pdf", content=b"%PDF-1.4 bon"),
            supplier_structure_id=parties.supplier.id,
        ),
        parties.user,
    )
    request = make_request(parties, staged_attachment_ids=[staged.staged_attachment_id])

    invoice = (await api.call("CreateInvoice", request, parties.user)).invoice

    seen = (
        await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice.id), parties.user)
    ).invoice
    assert "bon-de-livraison.pdf" in [d.filename for d in seen.documents]
    assert await api.count("staged_attachments") == 0
