"""ChangeInvoiceStatus, CompleteInvoice and DeleteInvoice over gRPC: who may act, the table's
rules, history and InvoiceStatusChanged in the outbox."""

from __future__ import annotations

import uuid

import grpc
import pytest
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.documents.facturx import read_facturx_model
from chorus_invoices.domain.errors import InvoiceNotFound
from chorus_invoices.events import outgoing
from chorus_invoices.usecases import status_changes
from chorus_platform.unit_of_work import UnitOfWork


async def deposit_and_route(api, parties, make_request) -> str:
    """A deposited invoice made available to the recipient (the routing handler run inline)."""
    invoice = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice
    await api.route(invoice.id)
    return invoice.id


def change(invoice_id: str, status: int, reason: str = "") -> pb.ChangeInvoiceStatusRequest:
    return pb.ChangeInvoiceStatusRequest(invoice_id=invoice_id, status=status, reason=reason)


@pytest.fixture
def processor(parties, fake_structures) -> str:
    user = str(uuid.uuid4())
    fake_structures.grant(user, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    return user


async def status_events(api, invoice_id: str) -> list[events_pb.InvoiceStatusChanged]:
    rows = await api.fetch(
        "SELECT payload FROM outbox WHERE key = $1 AND ce_type LIKE '%InvoiceStatusChanged'"
        " ORDER BY seq",
        invoice_id,
    )
    return [events_pb.InvoiceStatusChanged.FromString(bytes(r["payload"])) for r in rows]


async def test_recipient_moves_forward_skipping_steps_then_suspends_with_reason(
    api, parties, make_request, processor
):
    invoice_id = await deposit_and_route(api, parties, make_request)
    seen = (
        await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice_id), processor)
    ).invoice
    assert "MARK_SERVICE_FAIT" in seen.allowed_actions
    assert "MARK_SUSPENDUE" in seen.allowed_actions

    moved = await api.call(
        "ChangeInvoiceStatus", change(invoice_id, pb.INVOICE_STATUS_SERVICE_FAIT), processor
    )
    assert moved.invoice.status == pb.INVOICE_STATUS_SERVICE_FAIT
    assert (
        moved.invoice.lifecycle_code,
        moved.invoice.lifecycle_label,
        moved.invoice.lifecycle_description,
    ) == (204, "Prise en charge", "204 Prise en charge — service fait")

    missing = await api.fails(
        "ChangeInvoiceStatus", change(invoice_id, pb.INVOICE_STATUS_SUSPENDUE, " "), processor
    )
    assert (missing.code, missing.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "REASON_REQUIRED")

    await api.call(
        "ChangeInvoiceStatus",
        change(invoice_id, pb.INVOICE_STATUS_SUSPENDUE, "RIB manquant"),
        processor,
    )
    events = await status_events(api, invoice_id)
    assert [(e.from_status, e.to_status) for e in events][-2:] == [
        (pb.INVOICE_STATUS_MISE_A_DISPOSITION, pb.INVOICE_STATUS_SERVICE_FAIT),
        (pb.INVOICE_STATUS_SERVICE_FAIT, pb.INVOICE_STATUS_SUSPENDUE),
    ]
    assert (events[-1].actor, events[-1].comment) == (processor, "RIB manquant")

    supplier_view = (
        await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice_id), parties.user)
    ).invoice
    assert list(supplier_view.allowed_actions) == ["COMPLETE"]
    completed = await api.call(
        "CompleteInvoice",
        pb.CompleteInvoiceRequest(invoice_id=invoice_id, comment="RIB joint"),
        parties.user,
    )
    assert completed.invoice.status == pb.INVOICE_STATUS_COMPLETEE
    history = await api.call(
        "GetInvoiceHistory", pb.GetInvoiceHistoryRequest(invoice_id=invoice_id), parties.user
    )
    assert [(e.status, e.comment) for e in history.entries][-2:] == [
        (pb.INVOICE_STATUS_SUSPENDUE, "RIB manquant"),
        (pb.INVOICE_STATUS_COMPLETEE, "RIB joint"),
    ]


