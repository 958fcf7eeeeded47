"""ListInvoices for the rest of the Chorus Pro search criteria (issue 11): net total (HT) and
amount due bounds, the framework, the deposit modes, acknowledged rejections, and the order
of a list (paging by number only), with their refusals; over real gRPC and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb


def line(price: str) -> pb.InvoiceLine:
    return pb.InvoiceLine(
        description="Prestation", quantity="1", unit="C62", unit_price=price, vat_rate="20"
    )


async def create(api, parties, make_request, price: str, **overrides) -> pb.Invoice:
    request = make_request(parties, lines=[line(price)], **overrides)
    return (await api.call("CreateInvoice", request, parties.user)).invoice


async def listed(api, user, **fields) -> pb.ListInvoicesResponse:
    return await api.call("ListInvoices", pb.ListInvoicesRequest(**fields), user)


async def ids(api, user, **fields) -> list[str]:
    return [i.id for i in (await listed(api, user, **fields)).invoices]


async def test_net_total_and_amount_due_bounds(api, parties, make_request):
    small = await create(api, parties, make_request, "100.00")  # 100 HT, 120 TTC, 120 due
    middle = await create(api, parties, make_request, "500.00")  # 500 HT, 600 TTC, 600 due
    # 1000 HT, 1200 TTC, 200 already paid: 1000 due.
    prepaid = await create(api, parties, make_request, "1000.00", prepaid_amount="200.00")
    assert (prepaid.totals.net_total, prepaid.totals.amount_due) == ("1000.00", "1000.00")

    user = parties.user
    assert set(await ids(api, user, min_net_amount="500")) == {middle.id, prepaid.id}
    assert set(await ids(api, user, max_net_amount="500.00")) == {small.id, middle.id}
    assert await ids(api, user, min_net_amount="100,00", max_net_amount="499.99") == [small.id]
    assert set(await ids(api, user, min_amount_due="600", max_amount_due="1000")) == {
        middle.id,
        prepaid.id,
    }
    # The gross total bounds stay on TTC: 1200 for the prepaid one.
    assert await ids(api, user, min_amount="1100") == [prepaid.id]
    assert await ids(api, user, min_amount_due="1100") == []
    combined = await listed(api, user, min_net_amount="200", max_amount_due="700")
    assert ([i.id for i in combined.invoices], combined.total_size) == ([middle.id], 1)


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        ({"min_net_amount": "beaucoup"}, ["min_net_amount"]),
        ({"max_amount_due": "-1"}, ["max_amount_due"]),
        ({"min_amount_due": "1e999999"}, ["min_amount_due"]),
        ({"min_net_amount": "10", "max_net_amount": "9"}, ["min_net_amount"]),
        ({"min_amount_due": "10", "max_amount_due": "9.99"}, ["min_amount_due"]),
        ({"framework": 42}, ["framework"]),
        ({"deposit_modes": [pb.DEPOSIT_MODE_FLOW, 99]}, ["deposit_modes[1]"]),
        ({"deposit_modes": [pb.DEPOSIT_MODE_UNSPECIFIED]}, ["deposit_modes[0]"]),
        ({"order_by": 99, "page_number": 1}, ["order_by"]),
    ],
)
async def test_criteria_that_do_not_read_are_refused(api, parties, fields, violations):
    error = await api.fails("ListInvoices", pb.ListInvoicesRequest(**fields), parties.user)
    assert (error.reason, [v.field for v in error.violations]) == ("FILTER_INVALID", violations)


async def test_framework_and_deposit_modes(api, parties, make_request):
    a1 = await create(api, parties, make_request, "10.00")
    a2 = await create(
        api,
        parties,
        make_request,
        "20.00",
        framework=pb.FRAMEWORK_A2_FACTURE_FOURNISSEUR_DEJA_PAYEE,
    )
    await api.fetch("UPDATE invoices SET deposit_mode = 'PDF' WHERE id = $1", a2.id)
    user = parties.user
    paid = pb.FRAMEWORK_A2_FACTURE_FOURNISSEUR_DEJA_PAYEE
    assert await ids(api, user, framework=paid) == [a2.id]
    assert await ids(api, user, framework=pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR) == [a1.id]
    assert (await listed(api, user, framework=pb.FRAMEWORK_A9_FACTURE_SOUSTRAITANT)).total_size == 0
    assert await ids(api, user, deposit_modes=[pb.DEPOSIT_MODE_ENTRY]) == [a1.id]
    assert await ids(api, user, deposit_modes=[pb.DEPOSIT_MODE_PDF]) == [a2.id]
    assert set(
        await ids(api, user, deposit_modes=[pb.DEPOSIT_MODE_PDF, pb.DEPOSIT_MODE_ENTRY])
    ) == {a1.id, a2.id}
    assert (
        await listed(api, user, deposit_modes=[pb.DEPOSIT_MODE_FILE, pb.DEPOSIT_MODE_BATCH])
    ).total_size == 0


async def test_acknowledged_rejections(api, parties, make_request, fake_structures):
    processor = str(uuid.uuid4())
    fake_structures.grant(processor, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    rejected = [await create(api, parties, make_request, "10.00") for _ in range(2)]
    other = await create(api, parties, make_request, "10.00")
    for invoice in rejected:
        await api.route(invoice.id)
        await api.call(
            "ChangeInvoiceStatus",
            pb.ChangeInvoiceStatusRequest(
                invoice_id=invoice.id, status=pb.INVOICE_STATUS_REJETEE, reason="Hors marché"
            ),
            processor,
        )
    await api.call(
        "AcknowledgeRejection",
        pb.AcknowledgeRejectionRequest(invoice_id=rejected[0].id),
        parties.user,
    )
    user = parties.user
    assert await ids(api, user, rejection_acknowledged=True) == [rejected[0].id]
    assert set(await ids(api, user, rejection_acknowledged=False)) == {rejected[1].id, other.id}
    to_process = await listed(
        api, user, statuses=[pb.INVOICE_STATUS_REJETEE], rejection_acknowledged=False
    )
    assert [i.id for i in to_process.invoices] == [rejected[1].id]
    assert (await listed(api, user)).total_size == 3


async def test_order_by_a_column_either_way(api, parties, make_request):
    made = {
        number: await create(
            api,
            parties,
            make_request,
            price,
            number=number,
            issue_date=issued,
            engagement_number=engagement,
        )
        for number, price, issued, engagement in (
            ("B-2", "300.00", "2025-01-10", "EJ-B"),
            ("A-1", "100.00", "2025-03-01", ""),
            ("C-3", "200.00", "2025-02-05", "EJ-A"),
        )
    }
    user = parties.user

    async def numbers(order: int, ascending: bool, **more) -> list[str]:
        found = await listed(
            api, user, page_number=1, page_size=10, order_by=order, ascending=ascending, **more
        )
        assert found.total_size == 3
        return [i.number for i in found.invoices]

    assert await numbers(pb.LIST_ORDER_NUMBER, True) == ["A-1", "B-2", "C-3"]
    assert await numbers(pb.LIST_ORDER_NUMBER, False) == ["C-3", "B-2", "A-1"]
    assert await numbers(pb.LIST_ORDER_ISSUE_DATE, True) == ["B-2", "C-3", "A-1"]
    assert await numbers(pb.LIST_ORDER_GROSS_TOTAL, False) == ["B-2", "C-3", "A-1"]
    assert await numbers(pb.LIST_ORDER_NET_TOTAL, True) == ["A-1", "C-3", "B-2"]
    assert await numbers(pb.LIST_ORDER_AMOUNT_DUE, True) == ["A-1", "C-3", "B-2"]
    # Empty last either way.
    assert await numbers(pb.LIST_ORDER_ENGAGEMENT_NUMBER, True) == ["C-3", "B-2", "A-1"]
    assert await numbers(pb.LIST_ORDER_ENGAGEMENT_NUMBER, False) == ["B-2", "C-3", "A-1"]
    # Deposit time: the default is newest first; ascending turns it.
    assert await numbers(pb.LIST_ORDER_UNSPECIFIED, False) == ["C-3", "A-1", "B-2"]
    assert await numbers(pb.LIST_ORDER_DEPOSITED_AT, True) == ["B-2", "A-1", "C-3"]
    # Pages follow the order, ties broken by deposit time.
    second = await listed(
        api, user, page_number=2, page_size=2, order_by=pb.LIST_ORDER_NUMBER, ascending=True
    )
    assert [i.number for i in second.invoices] == ["C-3"]
    same_status = await listed(
        api, user, page_number=1, page_size=10, order_by=pb.LIST_ORDER_STATUS, ascending=True
    )
    assert [i.number for i in same_status.invoices] == ["C-3", "A-1", "B-2"]
    assert made["A-1"].id in {i.id for i in same_status.invoices}


async def test_another_order_needs_paging_by_number(api, parties, make_request):
    await create(api, parties, make_request, "10.00")
    for fields in ({"order_by": pb.LIST_ORDER_NUMBER}, {"ascending": True}):
        error = await api.fails("ListInvoices", pb.ListInvoicesRequest(**fields), parties.user)
        assert (error.reason, [v.field for v in error.violations]) == (
            "FILTER_INVALID",
            ["order_by"],
        )
    # The default order is the keyset's: token paging keeps it.
    found = await listed(api, parties.user, order_by=pb.LIST_ORDER_DEPOSITED_AT)
    assert found.total_size == 1


async def test_order_by_counterparty_on_each_side(api, parties, make_request, fake_structures):
    zoo = fake_structures.add("Zoo municipal")
    abbey = fake_structures.add("Abbaye de Valmont")
    for recipient in (zoo, abbey, parties.recipient):
        await create(
            api,
            parties,
            make_request,
            "10.00",
            recipient=pb.RecipientRef(structure_id=recipient.id),
        )
    found = await listed(
        api,
        parties.user,
        page_number=1,
        order_by=pb.LIST_ORDER_COUNTERPARTY_NAME,
        ascending=True,
    )
    names = [i.recipient_structure_id for i in found.invoices]
    assert names == [abbey.id, parties.recipient.id, zoo.id]
