"""GetInvoice, ListInvoices and GetInvoiceHistory over gRPC: visibility and pagination."""

from __future__ import annotations

import uuid

import asyncpg
import grpc
import pytest
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.events.routing import route_submitted_invoice
from chorus_platform.cloudevents import Envelope


async def deposit(api, parties, make_request, **overrides) -> pb.Invoice:
    request = make_request(parties, **overrides)
    return (await api.call("CreateInvoice", request, parties.user)).invoice


async def route(api, invoice_id: str) -> None:
    """Runs the routing handler as the consumer would (the broker path is in test_routing)."""
    conn = await asyncpg.connect(api.dsn)
    try:
        async with conn.transaction():
            message = events_pb.InvoiceSubmitted(invoice_id=invoice_id)
            envelope = Envelope(str(uuid.uuid4()), "t", "", "", "", "", None)
            await route_submitted_invoice(conn, message, envelope)
    finally:
        await conn.close()


def get(invoice_id: str) -> pb.GetInvoiceRequest:
    return pb.GetInvoiceRequest(invoice_id=invoice_id)


@pytest.fixture
def recipient_user(parties, fake_structures) -> str:
    user = str(uuid.uuid4())
    fake_structures.grant(user, parties.recipient.id, "FACTURES_RECUES", "CONSULTATION")
    return user


async def test_supplier_reads_the_invoice_with_lines_and_totals(api, parties, make_request):
    invoice = await deposit(api, parties, make_request, service_code="", comment="Merci")

    seen = (await api.call("GetInvoice", get(invoice.id), parties.user)).invoice

    assert seen.id == invoice.id
    assert seen.status == pb.INVOICE_STATUS_DEPOSEE
    assert seen.lifecycle_code == 200
    assert seen.comment == "Merci"
    assert seen.issue_date == "2025-03-14"
    assert seen.framework == pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR
    assert [(li.quantity, li.unit_price, li.vat_rate, li.net_amount) for li in seen.lines] == [
        ("3", "410.50", "20", "1231.50")
    ]
    assert seen.totals == invoice.totals
    assert seen.created_by == parties.user
    assert seen.created_at == invoice.created_at
    assert list(seen.allowed_actions) == []


@pytest.mark.parametrize(
    "invoice_id", [str(uuid.uuid4()), "not-a-uuid", ""], ids=["unknown", "malformed", "empty"]
)
async def test_unknown_or_malformed_invoice_is_not_found(api, parties, invoice_id):
    error = await api.fails("GetInvoice", get(invoice_id), parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "INVOICE_NOT_FOUND")


async def test_someone_elses_invoice_is_not_found(api, parties, make_request, fake_structures):
    invoice = await deposit(api, parties, make_request)
    await route(api, invoice.id)
    stranger = str(uuid.uuid4())
    other = fake_structures.add("Autre SARL", public=False)
    fake_structures.grant(stranger, other.id, "FACTURES_EMISES", "MODIFICATION")
    fake_structures.grant(stranger, other.id, "FACTURES_RECUES", "MODIFICATION")

    for rpc, request in [
        ("GetInvoice", get(invoice.id)),
        ("GetInvoiceHistory", pb.GetInvoiceHistoryRequest(invoice_id=invoice.id)),
    ]:
        error = await api.fails(rpc, request, stranger)
        assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "INVOICE_NOT_FOUND")


async def test_recipient_sees_the_invoice_only_once_made_available(
    api, parties, make_request, recipient_user
):
    draft = await deposit(api, parties, make_request, draft=True)
    deposited = await deposit(api, parties, make_request)

    for invoice in (draft, deposited):
        error = await api.fails("GetInvoice", get(invoice.id), recipient_user)
        assert error.code == grpc.StatusCode.NOT_FOUND
    received = pb.ListInvoicesRequest(side=pb.LIST_SIDE_RECEIVED)
    assert not (await api.call("ListInvoices", received, recipient_user)).invoices

    await route(api, deposited.id)

    seen = (await api.call("GetInvoice", get(deposited.id), recipient_user)).invoice
    assert seen.status == pb.INVOICE_STATUS_MISE_A_DISPOSITION
    assert seen.lifecycle_code == 203
    listed = (await api.call("ListInvoices", received, recipient_user)).invoices
    assert [i.id for i in listed] == [deposited.id]


