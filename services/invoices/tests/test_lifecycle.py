"""The status machine table of domain/lifecycle.py."""

from __future__ import annotations

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.domain import lifecycle
from chorus_invoices.domain.errors import PaymentStatusNotReported, TransitionNotAllowed
from chorus_invoices.domain.lifecycle import Party, Status
from chorus_platform.errors import FailedPrecondition, InvalidArgument


def test_every_proto_status_is_in_the_table_and_back():
    proto = {name.removeprefix("INVOICE_STATUS_") for name in pb.InvoiceStatus.keys()}  # noqa: SIM118
    assert proto - {"UNSPECIFIED"} == {s.value for s in Status} == set(lifecycle.STATUSES)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (Status.BROUILLON, None),
        (Status.DEPOSEE, 200),
        (Status.EN_COURS_ACHEMINEMENT, 201),
        (Status.MISE_A_DISPOSITION, 203),
        (Status.PRISE_EN_COMPTE_DESTINATAIRE, 204),
        (Status.SERVICE_FAIT, 205),
        (Status.MANDATEE, 205),
        (Status.MISE_A_DISPOSITION_COMPTABLE, 205),
        (Status.COMPTABILISEE, 205),
        (Status.MISE_EN_PAIEMENT, 211),
        (Status.SUSPENDUE, 208),
        (Status.COMPLETEE, 209),
        (Status.A_RECYCLER, 213),
        (Status.REJETEE, 210),
    ],
)
def test_each_status_maps_to_its_reform_lifecycle_code(status, code):
    assert lifecycle.lifecycle_code(status) == code


@pytest.mark.parametrize(
    ("source", "target", "party", "action"),
    [
        (None, Status.BROUILLON, Party.SUPPLIER, "CREATE_DRAFT"),
        (None, Status.DEPOSEE, Party.SUPPLIER, "DEPOSIT"),
        (Status.BROUILLON, Status.DEPOSEE, Party.SUPPLIER, "SUBMIT"),
        (Status.DEPOSEE, Status.EN_COURS_ACHEMINEMENT, Party.SYSTEM, "ROUTE"),
        (Status.EN_COURS_ACHEMINEMENT, Status.MISE_A_DISPOSITION, Party.SYSTEM, "DELIVER"),
        (Status.MISE_A_DISPOSITION, Status.SERVICE_FAIT, Party.RECIPIENT, "MARK_SERVICE_FAIT"),
        (Status.COMPLETEE, Status.PRISE_EN_COMPTE_DESTINATAIRE, Party.RECIPIENT, None),
        (Status.SERVICE_FAIT, Status.MISE_EN_PAIEMENT, Party.RECIPIENT, None),
        (Status.MANDATEE, Status.COMPTABILISEE, Party.RECIPIENT, None),
        (Status.SERVICE_FAIT, Status.SUSPENDUE, Party.RECIPIENT, "MARK_SUSPENDUE"),
        (Status.COMPLETEE, Status.REJETEE, Party.RECIPIENT, None),
        (Status.MISE_A_DISPOSITION, Status.A_RECYCLER, Party.RECIPIENT, None),
        (Status.SUSPENDUE, Status.COMPLETEE, Party.SUPPLIER, "COMPLETE"),
        (Status.A_RECYCLER, Status.DEPOSEE, Party.SUPPLIER, "RECYCLE"),
    ],
)
def test_allowed_transitions(source, target, party, action):
    move = lifecycle.transition(source, target, party)

    assert (move.source, move.target, move.party) == (source, target, party)
    if action:
        assert move.action == action


