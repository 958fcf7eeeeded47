"""SummarizeInvoices over gRPC (the portal's home): counts per structure, side and status,
what waits on each side, unacknowledged rejections, and nothing of other structures."""

from __future__ import annotations

import uuid

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb

from .test_processing_api import change, deposit_and_route

ISSUED, RECEIVED = pb.LIST_SIDE_ISSUED, pb.LIST_SIDE_RECEIVED
S = pb.InvoiceStatus


async def summary(api, user_id: str) -> dict[tuple[str, int], tuple[list, int]]:
    """(structure, side) -> ([(status name, count, waiting)], rejections to acknowledge)."""
    answer = await api.call("SummarizeInvoices", pb.SummarizeInvoicesRequest(), user_id)
    return {
        (s.structure_id, s.side): (
            [
                (S.Name(c.status).removeprefix("INVOICE_STATUS_"), c.count, c.waiting)
                for c in s.statuses
            ],
            s.rejections_to_acknowledge,
        )
        for s in answer.summaries
    }


@pytest.fixture
def processor(parties, fake_structures) -> str:
    user = str(uuid.uuid4())
    fake_structures.grant(user, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    return user


async def test_counts_each_side_with_what_waits_on_it(
    api, parties, make_request, processor, fake_structures
):
    await api.call("CreateInvoice", make_request(parties, draft=True), parties.user)
    available, done, suspended, rejected = [
        await deposit_and_route(api, parties, make_request) for _ in range(4)
    ]
    await api.call("ChangeInvoiceStatus", change(done, S.INVOICE_STATUS_SERVICE_FAIT), processor)
    await api.call(
        "ChangeInvoiceStatus", change(suspended, S.INVOICE_STATUS_SUSPENDUE, "RIB"), processor
    )
    await api.call(
        "ChangeInvoiceStatus", change(rejected, S.INVOICE_STATUS_REJETEE, "Inconnue"), processor
    )
    # Another supplier's invoice to the same recipient: the recipient's, not the supplier's.
    stranger = str(uuid.uuid4())
    elsewhere = fake_structures.add("Autre Fournisseur SAS", public=False)
    fake_structures.grant(stranger, elsewhere.id, "FACTURES_EMISES", "MODIFICATION")
    other = await api.call(
        "CreateInvoice", make_request(parties, supplier_structure_id=elsewhere.id), stranger
    )
    await api.route(other.invoice.id)

    assert await summary(api, parties.user) == {
        (parties.supplier.id, ISSUED): (
            [
                ("BROUILLON", 1, True),
                ("MISE_A_DISPOSITION", 1, False),
                ("SERVICE_FAIT", 1, False),
                ("SUSPENDUE", 1, True),
                ("REJETEE", 1, False),
            ],
            1,
        )
    }
    assert await summary(api, processor) == {
        (parties.recipient.id, RECEIVED): (
            [
                ("MISE_A_DISPOSITION", 2, True),
                ("SERVICE_FAIT", 1, True),
                ("SUSPENDUE", 1, False),
                ("REJETEE", 1, False),
            ],
            0,
        )
    }
    assert await summary(api, stranger) == {
        (elsewhere.id, ISSUED): ([("MISE_A_DISPOSITION", 1, False)], 0)
    }

    await api.call(
        "AcknowledgeRejection", pb.AcknowledgeRejectionRequest(invoice_id=rejected), parties.user
    )
    [(_, acknowledged)] = (await summary(api, parties.user)).values()
    assert acknowledged == 0
    assert available  # made available, still waiting on the recipient


async def test_a_user_of_no_structure_or_limited_to_other_services_counts_nothing(
    api, parties, make_request, fake_structures
):
    parties.recipient.services.add(id=str(uuid.uuid4()), code="VOIRIE", name="Voirie", active=True)
    await deposit_and_route(api, parties, make_request)
    assert await summary(api, str(uuid.uuid4())) == {}
    limited = str(uuid.uuid4())
    fake_structures.grant(limited, parties.recipient.id, "FACTURES_RECUES", "CONSULTATION")
    fake_structures.service_limits[(limited, parties.recipient.id)] = ("VOIRIE",)
    assert await summary(api, limited) == {}
    await deposit_and_route(api, parties, lambda p: make_request(p, service_code="VOIRIE"))
    assert await summary(api, limited) == {
        (parties.recipient.id, RECEIVED): ([("MISE_A_DISPOSITION", 1, True)], 0)
    }


async def test_a_draft_is_not_counted_on_the_recipient_side(api, parties, make_request, processor):
    await api.call("CreateInvoice", make_request(parties, draft=True), parties.user)
    await api.call("CreateInvoice", make_request(parties), parties.user)  # deposited, not routed

    assert await summary(api, processor) == {}
