"""ListInvoices for the Chorus Pro searches (issue 11): paging by number with the true total,
several statuses, type, the time of the last status change, several counterparties, the flow
number, downloads by the recipient; and the deposit mode each channel records."""

from __future__ import annotations

import uuid
from datetime import timedelta

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from .test_structured_deposit_api import CORPUS, UBL_BUYER, UBL_SELLER, with_siret


async def create(api, parties, make_request, **overrides) -> pb.Invoice:
    return (
        await api.call("CreateInvoice", make_request(parties, **overrides), parties.user)
    ).invoice


async def listed(api, user, **fields) -> pb.ListInvoicesResponse:
    return await api.call("ListInvoices", pb.ListInvoicesRequest(**fields), user)


@pytest.fixture
def recipient_user(parties, fake_structures) -> str:
    user = str(uuid.uuid4())
    fake_structures.grant(user, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    return user


async def test_pages_by_number_with_the_true_total(api, parties, make_request):
    created = [await create(api, parties, make_request) for _ in range(23)]
    newest_first = [i.id for i in reversed(created)]
    pages = [await listed(api, parties.user, page_number=n, page_size=10) for n in (1, 2, 3, 4)]
    assert [len(p.invoices) for p in pages] == [10, 10, 3, 0]
    assert {p.total_size for p in pages} == {23}
    assert {p.page_size for p in pages} == {10}
    assert {p.next_page_token for p in pages} == {""}
    assert [i.id for p in pages for i in p.invoices] == newest_first
    whole = await listed(api, parties.user, page_number=1, page_size=5000)
    assert (whole.page_size, whole.total_size, len(whole.invoices)) == (1000, 23, 23)


async def test_token_paging_stays_and_tells_the_total(api, parties, make_request):
    for _ in range(5):
        await create(api, parties, make_request)
    first = await listed(api, parties.user, page_size=3)
    assert (len(first.invoices), first.total_size, first.page_size) == (3, 5, 3)
    assert first.next_page_token
    second = await listed(api, parties.user, page_size=3, page_token=first.next_page_token)
    assert (len(second.invoices), second.total_size, second.next_page_token) == (2, 5, "")
    capped = await listed(api, parties.user, page_size=500)
    assert capped.page_size == 100


async def test_paging_refusals(api, parties, make_request):
    await create(api, parties, make_request)
    token = (await listed(api, parties.user, page_size=1)).next_page_token or "x"
    both = await api.fails(
        "ListInvoices", pb.ListInvoicesRequest(page_number=1, page_token=token), parties.user
    )
    assert (both.code, both.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID")
    negative = await api.fails("ListInvoices", pb.ListInvoicesRequest(page_number=-1), parties.user)
    assert (negative.reason, [v.field for v in negative.violations]) == (
        "PAGE_NUMBER_INVALID",
        ["page_number"],
    )


async def test_several_statuses_and_the_type(api, parties, make_request):
    routed = await create(api, parties, make_request)
    await api.route(routed.id)
    draft = await create(api, parties, make_request, draft=True)
    deposited = await create(api, parties, make_request)
    credit = await create(api, parties, make_request, type=pb.INVOICE_TYPE_AVOIR)

    both = await listed(
        api,
        parties.user,
        statuses=[pb.INVOICE_STATUS_BROUILLON, pb.INVOICE_STATUS_MISE_A_DISPOSITION],
    )
    assert {i.id for i in both.invoices} == {routed.id, draft.id}
    assert both.total_size == 2
    union = await listed(
        api, parties.user, status=pb.INVOICE_STATUS_DEPOSEE, statuses=[pb.INVOICE_STATUS_BROUILLON]
    )
    assert {i.id for i in union.invoices} == {draft.id, deposited.id, credit.id}
    credits = await listed(api, parties.user, type=pb.INVOICE_TYPE_AVOIR)
    assert [i.id for i in credits.invoices] == [credit.id]
    invoices_only = await listed(api, parties.user, type=pb.INVOICE_TYPE_FACTURE)
    assert credit.id not in {i.id for i in invoices_only.invoices}
    assert invoices_only.total_size == 3

    unknown = await api.fails(
        "ListInvoices",
        pb.ListInvoicesRequest(statuses=[pb.INVOICE_STATUS_DEPOSEE, 99]),
        parties.user,
    )
    assert (unknown.reason, [v.field for v in unknown.violations]) == (
        "FILTER_INVALID",
        ["statuses[1]"],
    )
    bad_type = await api.fails("ListInvoices", pb.ListInvoicesRequest(type=7), parties.user)
    assert (bad_type.reason, [v.field for v in bad_type.violations]) == ("FILTER_INVALID", ["type"])


def stamp(value) -> Timestamp:
    result = Timestamp()
    result.FromDatetime(value)
    return result


async def test_time_of_the_last_status_change(api, parties, make_request):
    older = await create(api, parties, make_request)
    moved = await create(api, parties, make_request)
    await api.route(moved.id)
    rows = await api.fetch(
        "SELECT id::text, updated_at FROM invoices WHERE id = ANY($1::uuid[])", [older.id, moved.id]
    )
    changed = {r["id"]: r["updated_at"] for r in rows}
    assert changed[moved.id] > changed[older.id]

    since = await listed(api, parties.user, status_changed_from=stamp(changed[moved.id]))
    assert [i.id for i in since.invoices] == [moved.id]
    until = await listed(api, parties.user, status_changed_to=stamp(changed[older.id]))
    assert [i.id for i in until.invoices] == [older.id]
    window = await listed(
        api,
        parties.user,
        status_changed_from=stamp(changed[older.id]),
        status_changed_to=stamp(changed[moved.id]),
    )
    assert window.total_size == 2

    reversed_range = await api.fails(
        "ListInvoices",
        pb.ListInvoicesRequest(
            status_changed_from=stamp(changed[moved.id]),
            status_changed_to=stamp(changed[moved.id] - timedelta(seconds=1)),
        ),
        parties.user,
    )
    assert [v.field for v in reversed_range.violations] == ["status_changed_from"]
    out_of_range = await api.fails(
        "ListInvoices",
        pb.ListInvoicesRequest(status_changed_to=Timestamp(seconds=10**15)),
        parties.user,
    )
    assert (out_of_range.code, out_of_range.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "FILTER_INVALID",
    )
    assert [v.field for v in out_of_range.violations] == ["status_changed_to"]


async def test_several_counterparties_and_the_flow_number(
    api, parties, make_request, fake_structures
):
    second = fake_structures.add("Département du Val")
    third = fake_structures.add("Syndicat des eaux")
    to_first = await create(api, parties, make_request)
    to_second = await create(
        api, parties, make_request, recipient=pb.RecipientRef(structure_id=second.id)
    )
    await create(api, parties, make_request, recipient=pb.RecipientRef(structure_id=third.id))

    chosen = await listed(
        api, parties.user, counterparty_structure_ids=[parties.recipient.id, second.id]
    )
    assert {i.id for i in chosen.invoices} == {to_first.id, to_second.id}
    with_single = await listed(
        api,
        parties.user,
        counterparty_structure_id=second.id,
        counterparty_structure_ids=[parties.recipient.id],
    )
    assert with_single.total_size == 2
    bad = await api.fails(
        "ListInvoices",
        pb.ListInvoicesRequest(counterparty_structure_ids=[second.id, "pas-un-uuid"]),
        parties.user,
    )
    assert (bad.reason, [v.field for v in bad.violations]) == (
        "FILTER_INVALID",
        ["counterparty_structure_ids[1]"],
    )

    number = "CPP0000000000000000000042"
    await api.fetch("UPDATE invoices SET flow_number = $1 WHERE id = $2", number, to_second.id)
    in_flow = await listed(api, parties.user, flow_number=number.lower())
    assert [(i.id, i.flow_number) for i in in_flow.invoices] == [(to_second.id, number)]
    assert (
        await listed(api, parties.user, flow_number="CPP0000000000000000000043")
    ).total_size == 0


async def test_downloads_by_the_recipient_are_recorded_and_filtered(
    api, parties, make_request, recipient_user
):
    fetched = await create(api, parties, make_request)
    untouched = await create(api, parties, make_request)
    for invoice in (fetched, untouched):
        await api.route(invoice.id)
    document = pb.GetInvoiceDocumentRequest(invoice_id=fetched.id)
    await api.document(document, parties.user)  # the supplier: not counted
    got = await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=fetched.id), parties.user)
    assert not got.invoice.HasField("recipient_downloaded_at")

    await api.document(document, recipient_user)
    first = await api.call(
        "GetInvoice", pb.GetInvoiceRequest(invoice_id=fetched.id), recipient_user
    )
    assert first.invoice.HasField("recipient_downloaded_at")
    await api.document(document, recipient_user)
    again = await api.call(
        "GetInvoice", pb.GetInvoiceRequest(invoice_id=fetched.id), recipient_user
    )
    assert again.invoice.recipient_downloaded_at == first.invoice.recipient_downloaded_at
    assert again.invoice.status == pb.INVOICE_STATUS_MISE_A_DISPOSITION
    assert again.invoice.updated_at == first.invoice.updated_at

    received = pb.LIST_SIDE_RECEIVED
    downloaded = await listed(api, recipient_user, side=received, downloaded_by_recipient=True)
    assert [i.id for i in downloaded.invoices] == [fetched.id]
    waiting = await listed(api, recipient_user, side=received, downloaded_by_recipient=False)
    assert [i.id for i in waiting.invoices] == [untouched.id]
    assert (await listed(api, recipient_user, side=received)).total_size == 2