async def test_the_history_says_which_chorus_status_gave_each_code(
    api, parties, make_request, processor
):
    invoice_id = await deposit_and_route(api, parties, make_request)
    for target in (
        pb.INVOICE_STATUS_PRISE_EN_COMPTE_DESTINATAIRE,
        pb.INVOICE_STATUS_SERVICE_FAIT,
        pb.INVOICE_STATUS_MANDATEE,
        pb.INVOICE_STATUS_MISE_A_DISPOSITION_COMPTABLE,
        pb.INVOICE_STATUS_COMPTABILISEE,
        pb.INVOICE_STATUS_MISE_EN_PAIEMENT,
    ):
        await api.call("ChangeInvoiceStatus", change(invoice_id, target), processor)

    history = await api.call(
        "GetInvoiceHistory", pb.GetInvoiceHistoryRequest(invoice_id=invoice_id), parties.user
    )
    said = [
        (e.lifecycle_code, e.lifecycle_label, [c.description for c in e.lifecycle_codes])
        for e in history.entries
    ]
    assert said == [
        (200, "Déposée", ["200 Déposée"]),
        (201, "Émise", ["201 Émise — en cours d'acheminement"]),
        (203, "Mise à disposition", ["203 Mise à disposition"]),
        (204, "Prise en charge", ["204 Prise en charge — prise en compte"]),
        (204, "Prise en charge", ["204 Prise en charge — service fait"]),
        (204, "Prise en charge", ["204 Prise en charge — mandatée"]),
        (204, "Prise en charge", ["204 Prise en charge — mise à disposition comptable"]),
        (204, "Prise en charge", ["204 Prise en charge — comptabilisée"]),
        (
            211,
            "Paiement transmis",
            [
                "211 Paiement transmis — mise en paiement",
                "212 Encaissée — mise en paiement (B2G historique)",
            ],
        ),
    ]
    assert [e.lifecycle_description for e in history.entries][-1] == (
        "211 Paiement transmis — mise en paiement"
    )
    paid = history.entries[-1].lifecycle_codes
    assert [(c.code, c.label) for c in paid] == [(211, "Paiement transmis"), (212, "Encaissée")]
    events = await status_events(api, invoice_id)
    assert [e.lifecycle_code for e in events][-6:] == [204, 204, 204, 204, 204, 211]


async def test_wrong_transitions_are_refused(api, parties, make_request, processor):
    invoice_id = await deposit_and_route(api, parties, make_request)
    await api.call("ChangeInvoiceStatus", change(invoice_id, pb.INVOICE_STATUS_MANDATEE), processor)

    backwards = await api.fails(
        "ChangeInvoiceStatus", change(invoice_id, pb.INVOICE_STATUS_SERVICE_FAIT), processor
    )
    assert (backwards.code, backwards.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INVALID_STATUS_TRANSITION",
    )
    complete = await api.fails(
        "CompleteInvoice", pb.CompleteInvoiceRequest(invoice_id=invoice_id), parties.user
    )
    assert complete.reason == "INVALID_STATUS_TRANSITION"
    no_status = await api.fails("ChangeInvoiceStatus", change(invoice_id, 0), processor)
    assert no_status.reason == "FIELD_REQUIRED"


