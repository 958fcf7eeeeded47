"""CreateInvoice and SubmitInvoice over gRPC, on a real database (no routing running)."""

from __future__ import annotations

import uuid

import grpc
import pytest
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.documents.facturx import read_facturx_model
from chorus_platform.rpc_status import from_rpc_error

TABLES = ("invoices", "invoice_lines", "invoice_vat_breakdown", "invoice_history", "outbox")


async def assert_nothing_stored(api) -> None:
    for table in TABLES:
        assert await api.count(table) == 0, table


def line(description="Prestation", quantity="1", unit_price="100", vat_rate="20"):
    return pb.InvoiceLine(
        description=description, quantity=quantity, unit_price=unit_price, vat_rate=vat_rate
    )


async def test_deposit_computes_totals_and_stores_deposee_with_submitted_event(
    api, parties, make_request
):
    request = make_request(
        parties,
        lines=[
            line("Fenêtres", "3", "410.50", "20"),
            line("Livres", "7", "12.345", "5.5"),
            line("Presse", "11", "1.99", "2.1"),
            line("Formation", "1", "250", "0"),
            line("Poignées", "2", "0.125", "20"),
        ],
        vat_exemption_reason="Formation professionnelle, art. 261-4-4° a du CGI",
    )

    invoice = (await api.call("CreateInvoice", request, parties.user)).invoice

    assert invoice.status == pb.INVOICE_STATUS_DEPOSEE
    assert invoice.lifecycle_code == 200
    assert [li.net_amount for li in invoice.lines] == [
        "1231.50",
        "86.42",
        "21.89",
        "250.00",
        "0.25",
    ]
    totals = invoice.totals
    assert [(v.rate, v.base, v.amount) for v in totals.vat_breakdown] == [
        ("20", "1231.75", "246.35"),
        ("5.5", "86.42", "4.75"),
        ("2.1", "21.89", "0.46"),
        ("0", "250.00", "0.00"),
    ]
    assert (totals.net_total, totals.vat_total, totals.gross_total, totals.amount_due) == (
        "1590.06",
        "251.56",
        "1841.62",
        "1841.62",
    )
    rows = await api.fetch("SELECT status, supplier_name, recipient_name FROM invoices")
    assert [tuple(r) for r in rows] == [
        ("DEPOSEE", "Menuiserie Dupont SARL", "Commune de Villebois")
    ]
    assert await api.count("invoice_lines") == 5
    history = await api.fetch("SELECT status, actor FROM invoice_history")
    assert [tuple(r) for r in history] == [("DEPOSEE", parties.user)]
    events = await api.fetch("SELECT key, ce_type, payload FROM outbox")
    assert len(events) == 1
    assert events[0]["key"] == invoice.id
    assert events[0]["ce_type"] == "chorus.invoices.events.v1.InvoiceSubmitted"
    submitted = events_pb.InvoiceSubmitted.FromString(events[0]["payload"])
    assert submitted.invoice_id == invoice.id
    assert submitted.submitted_by == parties.user
    assert submitted.gross_total == "1841.62"
    assert submitted.recipient_structure_id == parties.recipient.id
    assert invoice.vat_exemption_reason.startswith("Formation professionnelle")


async def test_caller_token_is_forwarded_to_structures(api, parties, make_request):
    await api.call("CreateInvoice", make_request(parties), parties.user)

    expected = dict(api.as_user(parties.user))["authorization"]
    assert api.structures.authorizations
    assert set(api.structures.authorizations) == {expected}


async def test_recipient_can_be_named_by_siret(api, parties, make_request):
    ref = pb.RecipientRef(identifier_type="SIRET", identifier=parties.recipient.identifier)

    invoice = (
        await api.call("CreateInvoice", make_request(parties, recipient=ref), parties.user)
    ).invoice

    assert invoice.recipient_structure_id == parties.recipient.id