async def test_each_channel_records_its_deposit_mode(api, parties, make_request, fake_structures):
    entry = await create(api, parties, make_request)
    assert (entry.deposit_mode, entry.flow_number) == (pb.DEPOSIT_MODE_ENTRY, "")
    supplier = with_siret(fake_structures.add("Atelier Dupont SARL", public=False), UBL_SELLER)
    with_siret(
        fake_structures.add("Commune de Valmont", services=(("SERV-TECH", True, False),)), UBL_BUYER
    )
    fake_structures.grant(parties.user, supplier.id, "FACTURES_EMISES", "MODIFICATION")
    ubl = (CORPUS / "valid/ubl-invoice.xml").read_bytes()
    file = await api.call(
        "DepositStructuredInvoice",
        pb.DepositStructuredInvoiceRequest(
            supplier_structure_id=supplier.id, filename="f.xml", content=ubl
        ),
        parties.user,
    )
    assert file.invoice.deposit_mode == pb.DEPOSIT_MODE_FILE
    got = await api.call(
        "GetInvoice", pb.GetInvoiceRequest(invoice_id=file.invoice.id), parties.user
    )
    assert got.invoice.deposit_mode == pb.DEPOSIT_MODE_FILE
    modes = await api.fetch("SELECT deposit_mode FROM invoices ORDER BY cpp_id")
    assert [r["deposit_mode"] for r in modes] == ["ENTRY", "FILE"]