async def test_supplier_cannot_process_and_strangers_see_nothing(
    api, parties, make_request, fake_structures
):
    invoice_id = await deposit_and_route(api, parties, make_request)
    supplier = await api.fails(
        "ChangeInvoiceStatus", change(invoice_id, pb.INVOICE_STATUS_SERVICE_FAIT), parties.user
    )
    assert (supplier.code, supplier.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")

    reader = str(uuid.uuid4())
    fake_structures.grant(reader, parties.recipient.id, "FACTURES_RECUES", "CONSULTATION")
    consulting = await api.fails(
        "ChangeInvoiceStatus", change(invoice_id, pb.INVOICE_STATUS_SERVICE_FAIT), reader
    )
    assert consulting.code == grpc.StatusCode.PERMISSION_DENIED

    stranger = await api.fails(
        "ChangeInvoiceStatus", change(invoice_id, pb.INVOICE_STATUS_SERVICE_FAIT), "someone"
    )
    assert (stranger.code, stranger.reason) == (grpc.StatusCode.NOT_FOUND, "INVOICE_NOT_FOUND")


async def test_recipient_does_not_see_an_invoice_still_being_routed(
    api, parties, make_request, processor
):
    invoice = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice
    error = await api.fails(
        "ChangeInvoiceStatus", change(invoice.id, pb.INVOICE_STATUS_SERVICE_FAIT), processor
    )
    assert error.code == grpc.StatusCode.NOT_FOUND


async def test_payment_is_not_entered_where_payment_status_is_not_reported(
    api, parties, make_request, processor
):
    parties.recipient.routing.payment_status_not_reported = True
    invoice_id = await deposit_and_route(api, parties, make_request)
    error = await api.fails(
        "ChangeInvoiceStatus", change(invoice_id, pb.INVOICE_STATUS_MISE_EN_PAIEMENT), processor
    )
    assert (error.code, error.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "PAYMENT_STATUS_NOT_REPORTED",
    )


async def test_supplier_deletes_a_draft_only(api, parties, make_request):
    draft = (
        await api.call("CreateInvoice", make_request(parties, draft=True), parties.user)
    ).invoice
    deposited = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice

    refused = await api.fails(
        "DeleteInvoice", pb.DeleteInvoiceRequest(invoice_id=deposited.id), parties.user
    )
    assert refused.reason == "INVALID_STATUS_TRANSITION"
    stranger = await api.fails(
        "DeleteInvoice", pb.DeleteInvoiceRequest(invoice_id=draft.id), "someone"
    )
    assert stranger.code == grpc.StatusCode.NOT_FOUND

    await api.call("DeleteInvoice", pb.DeleteInvoiceRequest(invoice_id=draft.id), parties.user)
    gone = await api.fails("GetInvoice", pb.GetInvoiceRequest(invoice_id=draft.id), parties.user)
    assert gone.code == grpc.StatusCode.NOT_FOUND
    assert not await api.fetch("SELECT 1 FROM invoice_history WHERE invoice_id = $1", draft.id)


async def test_supplier_recycles_to_a_corrected_recipient_with_the_deposit_checks(
    api, parties, make_request, processor, fake_structures
):
    invoice_id = await deposit_and_route(api, parties, make_request)
    await api.call(
        "ChangeInvoiceStatus",
        change(invoice_id, pb.INVOICE_STATUS_A_RECYCLER, "Mauvais destinataire"),
        processor,
    )
    seen = (
        await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice_id), parties.user)
    ).invoice
    assert list(seen.allowed_actions) == ["RECYCLE"]

    right = fake_structures.add("Préfecture du Rhône", services=(("COMPTA", True, False),))
    right.routing.service_code_required = True
    missing = await api.fails(
        "RecycleInvoice",
        pb.RecycleInvoiceRequest(invoice_id=invoice_id, recipient_structure_id=right.id),
        parties.user,
    )
    assert missing.reason == "SERVICE_CODE_REQUIRED"
    private = fake_structures.add("SARL Voisine", public=False)
    wrong = await api.fails(
        "RecycleInvoice",
        pb.RecycleInvoiceRequest(invoice_id=invoice_id, recipient_structure_id=private.id),
        parties.user,
    )
    assert wrong.reason == "RECIPIENT_NOT_PUBLIC"

    recycled = await api.call(
        "RecycleInvoice",
        pb.RecycleInvoiceRequest(
            invoice_id=invoice_id,
            recipient_structure_id=right.id,
            service_code="compta",
            engagement_number="EJ-2025-17",
        ),
        parties.user,
    )
    invoice = recycled.invoice
    assert invoice.status == pb.INVOICE_STATUS_DEPOSEE
    assert (invoice.recipient_structure_id, invoice.service_code, invoice.engagement_number) == (
        right.id,
        "COMPTA",
        "EJ-2025-17",
    )
    assert invoice.number == seen.number
    # The portal invoice's Factur-X is made again for the new buyer, service and engagement.
    document = await api.document(pb.GetInvoiceDocumentRequest(invoice_id=invoice_id), parties.user)
    stated = read_facturx_model(document.content)
    assert (stated.buyer.name, stated.buyer_reference, stated.purchase_order_reference) == (
        "Préfecture du Rhône",
        "COMPTA",
        "EJ-2025-17",
    )
    assert stated.number == seen.number
    submitted = await api.fetch(
        "SELECT count(*) AS n FROM outbox WHERE key = $1 AND ce_type LIKE '%InvoiceSubmitted'",
        invoice_id,
    )
    assert submitted[0]["n"] == 2
    # The former recipient no longer sees it; recycling twice is a wrong-state move.
    gone = await api.fails("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice_id), processor)
    assert gone.code == grpc.StatusCode.NOT_FOUND
    again = await api.fails(
        "RecycleInvoice", pb.RecycleInvoiceRequest(invoice_id=invoice_id), parties.user
    )
    assert again.reason == "INVALID_STATUS_TRANSITION"


async def test_reserved_service_is_refused_to_a_private_supplier(
    api, parties, make_request, fake_structures
):
    parties.recipient.services.add(
        id=str(uuid.uuid4()),
        code="FACTURES_PUBLIQUES",
        name="Factures publiques",
        active=True,
        reserved_for_public_suppliers=True,
    )
    error = await api.fails(
        "CreateInvoice",
        make_request(parties, service_code="FACTURES_PUBLIQUES"),
        parties.user,
    )
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "SERVICE_RESERVED")
    assert await api.count("invoices") == 0