@pytest.mark.parametrize(
    ("source", "target", "party"),
    [
        (Status.DEPOSEE, Status.DEPOSEE, Party.SUPPLIER),
        (Status.BROUILLON, Status.DEPOSEE, Party.RECIPIENT),
        (Status.BROUILLON, Status.MISE_A_DISPOSITION, Party.SYSTEM),
        (Status.DEPOSEE, Status.MISE_A_DISPOSITION, Party.SYSTEM),
        (Status.DEPOSEE, Status.EN_COURS_ACHEMINEMENT, Party.SUPPLIER),
        (Status.MISE_A_DISPOSITION, Status.EN_COURS_ACHEMINEMENT, Party.SYSTEM),
        (Status.SERVICE_FAIT, Status.PRISE_EN_COMPTE_DESTINATAIRE, Party.RECIPIENT),
        (Status.MANDATEE, Status.SUSPENDUE, Party.RECIPIENT),
        (Status.COMPTABILISEE, Status.REJETEE, Party.RECIPIENT),
        (Status.SUSPENDUE, Status.COMPLETEE, Party.RECIPIENT),
        (Status.REJETEE, Status.DEPOSEE, Party.SUPPLIER),
        (Status.MISE_EN_PAIEMENT, Status.SUSPENDUE, Party.RECIPIENT),
        (None, Status.MISE_A_DISPOSITION, Party.SUPPLIER),
    ],
)
def test_refused_transitions_raise_invalid_status_transition(source, target, party):
    with pytest.raises(TransitionNotAllowed) as raised:
        lifecycle.transition(source, target, party)

    assert raised.value.reason == "INVALID_STATUS_TRANSITION"
    assert isinstance(raised.value, FailedPrecondition)


def test_recipient_processing_only_moves_forward():
    order = lifecycle.PROCESSING
    for i, source in enumerate(order):
        targets = {t.target for t in lifecycle.transitions_from(source) if t.target in order}
        assert targets == set(order[i + 1 :])


def test_sending_back_requires_a_reason():
    for target in (Status.SUSPENDUE, Status.A_RECYCLER, Status.REJETEE):
        move = lifecycle.transition(Status.MISE_A_DISPOSITION, target, Party.RECIPIENT)
        assert move.comment_required
    assert not lifecycle.transition(
        Status.MISE_A_DISPOSITION, Status.SERVICE_FAIT, Party.RECIPIENT
    ).comment_required


def test_rejected_and_paid_invoices_are_terminal():
    terminal = {s for s in Status if lifecycle.is_terminal(s)}
    assert terminal == {Status.REJETEE, Status.MISE_EN_PAIEMENT}


def test_recipient_sees_an_invoice_only_once_made_available():
    hidden = {s for s, info in lifecycle.STATUSES.items() if not info.visible_to_recipient}
    assert hidden == {Status.BROUILLON, Status.DEPOSEE, Status.EN_COURS_ACHEMINEMENT}


def test_actions_are_unique_per_source_status():
    for status in [None, *Status]:
        actions = [t.action for t in lifecycle.transitions_from(status)]
        assert len(actions) == len(set(actions)), status


@pytest.mark.parametrize("target", [Status.SUSPENDUE, Status.A_RECYCLER, Status.REJETEE])
def test_recipient_move_back_needs_a_reason(target):
    with pytest.raises(InvalidArgument) as raised:
        lifecycle.recipient_move(
            Status.MISE_A_DISPOSITION, target, "  ", payment_status_not_reported=False
        )
    assert raised.value.reason == "REASON_REQUIRED"
    step = lifecycle.recipient_move(
        Status.MISE_A_DISPOSITION,
        target,
        "Bon de commande absent",
        payment_status_not_reported=False,
    )
    assert step.action == f"MARK_{target}"


def test_recipient_move_forward_may_skip_steps_without_reason():
    step = lifecycle.recipient_move(
        Status.MISE_A_DISPOSITION, Status.MANDATEE, "", payment_status_not_reported=False
    )
    assert step.target is Status.MANDATEE


def test_recipient_move_never_goes_back_nor_acts_for_the_supplier():
    with pytest.raises(TransitionNotAllowed):
        lifecycle.recipient_move(
            Status.SERVICE_FAIT,
            Status.PRISE_EN_COMPTE_DESTINATAIRE,
            "",
            payment_status_not_reported=False,
        )
    with pytest.raises(TransitionNotAllowed):
        lifecycle.recipient_move(
            Status.SUSPENDUE, Status.COMPLETEE, "", payment_status_not_reported=False
        )


def test_payment_cannot_be_entered_where_payment_status_is_not_reported():
    with pytest.raises(PaymentStatusNotReported):
        lifecycle.recipient_move(
            Status.COMPTABILISEE, Status.MISE_EN_PAIEMENT, "", payment_status_not_reported=True
        )
    step = lifecycle.recipient_move(
        Status.COMPTABILISEE, Status.MISE_EN_PAIEMENT, "", payment_status_not_reported=False
    )
    assert step.target is Status.MISE_EN_PAIEMENT
    # Other moves stay open on such a structure.
    lifecycle.recipient_move(
        Status.MISE_A_DISPOSITION, Status.COMPTABILISEE, "", payment_status_not_reported=True
    )