@pytest.mark.parametrize(
    ("recipient_settings", "service_code", "engagement", "reason", "field"),
    [
        ({"service_code_required": True}, "", "", "SERVICE_CODE_REQUIRED", "service_code"),
        ({}, "NOPE", "", "SERVICE_CODE_UNKNOWN", "service_code"),
        ({}, "OLD", "", "SERVICE_CODE_UNKNOWN", "service_code"),
        ({"engagement_required": True}, "", "", "ENGAGEMENT_REQUIRED", "engagement_number"),
        ({}, "ACHATS", "", "ENGAGEMENT_REQUIRED", "engagement_number"),
        (
            {"service_or_engagement_required": True},
            "",
            "",
            "SERVICE_OR_ENGAGEMENT_REQUIRED",
            "service_code",
        ),
    ],
    ids=[
        "service-code-missing",
        "service-code-unknown",
        "service-inactive",
        "engagement-missing",
        "service-needs-engagement",
        "service-or-engagement-missing",
    ],
)
async def test_routing_parameters_refuse_deposit_and_store_nothing(
    api, parties, make_request, recipient_settings, service_code, engagement, reason, field
):
    recipient = api.structures.add(
        "Hôpital de Lorient",
        services=(("TECH", True, False), ("OLD", False, False), ("ACHATS", True, True)),
        **recipient_settings,
    )
    request = make_request(
        parties,
        recipient=pb.RecipientRef(structure_id=recipient.id),
        service_code=service_code,
        engagement_number=engagement,
    )

    error = await api.fails("CreateInvoice", request, parties.user)

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == reason
    assert [v.field for v in error.violations] == [field]
    await assert_nothing_stored(api)


@pytest.mark.parametrize(
    ("recipient_settings", "service_code", "engagement"),
    [
        ({"service_code_required": True}, "tech", ""),
        ({"engagement_required": True}, "", "EJ-2025-001"),
        ({"service_or_engagement_required": True}, "", "EJ-2025-001"),
        ({"service_or_engagement_required": True}, "TECH", ""),
        ({}, "ACHATS", "EJ-2025-001"),
    ],
)
async def test_routing_parameters_met_are_accepted(
    api, parties, make_request, recipient_settings, service_code, engagement
):
    recipient = api.structures.add(
        "Hôpital de Lorient",
        services=(("TECH", True, False), ("ACHATS", True, True)),
        **recipient_settings,
    )
    request = make_request(
        parties,
        recipient=pb.RecipientRef(structure_id=recipient.id),
        service_code=service_code,
        engagement_number=engagement,
    )

    invoice = (await api.call("CreateInvoice", request, parties.user)).invoice

    assert invoice.status == pb.INVOICE_STATUS_DEPOSEE
    assert invoice.service_code == service_code.upper()


@pytest.mark.parametrize(
    ("recipient_kind", "reason"),
    [
        ({"public": False}, "RECIPIENT_NOT_PUBLIC"),
        ({"active": False}, "RECIPIENT_INACTIVE"),
    ],
)
async def test_recipient_must_be_an_active_public_structure(
    api, parties, make_request, recipient_kind, reason
):
    recipient = api.structures.add("Société Martin", **recipient_kind)
    request = make_request(parties, recipient=pb.RecipientRef(structure_id=recipient.id))

    error = await api.fails("CreateInvoice", request, parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    await assert_nothing_stored(api)


@pytest.mark.parametrize(
    "ref",
    [
        pb.RecipientRef(structure_id=str(uuid.uuid4())),
        pb.RecipientRef(structure_id="not-an-id"),
        pb.RecipientRef(identifier_type="SIRET", identifier="00000000000000"),
    ],
    ids=["unknown-id", "malformed-id", "unknown-siret"],
)
async def test_unknown_recipient_is_refused(api, parties, make_request, ref):
    error = await api.fails("CreateInvoice", make_request(parties, recipient=ref), parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "RECIPIENT_NOT_FOUND")
    await assert_nothing_stored(api)


async def test_duplicate_number_same_supplier_same_year_already_exists(api, parties, make_request):
    await api.call("CreateInvoice", make_request(parties, number="F-2025-001"), parties.user)

    error = await api.fails(
        "CreateInvoice",
        make_request(parties, number="F-2025-001", issue_date="2025-12-31", draft=True),
        parties.user,
    )

    assert (error.code, error.reason) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "INVOICE_NUMBER_DUPLICATE",
    )
    assert await api.count("invoices") == 1
    assert await api.count("outbox") == 1
    assert await api.count("invoice_history") == 1


