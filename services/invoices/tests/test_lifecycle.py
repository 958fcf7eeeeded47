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


# The official pairs: AIFE, Dossier de spécifications externes "Chorus Pro" v1.1 (2026),
# tables 8, 11 and 12, as DESIGN.md §4 lists them. (Chorus status, reform code, reform label).
OFFICIAL_PAIRS = [
    (Status.DEPOSEE, 200, "Déposée"),  # table 8 (202 Reçue only towards a supplier's platform)
    (Status.EN_COURS_ACHEMINEMENT, 201, "Émise"),  # table 8
    (Status.MISE_A_DISPOSITION, 203, "Mise à disposition"),  # table 8
    # Table 8: the recipient's processing steps are all 204 "Prise en charge", not 205.
    (Status.PRISE_EN_COMPTE_DESTINATAIRE, 204, "Prise en charge"),
    (Status.SERVICE_FAIT, 204, "Prise en charge"),
    (Status.MANDATEE, 204, "Prise en charge"),
    (Status.MISE_A_DISPOSITION_COMPTABLE, 204, "Prise en charge"),
    (Status.COMPTABILISEE, 204, "Prise en charge"),
    (Status.SUSPENDUE, 208, "Suspendue"),  # table 11, with its reason code
    (Status.COMPLETEE, 209, "Complétée"),  # table 11
    (Status.REJETEE, 210, "Refusée"),  # table 11, with its reason code
    (Status.A_RECYCLER, 210, "Refusée"),  # table 11: the reform abolishes "à recycler"
    (Status.MISE_EN_PAIEMENT, 211, "Paiement transmis"),  # table 12
]
# Table 12: for historic B2G payments Chorus also produces 212 "Encaissée".
OFFICIAL_ALSO_PRODUCED = {Status.MISE_EN_PAIEMENT: [(212, "Encaissée")]}


def test_the_code_table_is_the_official_one():
    table = {
        status: (info.lifecycle_code, lifecycle.lifecycle_label(status))
        for status, info in lifecycle.STATUSES.items()
    }
    official = {status: (code, label) for status, code, label in OFFICIAL_PAIRS}
    assert table == {Status.BROUILLON: (None, ""), **official}


def test_codes_chorus_also_produces_are_the_official_ones():
    produced = {
        status: [(c.code, c.label) for c in lifecycle.lifecycle_codes(status)[1:]]
        for status in Status
    }
    assert {s: codes for s, codes in produced.items() if codes} == OFFICIAL_ALSO_PRODUCED


def test_no_status_says_approuvee_nor_rejetee():
    """205 belongs to A9/A12 validation circuits, 213 to files refused at deposit."""
    codes = {c.code for s in Status for c in lifecycle.lifecycle_codes(s)}
    assert codes.isdisjoint({205, 206, 213, 214})


@pytest.mark.parametrize(
    ("status", "descriptions"),
    [
        (Status.BROUILLON, []),
        (Status.DEPOSEE, ["200 Déposée"]),
        (Status.EN_COURS_ACHEMINEMENT, ["201 Émise — en cours d'acheminement"]),
        (Status.MISE_A_DISPOSITION, ["203 Mise à disposition"]),
        (Status.PRISE_EN_COMPTE_DESTINATAIRE, ["204 Prise en charge — prise en compte"]),
        (Status.SERVICE_FAIT, ["204 Prise en charge — service fait"]),
        (Status.MANDATEE, ["204 Prise en charge — mandatée"]),
        (
            Status.MISE_A_DISPOSITION_COMPTABLE,
            ["204 Prise en charge — mise à disposition comptable"],
        ),
        (Status.COMPTABILISEE, ["204 Prise en charge — comptabilisée"]),
        (
            Status.MISE_EN_PAIEMENT,
            [
                "211 Paiement transmis — mise en paiement",
                "212 Encaissée — mise en paiement (B2G historique)",
            ],
        ),
        (Status.SUSPENDUE, ["208 Suspendue"]),
        (Status.COMPLETEE, ["209 Complétée"]),
        (Status.A_RECYCLER, ["210 Refusée — à recycler"]),
        (Status.REJETEE, ["210 Refusée — rejetée"]),
    ],
)
def test_the_history_says_which_chorus_status_gave_each_code(status, descriptions):
    assert [c.description for c in lifecycle.lifecycle_codes(status)] == descriptions
    assert lifecycle.lifecycle_description(status) == (descriptions[0] if descriptions else "")


def test_the_docstring_table_is_the_code_table():
    """The module's documented table says what STATUSES says (one source of truth)."""
    doc = lifecycle.__doc__ or ""
    rows = {}
    for line in doc.splitlines():
        if line.startswith("``"):
            name, rest = line[2:].split("``", 1)
            rows[Status(name)] = rest.split()[0].rstrip(",")
    assert rows == {
        status: str(info.lifecycle_code or "none") for status, info in lifecycle.STATUSES.items()
    }


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