async def test_user_limited_to_some_services_handles_only_their_invoices(
    api, parties, make_request, fake_structures
):
    parties.recipient.services.add(id=str(uuid.uuid4()), code="VOIRIE", name="Voirie", active=True)
    parties.recipient.services.add(id=str(uuid.uuid4()), code="ECOLES", name="Écoles", active=True)
    mine = await deposit_and_route(api, parties, lambda p: make_request(p, service_code="voirie"))
    other = await deposit_and_route(api, parties, lambda p: make_request(p, service_code="ECOLES"))
    limited = str(uuid.uuid4())
    fake_structures.grant(limited, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    fake_structures.service_limits[(limited, parties.recipient.id)] = ("VOIRIE",)

    received = await api.call(
        "ListInvoices", pb.ListInvoicesRequest(side=pb.LIST_SIDE_RECEIVED), limited
    )
    assert [i.id for i in received.invoices] == [mine]
    hidden = await api.fails("GetInvoice", pb.GetInvoiceRequest(invoice_id=other), limited)
    assert hidden.code == grpc.StatusCode.NOT_FOUND
    refused = await api.fails(
        "ChangeInvoiceStatus", change(other, pb.INVOICE_STATUS_SERVICE_FAIT), limited
    )
    assert refused.code == grpc.StatusCode.NOT_FOUND
    moved = await api.call(
        "ChangeInvoiceStatus", change(mine, pb.INVOICE_STATUS_SERVICE_FAIT), limited
    )
    assert moved.invoice.status == pb.INVOICE_STATUS_SERVICE_FAIT


async def test_supplier_acknowledges_a_rejection_once(api, parties, make_request, processor):
    invoice_id = await deposit_and_route(api, parties, make_request)
    early = await api.fails(
        "AcknowledgeRejection", pb.AcknowledgeRejectionRequest(invoice_id=invoice_id), parties.user
    )
    assert early.reason == "INVALID_STATUS_TRANSITION"
    await api.call(
        "ChangeInvoiceStatus",
        change(invoice_id, pb.INVOICE_STATUS_REJETEE, "Prestation non commandée"),
        processor,
    )
    get = pb.GetInvoiceRequest(invoice_id=invoice_id)
    assert list((await api.call("GetInvoice", get, parties.user)).invoice.allowed_actions) == [
        "ACKNOWLEDGE_REJECTION"
    ]
    denied = await api.fails(
        "AcknowledgeRejection", pb.AcknowledgeRejectionRequest(invoice_id=invoice_id), processor
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED

    done = await api.call(
        "AcknowledgeRejection", pb.AcknowledgeRejectionRequest(invoice_id=invoice_id), parties.user
    )
    assert done.invoice.status == pb.INVOICE_STATUS_REJETEE
    assert done.invoice.HasField("rejection_acknowledged_at")
    assert list((await api.call("GetInvoice", get, parties.user)).invoice.allowed_actions) == []
    again = await api.fails(
        "AcknowledgeRejection", pb.AcknowledgeRejectionRequest(invoice_id=invoice_id), parties.user
    )
    assert again.reason == "REJECTION_ALREADY_ACKNOWLEDGED"
    rows = await api.fetch(
        "SELECT payload FROM outbox WHERE key = $1"
        " AND ce_type LIKE '%InvoiceRejectionAcknowledged'",
        invoice_id,
    )
    event = events_pb.InvoiceRejectionAcknowledged.FromString(bytes(rows[0]["payload"]))
    assert (len(rows), event.actor) == (1, parties.user)


async def suspended(api, parties, make_request, processor) -> str:
    invoice_id = await deposit_and_route(api, parties, make_request)
    await api.call(
        "ChangeInvoiceStatus",
        change(invoice_id, pb.INVOICE_STATUS_SUSPENDUE, "Bon de commande manquant"),
        processor,
    )
    return invoice_id


async def test_completion_keeps_its_attachments_in_the_same_transaction(
    api, parties, make_request, processor
):
    invoice_id = await suspended(api, parties, make_request, processor)
    refused = await api.fails(
        "CompleteInvoice",
        pb.CompleteInvoiceRequest(
            invoice_id=invoice_id,
            comment="pièces jointes",
            attachments=[
                pb.AttachmentFile(filename="bon-de-commande.pdf", content=b"%PDF-1.4 x"),
                pb.AttachmentFile(filename="virus.exe", content=b"MZ"),
            ],
        ),
        parties.user,
    )
    assert (refused.code, refused.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "ATTACHMENT_EXTENSION_FORBIDDEN",
    )
    still = (
        await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice_id), parties.user)
    ).invoice
    assert still.status == pb.INVOICE_STATUS_SUSPENDUE
    assert [d for d in still.documents if d.role == "ATTACHMENT"] == []

    completed = await api.call(
        "CompleteInvoice",
        pb.CompleteInvoiceRequest(
            invoice_id=invoice_id,
            comment="Bon de commande joint",
            attachments=[pb.AttachmentFile(filename="bon-de-commande.pdf", content=b"%PDF-1 x")],
        ),
        parties.user,
    )
    assert completed.invoice.status == pb.INVOICE_STATUS_COMPLETEE
    answered = [(d.role, d.filename) for d in completed.invoice.documents]
    assert ("ATTACHMENT", "bon-de-commande.pdf") in answered
    seen = (
        await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice_id), processor)
    ).invoice
    attachments = [d for d in seen.documents if d.role == "ATTACHMENT"]
    assert [(d.filename, d.size) for d in attachments] == [("bon-de-commande.pdf", 8)]
    served = await api.call(
        "GetInvoiceAttachment",
        pb.GetInvoiceAttachmentRequest(invoice_id=invoice_id, document_id=attachments[0].id),
        processor,
    )
    assert served.content == b"%PDF-1 x"
    assert (await status_events(api, invoice_id))[-1].comment == "Bon de commande joint"


async def test_a_change_to_an_invoice_deleted_meanwhile_is_not_found(api):
    """A use case locks the invoice it read a moment earlier: gone by then (a draft deleted in
    between), the change is refused as not found instead of failing."""
    uow = UnitOfWork(api.pool, service="invoices", encode=outgoing.encode)
    with pytest.raises(InvoiceNotFound):
        async with uow.transaction() as tx:
            await status_changes.locked(tx, str(uuid.uuid4()))