async def test_history_lists_every_status_oldest_first(api, parties, make_request):
    draft = await deposit(api, parties, make_request, draft=True)
    await api.call("SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user)
    await route(api, draft.id)

    entries = (
        await api.call(
            "GetInvoiceHistory", pb.GetInvoiceHistoryRequest(invoice_id=draft.id), parties.user
        )
    ).entries

    assert [(e.status, e.lifecycle_code, e.actor) for e in entries] == [
        (pb.INVOICE_STATUS_BROUILLON, 0, parties.user),
        (pb.INVOICE_STATUS_DEPOSEE, 200, parties.user),
        (pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT, 201, "system"),
        (pb.INVOICE_STATUS_MISE_A_DISPOSITION, 203, "system"),
    ]
    times = [e.at.ToDatetime() for e in entries]
    assert times == sorted(times) and len(set(times)) == 4


async def test_issued_list_pages_newest_first_without_gaps(api, parties, make_request):
    created = [(await deposit(api, parties, make_request, number=f"F-{i}")).id for i in range(5)]

    seen, token, pages = [], "", 0
    while True:
        response = await api.call(
            "ListInvoices",
            pb.ListInvoicesRequest(side=pb.LIST_SIDE_ISSUED, page_size=2, page_token=token),
            parties.user,
        )
        seen += [i.id for i in response.invoices]
        pages += 1
        token = response.next_page_token
        if not token:
            break

    assert seen == list(reversed(created))
    assert pages == 3


async def test_list_filters_by_status_number_and_structure(
    api, parties, make_request, fake_structures
):
    await deposit(api, parties, make_request, number="AB-1")
    await deposit(api, parties, make_request, number="ab-2", draft=True)
    await deposit(api, parties, make_request, number="CD-3")
    hidden = fake_structures.add("Structure d'un autre", public=False)

    async def numbers(**filters) -> list[str]:
        request = pb.ListInvoicesRequest(side=pb.LIST_SIDE_ISSUED, **filters)
        response = await api.call("ListInvoices", request, parties.user)
        return sorted(i.number for i in response.invoices)

    assert await numbers() == ["AB-1", "CD-3", "ab-2"]
    assert await numbers(number="ab") == ["AB-1", "ab-2"]
    assert await numbers(status=pb.INVOICE_STATUS_BROUILLON) == ["ab-2"]
    assert await numbers(status=pb.INVOICE_STATUS_DEPOSEE, number="cd") == ["CD-3"]
    assert await numbers(structure_id=parties.supplier.id) == ["AB-1", "CD-3", "ab-2"]
    assert await numbers(structure_id=hidden.id) == []
    assert await numbers(structure_id="not-mine") == []


async def test_list_shows_nothing_of_structures_the_caller_cannot_consult(
    api, parties, make_request
):
    await deposit(api, parties, make_request)

    response = await api.call(
        "ListInvoices", pb.ListInvoicesRequest(side=pb.LIST_SIDE_ISSUED), str(uuid.uuid4())
    )

    assert list(response.invoices) == []
    assert response.next_page_token == ""


@pytest.mark.parametrize("token", ["garbage!", "eyJhdCI6IjEifQ", "W10"])
async def test_bad_page_token_is_invalid_argument(api, parties, token):
    error = await api.fails("ListInvoices", pb.ListInvoicesRequest(page_token=token), parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID")


async def test_access_answers_are_cached_briefly(api, parties, make_request, fake_structures):
    invoice = await deposit(api, parties, make_request)
    await api.call("GetInvoice", get(invoice.id), parties.user)
    before = fake_structures.calls["CheckAccess"]

    for _ in range(3):
        await api.call("GetInvoice", get(invoice.id), parties.user)

    assert before > 0
    assert fake_structures.calls["CheckAccess"] == before
