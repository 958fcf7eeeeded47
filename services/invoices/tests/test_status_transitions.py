"""What may become of an invoice, over real gRPC and PostgreSQL: the lifecycle table as
ListStatusTransitions tells it (for Chorus Pro's ``recuperer/etats/traitement``), and the
statuses one caller may set now on one invoice (GetInvoice ``settable_statuses``): only the
recipient side in MODIFICATION gets any, and only the moves out of the current status."""

from __future__ import annotations

import uuid

from chorus.invoices.v1 import invoices_service_pb2 as pb

RECIPIENT = pb.LIFECYCLE_PARTY_RECIPIENT
S = pb.InvoiceStatus

FORWARD = [
    S.Value("INVOICE_STATUS_PRISE_EN_COMPTE_DESTINATAIRE"),
    S.Value("INVOICE_STATUS_SERVICE_FAIT"),
    S.Value("INVOICE_STATUS_MANDATEE"),
    S.Value("INVOICE_STATUS_MISE_A_DISPOSITION_COMPTABLE"),
    S.Value("INVOICE_STATUS_COMPTABILISEE"),
    S.Value("INVOICE_STATUS_MISE_EN_PAIEMENT"),
]
SEND_BACK = [pb.INVOICE_STATUS_SUSPENDUE, pb.INVOICE_STATUS_A_RECYCLER, pb.INVOICE_STATUS_REJETEE]


async def transitions(api, user: str, status: int) -> list[pb.StatusTransition]:
    request = pb.ListStatusTransitionsRequest(from_status=status)
    return list((await api.call("ListStatusTransitions", request, user)).transitions)


async def test_the_lifecycle_table_out_of_each_status(api, parties):
    made_available = await transitions(api, parties.user, pb.INVOICE_STATUS_MISE_A_DISPOSITION)
    assert [t.target for t in made_available] == FORWARD + SEND_BACK
    assert {t.party for t in made_available} == {RECIPIENT}
    assert [t.reason_required for t in made_available] == [False] * 6 + [True] * 3
    assert made_available[0].action == "MARK_PRISE_EN_COMPTE_DESTINATAIRE"

    mandated = await transitions(api, parties.user, pb.INVOICE_STATUS_MANDATEE)
    assert [t.target for t in mandated] == FORWARD[3:]  # no sending back once mandated
    suspended = await transitions(api, parties.user, pb.INVOICE_STATUS_SUSPENDUE)
    assert [(t.target, t.party) for t in suspended] == [
        (pb.INVOICE_STATUS_COMPLETEE, pb.LIFECYCLE_PARTY_SUPPLIER)
    ]
    routed = await transitions(api, parties.user, pb.INVOICE_STATUS_DEPOSEE)
    assert [(t.target, t.party) for t in routed] == [
        (pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT, pb.LIFECYCLE_PARTY_SYSTEM)
    ]
    assert await transitions(api, parties.user, pb.INVOICE_STATUS_REJETEE) == []
    created = await transitions(api, parties.user, pb.INVOICE_STATUS_UNSPECIFIED)
    assert [t.target for t in created] == [pb.INVOICE_STATUS_BROUILLON, pb.INVOICE_STATUS_DEPOSEE]

    unknown = await api.fails(
        "ListStatusTransitions", pb.ListStatusTransitionsRequest(from_status=99), parties.user
    )
    assert (unknown.reason, [v.field for v in unknown.violations]) == (
        "STATUS_INVALID",
        ["from_status"],
    )


async def test_settable_statuses_are_the_callers_moves_from_the_current_status(
    api, parties, make_request, fake_structures
):
    processor = str(uuid.uuid4())
    fake_structures.grant(processor, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    reader = str(uuid.uuid4())
    fake_structures.grant(reader, parties.recipient.id, "FACTURES_RECUES", "CONSULTATION")
    invoice = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice

    async def settable(user: str) -> list[int]:
        got = await api.call("GetInvoice", pb.GetInvoiceRequest(cpp_id=invoice.cpp_id), user)
        return list(got.invoice.settable_statuses)

    assert await settable(parties.user) == []  # DEPOSEE: routing's move, not a recipient's
    await api.route(invoice.id)
    assert await settable(processor) == FORWARD + SEND_BACK
    assert await settable(reader) == []  # consultation only
    assert await settable(parties.user) == []  # the supplier
    await api.call(
        "ChangeInvoiceStatus",
        pb.ChangeInvoiceStatusRequest(invoice_id=invoice.id, status=pb.INVOICE_STATUS_MANDATEE),
        processor,
    )
    assert await settable(processor) == FORWARD[3:]
    await api.call(
        "ChangeInvoiceStatus",
        pb.ChangeInvoiceStatusRequest(
            invoice_id=invoice.id, status=pb.INVOICE_STATUS_MISE_EN_PAIEMENT
        ),
        processor,
    )
    assert await settable(processor) == []
