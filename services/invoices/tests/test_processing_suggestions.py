"""What the portal's processing buttons rest on (issue 13), over real gRPC and PostgreSQL:
the lifecycle table says which moves are the next sensible ones (``suggested``) and which
end the lifecycle (``terminal``); the history says who made each change (the user id, or
"system" for routing); a deposited invoice tells when it was deposited; a list's order is a
known column or the request is refused."""

from __future__ import annotations

import uuid

from chorus.invoices.v1 import invoices_service_pb2 as pb

S = pb.InvoiceStatus


async def transitions(api, user: str, status: int) -> list[pb.StatusTransition]:
    request = pb.ListStatusTransitionsRequest(from_status=status)
    return list((await api.call("ListStatusTransitions", request, user)).transitions)


def suggested(moves: list[pb.StatusTransition]) -> list[int]:
    return [t.target for t in moves if t.suggested]


async def test_the_next_steps_are_suggested_and_terminal_targets_flagged(api, parties):
    user = parties.user
    made_available = await transitions(api, user, pb.INVOICE_STATUS_MISE_A_DISPOSITION)
    # Only the next processing step; skipping ahead and sending back are not suggested.
    assert suggested(made_available) == [pb.INVOICE_STATUS_PRISE_EN_COMPTE_DESTINATAIRE]
    assert {t.target for t in made_available if t.terminal} == {
        pb.INVOICE_STATUS_MISE_EN_PAIEMENT,
        pb.INVOICE_STATUS_REJETEE,
    }
    completed = await transitions(api, user, pb.INVOICE_STATUS_COMPLETEE)
    assert suggested(completed) == [pb.INVOICE_STATUS_PRISE_EN_COMPTE_DESTINATAIRE]
    taken = await transitions(api, user, pb.INVOICE_STATUS_PRISE_EN_COMPTE_DESTINATAIRE)
    assert suggested(taken) == [pb.INVOICE_STATUS_SERVICE_FAIT]
    booked = await transitions(api, user, pb.INVOICE_STATUS_COMPTABILISEE)
    assert [(t.target, t.suggested, t.terminal) for t in booked] == [
        (pb.INVOICE_STATUS_MISE_EN_PAIEMENT, True, True)
    ]
    assert suggested(await transitions(api, user, pb.INVOICE_STATUS_SUSPENDUE)) == [
        pb.INVOICE_STATUS_COMPLETEE
    ]
    assert suggested(await transitions(api, user, pb.INVOICE_STATUS_A_RECYCLER)) == [
        pb.INVOICE_STATUS_DEPOSEE
    ]
    assert suggested(await transitions(api, user, pb.INVOICE_STATUS_BROUILLON)) == [
        pb.INVOICE_STATUS_DEPOSEE
    ]


async def test_history_says_who_and_the_invoice_when_deposited(
    api, parties, make_request, fake_structures
):
    processor = str(uuid.uuid4())
    fake_structures.grant(processor, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    draft = (
        await api.call("CreateInvoice", make_request(parties, draft=True), parties.user)
    ).invoice
    assert draft.status == pb.INVOICE_STATUS_BROUILLON
    assert not draft.HasField("deposited_at")
    deposited = (
        await api.call("SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user)
    ).invoice
    assert deposited.HasField("deposited_at")
    await api.route(draft.id)
    await api.call(
        "ChangeInvoiceStatus",
        pb.ChangeInvoiceStatusRequest(
            invoice_id=draft.id, status=pb.INVOICE_STATUS_PRISE_EN_COMPTE_DESTINATAIRE
        ),
        processor,
    )
    history = await api.call(
        "GetInvoiceHistory", pb.GetInvoiceHistoryRequest(invoice_id=draft.id), parties.user
    )
    assert [(e.status, e.actor) for e in history.entries] == [
        (pb.INVOICE_STATUS_BROUILLON, parties.user),
        (pb.INVOICE_STATUS_DEPOSEE, parties.user),
        (pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT, "system"),
        (pb.INVOICE_STATUS_MISE_A_DISPOSITION, "system"),
        (pb.INVOICE_STATUS_PRISE_EN_COMPTE_DESTINATAIRE, processor),
    ]
    seen = (
        await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=draft.id), processor)
    ).invoice
    assert seen.deposited_at == deposited.deposited_at


async def test_an_unknown_order_is_refused(api, parties, make_request):
    await api.call("CreateInvoice", make_request(parties), parties.user)
    request = pb.ListInvoicesRequest(page_number=1, order_by=99, ascending=True)
    error = await api.fails("ListInvoices", request, parties.user)
    assert (error.reason, [v.field for v in error.violations]) == ("FILTER_INVALID", ["order_by"])