async def test_same_number_is_free_in_another_year_or_for_another_supplier(
    api, parties, make_request, fake_structures
):
    await api.call("CreateInvoice", make_request(parties, number="F-001"), parties.user)
    last_year = make_request(parties, number="F-001", issue_date="2024-06-01")
    await api.call("CreateInvoice", last_year, parties.user)
    other = fake_structures.add("Plomberie Leroy", public=False)
    fake_structures.grant(parties.user, other.id, "FACTURES_EMISES", "MODIFICATION")
    await api.call(
        "CreateInvoice",
        make_request(parties, number="F-001", supplier_structure_id=other.id),
        parties.user,
    )

    assert await api.count("invoices") == 3


@pytest.mark.parametrize("grant", [None, "CONSULTATION"])
async def test_deposit_needs_issued_invoices_modification_right(
    api, parties, make_request, fake_structures, grant
):
    outsider = str(uuid.uuid4())
    if grant:
        fake_structures.grant(outsider, parties.supplier.id, "FACTURES_EMISES", grant)

    error = await api.fails("CreateInvoice", make_request(parties), outsider)

    assert (error.code, error.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")
    await assert_nothing_stored(api)


async def test_invalid_lines_are_reported_with_their_paths(api, parties, make_request):
    request = make_request(
        parties,
        number="F 001 !",
        lines=[
            line(quantity="2"),
            line(quantity="0"),
            line(vat_rate="19.666"),
            line(unit_price="-5"),
            line(description=" "),
        ],
    )

    error = await api.fails("CreateInvoice", request, parties.user)

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "INVOICE_NUMBER_INVALID"
    assert [v.field for v in error.violations] == [
        "number",
        "lines[1].quantity",
        "lines[2].vat_rate",
        "lines[3].unit_price",
        "lines[4].description",
    ]
    await assert_nothing_stored(api)


async def test_invoice_without_lines_is_refused(api, parties, make_request):
    error = await api.fails("CreateInvoice", make_request(parties, lines=[]), parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "LINES_REQUIRED")


async def test_calls_without_a_valid_token_are_unauthenticated(api, parties, make_request):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await api.stub.CreateInvoice(make_request(parties))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await api.stub.GetInvoice(
            pb.GetInvoiceRequest(invoice_id=str(uuid.uuid4())),
            metadata=(("authorization", "Bearer forged"),),
        )
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_draft_is_stored_without_event_then_submitted(api, parties, make_request):
    draft = (
        await api.call("CreateInvoice", make_request(parties, draft=True), parties.user)
    ).invoice
    assert draft.status == pb.INVOICE_STATUS_BROUILLON
    assert draft.lifecycle_code == 0
    assert await api.count("outbox") == 0
    seen = (
        await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=draft.id), parties.user)
    ).invoice
    assert list(seen.allowed_actions) == ["SUBMIT", "DELETE"]

    submitted = (
        await api.call("SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user)
    ).invoice

    assert submitted.status == pb.INVOICE_STATUS_DEPOSEE
    assert submitted.lifecycle_code == 200
    assert submitted.totals.gross_total == draft.totals.gross_total == "1477.80"
    assert len(submitted.lines) == 1
    assert list(submitted.allowed_actions) == []
    events = await api.fetch("SELECT key, ce_type FROM outbox")
    assert [tuple(e) for e in events] == [(draft.id, "chorus.invoices.events.v1.InvoiceSubmitted")]
    history = await api.fetch("SELECT status, actor FROM invoice_history ORDER BY seq")
    assert [tuple(r) for r in history] == [
        ("BROUILLON", parties.user),
        ("DEPOSEE", parties.user),
    ]


async def test_submitting_twice_is_a_failed_precondition(api, parties, make_request):
    draft = (
        await api.call("CreateInvoice", make_request(parties, draft=True), parties.user)
    ).invoice
    await api.call("SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user)

    error = await api.fails(
        "SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user
    )

    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INVALID_STATUS_TRANSITION",
    )
    assert await api.count("outbox") == 1


async def test_submit_checks_the_recipient_again(api, parties, make_request, fake_structures):
    draft = (
        await api.call("CreateInvoice", make_request(parties, draft=True), parties.user)
    ).invoice
    fake_structures.structures[parties.recipient.id].routing.engagement_required = True
    await api.structure_changed(parties.recipient)

    error = await api.fails(
        "SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user
    )

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "ENGAGEMENT_REQUIRED")
    rows = await api.fetch("SELECT status FROM invoices")
    assert [r["status"] for r in rows] == ["BROUILLON"]
    assert await api.count("outbox") == 0


