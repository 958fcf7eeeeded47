"""Unit tests of who is told of an invoice (pure domain), and of the split between the
domain's drafts and their rendering."""

from __future__ import annotations

from dataclasses import replace

import pytest
from chorus_notifications.domain import messages
from chorus_notifications.domain.invoices import StatusChange
from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.members import Member
from chorus_notifications.rendering import render_email, render_feed

CHANGE = StatusChange(
    invoice_id="inv-1",
    number="F-1",
    from_status="DEPOSEE",
    to_status="EN_COURS_ACHEMINEMENT",
    comment="",
    actor="system",
    depositor_user_id="u-1",
    recipient_structure_id="s-2",
    supplier_structure_id="s-1",
    service_code="",
)


def test_a_member_of_every_service_sees_every_invoice():
    member = Member(user_id="u", role="UTILISATEUR", service_ids=())
    assert member.may_see_service("ACHATS")
    assert member.may_see_service("")


def test_a_member_limited_to_services_sees_only_theirs_whatever_the_case():
    member = Member("u", "UTILISATEUR", service_ids=("1", "2"), service_codes=("Achats", "VENTES"))
    assert member.may_see_service("ACHATS")
    assert member.may_see_service("ventes")
    assert not member.may_see_service("FINANCES")
    assert not member.may_see_service("")


def test_a_limited_member_whose_service_codes_are_unknown_is_told_of_nothing():
    member = Member("u", "UTILISATEUR", service_ids=("1",), service_codes=())
    assert not member.may_see_service("ACHATS")


@pytest.mark.parametrize(
    ("role", "manager"),
    [("GESTIONNAIRE_PRINCIPAL", True), ("GESTIONNAIRE_SECONDAIRE", True), ("UTILISATEUR", False)],
)
def test_managers_are_the_principal_and_secondary_ones(role, manager):
    assert Member("u", role, service_ids=()).is_manager is manager


def test_the_routing_step_reaches_the_depositor_in_the_feed_only():
    assert not CHANGE.emails_depositor
    assert replace(CHANGE, to_status="MISE_A_DISPOSITION").emails_depositor


@pytest.mark.parametrize(
    ("to_status", "makes_available", "completes"),
    [("MISE_A_DISPOSITION", True, False), ("COMPLETEE", False, True), ("SUSPENDUE", False, False)],
)
def test_the_recipient_structure_is_told_of_new_and_completed_invoices(
    to_status, makes_available, completes
):
    change = replace(CHANGE, to_status=to_status)
    assert (change.makes_available, change.completes) == (makes_available, completes)


def test_a_draft_names_its_template_and_facts_and_rendering_fills_them():
    draft = messages.invoice_received_email(
        first_name="Nina", number="F-1", invoice_url="https://p/f/1", locale="en"
    )
    assert (draft.kind, draft.template, draft.locale) == (
        NotificationKind.INVOICE_RECEIVED,
        "invoice_received",
        "en",
    )
    assert draft.context["number"] == "F-1"
    assert render_email(draft).subject == "New invoice F-1 received"

    entry = messages.invoice_received_feed(number="F-1", link="/factures/1", locale="fr")
    assert render_feed(entry).title == "Nouvelle facture F-1 reçue"
    assert render_feed(entry).link == "/factures/1"
