"""GetInvoice, ListInvoices and GetInvoiceHistory over gRPC: visibility and pagination."""

from __future__ import annotations

import uuid

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb


async def deposit(api, parties, make_request, **overrides) -> pb.Invoice:
    request = make_request(parties, **overrides)
    return (await api.call("CreateInvoice", request, parties.user)).invoice


async def route(api, invoice_id: str) -> None:
    """Runs the routing handler as the consumer would (the broker path is in test_routing)."""
    await api.route(invoice_id)


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

    assert [(e.status, e.lifecycle_code, e.lifecycle_description, e.actor) for e in entries] == [
        (pb.INVOICE_STATUS_BROUILLON, 0, "", parties.user),
        (pb.INVOICE_STATUS_DEPOSEE, 200, "200 Déposée", parties.user),
        (
            pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT,
            201,
            "201 Émise — en cours d'acheminement",
            "system",
        ),
        (pb.INVOICE_STATUS_MISE_A_DISPOSITION, 203, "203 Mise à disposition", "system"),
    ]
    assert not entries[0].lifecycle_codes and not entries[0].lifecycle_label
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


def line(quantity: str, unit_price: str, vat_rate: str = "20") -> pb.InvoiceLine:
    return pb.InvoiceLine(
        description="Prestation",
        quantity=quantity,
        unit="C62",
        unit_price=unit_price,
        vat_rate=vat_rate,
    )


async def test_list_filters_by_issue_date_amount_counterparty_and_service(
    api, parties, make_request, fake_structures
):
    other = fake_structures.add(
        "Établissement Public de Santé Cœur-de-Loire", services=(("URG", True, False),)
    )
    # Gross totals: 120.00, 1200.00, 12000.00 (20 % VAT on 100, 1000, 10000).
    await deposit(
        api, parties, make_request, number="JAN", issue_date="2025-01-31", lines=[line("1", "100")]
    )
    await deposit(
        api, parties, make_request, number="FEB", issue_date="2025-02-01", lines=[line("10", "100")]
    )
    await deposit(
        api,
        parties,
        make_request,
        number="MAR",
        issue_date="2025-03-01",
        lines=[line("100", "100")],
        recipient=pb.RecipientRef(structure_id=other.id),
        service_code="urg",
    )

    async def numbers(**filters) -> list[str]:
        request = pb.ListInvoicesRequest(side=pb.LIST_SIDE_ISSUED, **filters)
        response = await api.call("ListInvoices", request, parties.user)
        return sorted(i.number for i in response.invoices)

    assert await numbers(issued_from="2025-02-01") == ["FEB", "MAR"]
    assert await numbers(issued_to="2025-02-01") == ["FEB", "JAN"]
    assert await numbers(issued_from="2025-02-01", issued_to="2025-02-01") == ["FEB"]
    assert await numbers(min_amount="1200") == ["FEB", "MAR"]
    assert await numbers(max_amount="1200.00") == ["FEB", "JAN"]
    assert await numbers(min_amount="120.01", max_amount="11999,99") == ["FEB"]
    assert await numbers(counterparty_structure_id=other.id) == ["MAR"]
    assert await numbers(counterparty_name="loire coeur") == ["MAR"]  # words, in any order
    assert await numbers(counterparty_name="coeur nantes") == []
    assert await numbers(counterparty_name="SANTE COEUR") == ["MAR"]
    assert await numbers(counterparty_name="villebois") == ["FEB", "JAN"]
    assert await numbers(service_code="URG") == ["MAR"]
    assert await numbers(service_code="URG", max_amount="100") == []


async def test_deposit_date_is_the_day_in_france(api, parties, make_request):
    late = await deposit(api, parties, make_request, number="LATE")
    draft = await deposit(api, parties, make_request, number="DRAFT", draft=True)
    # 22:30 UTC on 30 June is already 1 July in Paris (summer time, UTC+2).
    await api.fetch(
        "UPDATE invoices SET deposited_at = '2025-06-30 22:30:00+00', created_at = now()"
        " WHERE id = $1",
        uuid.UUID(late.id),
    )

    async def numbers(**filters) -> list[str]:
        request = pb.ListInvoicesRequest(side=pb.LIST_SIDE_ISSUED, **filters)
        return [i.number for i in (await api.call("ListInvoices", request, parties.user)).invoices]

    assert await numbers(deposited_from="2025-07-01", deposited_to="2025-07-01") == ["LATE"]
    assert await numbers(deposited_to="2025-06-30") == []
    # A draft was never deposited: any deposit-date bound leaves it out.
    assert draft.number not in await numbers(deposited_from="2000-01-01")
    assert draft.number in await numbers()


async def test_received_list_filters_by_supplier_name(api, parties, make_request, recipient_user):
    invoice = await deposit(api, parties, make_request)
    await route(api, invoice.id)

    async def ids(**filters) -> list[str]:
        request = pb.ListInvoicesRequest(side=pb.LIST_SIDE_RECEIVED, **filters)
        response = await api.call("ListInvoices", request, recipient_user)
        return [i.id for i in response.invoices]

    assert await ids(counterparty_name="menuiserie dupont") == [invoice.id]
    assert await ids(counterparty_structure_id=parties.supplier.id) == [invoice.id]
    assert await ids(counterparty_name="villebois") == []  # that is the recipient itself


async def test_unreadable_filters_are_all_named(api, parties):
    request = pb.ListInvoicesRequest(
        issued_from="31/01/2025",
        deposited_from="2025-03-02",
        deposited_to="2025-03-01",
        min_amount="beaucoup",
        max_amount="-5",
        counterparty_structure_id="pas-un-uuid",
    )

    error = await api.fails("ListInvoices", request, parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "FILTER_INVALID")
    assert sorted(v.field for v in error.violations) == [
        "counterparty_structure_id",
        "deposited_from",
        "issued_from",
        "max_amount",
        "min_amount",
    ]


@pytest.mark.parametrize(
    "amount",
    [
        "1e999999",
        "1E+999999999",
        "-1e999999",
        "1e-999999",
        "NaN",
        "Infinity",
        "0.001",
        "1" * 16,
        "9" * 100_000,
    ],
)
async def test_amounts_no_column_can_hold_are_filter_errors_not_failures(api, parties, amount):
    for field in ("min_amount", "max_amount"):
        error = await api.fails(
            "ListInvoices", pb.ListInvoicesRequest(**{field: amount}), parties.user
        )
        assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "FILTER_INVALID")
        assert [v.field for v in error.violations] == [field]
        assert len(error.violations[0].description) < 200


async def test_the_largest_amount_filter_still_lists(api, parties):
    response = await api.call(
        "ListInvoices",
        pb.ListInvoicesRequest(min_amount="0", max_amount="999999999999999.99"),
        parties.user,
    )
    assert list(response.invoices) == []