async def test_submit_needs_modification_right_and_hides_others_drafts(
    api, parties, make_request, fake_structures
):
    draft = (
        await api.call("CreateInvoice", make_request(parties, draft=True), parties.user)
    ).invoice
    reader, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    fake_structures.grant(reader, parties.supplier.id, "FACTURES_EMISES", "CONSULTATION")
    fake_structures.grant(stranger, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    request = pb.SubmitInvoiceRequest(invoice_id=draft.id)

    denied = await api.fails("SubmitInvoice", request, reader)
    hidden = await api.fails("SubmitInvoice", request, stranger)

    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")
    assert (hidden.code, hidden.reason) == (grpc.StatusCode.NOT_FOUND, "INVOICE_NOT_FOUND")
    assert await api.count("outbox") == 0


async def test_a_deposit_retried_with_its_idempotency_key_is_stored_once(
    api, parties, make_request
):
    request = make_request(parties)
    keyed = (*api.as_user(parties.user), ("idempotency-key", f"erp-{uuid.uuid4()}"))

    first = (await api.stub.CreateInvoice(request, metadata=keyed)).invoice
    again = (await api.stub.CreateInvoice(request, metadata=keyed)).invoice

    assert again == first
    assert await api.count("invoices") == 1
    assert await api.count("outbox") == 1  # one InvoiceSubmitted
    # The same key for another invoice is a mistake of the client, not a second deposit.
    other = make_request(parties, number="AUTRE-1")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.stub.CreateInvoice(other, metadata=keyed)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await api.count("invoices") == 1


async def test_a_credit_note_corrects_a_deposited_invoice_of_the_same_recipient(
    api, parties, make_request, fake_structures
):
    await api.call("CreateInvoice", make_request(parties, number="F-100"), parties.user)
    await api.call("CreateInvoice", make_request(parties, number="F-101", draft=True), parties.user)

    def credit_note(number: str, corrected: str, **changes) -> pb.CreateInvoiceRequest:
        return make_request(
            parties,
            number=number,
            type=pb.INVOICE_TYPE_AVOIR,
            preceding_invoice_number=corrected,
            **changes,
        )

    avoir = (await api.call("CreateInvoice", credit_note("AV-1", "F-100"), parties.user)).invoice
    assert (avoir.type, avoir.preceding_invoice_number) == (pb.INVOICE_TYPE_AVOIR, "F-100")
    document = await api.document(pb.GetInvoiceDocumentRequest(invoice_id=avoir.id), parties.user)
    stated = read_facturx_model(document.content)
    assert (stated.type_code, stated.preceding_invoices[0].number) == ("381", "F-100")
    # An invoice issued before the supplier used the portal is not known here: accepted.
    await api.call("CreateInvoice", credit_note("AV-2", "PAPIER-2019-7"), parties.user)

    other = fake_structures.add("Commune voisine")
    refusals = [
        credit_note("AV-3", "F-101"),  # a draft
        credit_note("AV-4", "AV-1"),  # a credit note
        credit_note("AV-5", "F-100", recipient=pb.RecipientRef(structure_id=other.id)),
    ]
    for request in refusals:
        error = await api.fails("CreateInvoice", request, parties.user)
        assert (error.reason, error.violations[0].field) == (
            "CREDIT_NOTE_REFERENCE_INVALID",
            "preceding_invoice_number",
        )
    assert await api.count("invoices") == 4


async def test_a_control_character_in_a_line_is_refused_with_its_path(api, parties, make_request):
    request = make_request(parties)
    request.lines.add(description="Pose\x00", quantity="1", unit="C62", unit_price="1",
                      vat_rate="20")  # fmt: skip
    keyed = (*api.as_user(parties.user), ("idempotency-key", f"erp-{uuid.uuid4()}"))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.stub.CreateInvoice(request, metadata=keyed)

    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "STRING_INVALID")
    assert [v.field for v in error.violations] == ["lines[1].description"]
    assert await api.count("invoices") == 0
    assert await api.count("idempotency_keys") == 0
