"""Membership notifications: the wording (unit) and the flow from structures' events to
e-mails and feed items (integration, on the shared running service)."""

from __future__ import annotations

import uuid

import pytest
from chorus.identity.events.v1 import identity_events_pb2 as identity_events
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.structures.events.v1 import structures_events_pb2 as structures_events
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_notifications.domain import membership_messages as wording

from .conftest import PORTAL, unique_email, wait_until

STRUCTURE = "Les Délices de Savoie"


def test_attachment_request_email_names_the_requester_and_the_structure():
    email = wording.attachment_requested_email(
        first_name="Manuela",
        requester_name="Pierre Martin",
        requester_email="pierre@exemple.fr",
        structure_name=STRUCTURE,
        comment="Je suis le comptable <b>",
        requests_url="https://portail/structures/1",
        locale="fr",
    )

    assert email.kind == "ATTACHMENT_REQUESTED"
    assert email.subject == "Demande de rattachement à « Les Délices de Savoie »"
    assert email.text_body.startswith("Bonjour Manuela,")
    assert "Pierre Martin (pierre@exemple.fr) demande à être rattaché(e)" in email.text_body
    assert "Son message : Je suis le comptable <b>" in email.text_body
    assert "&lt;b&gt;" in email.html_body


@pytest.mark.parametrize(
    ("accepted", "subject", "sentence"),
    [
        (True, "Rattachement à « Les Délices de Savoie » accepté", "en tant que gestionnaire"),
        (False, "Rattachement à « Les Délices de Savoie » refusé", "a été refusée"),
    ],
)
def test_attachment_decision_email(accepted, subject, sentence):
    email = wording.attachment_decided_email(
        first_name="Pierre",
        accepted=accepted,
        role="GESTIONNAIRE_SECONDAIRE" if accepted else "",
        structure_name=STRUCTURE,
        comment="Bienvenue" if accepted else "Inconnu",
        structure_url="https://portail/structures/1",
        locale="fr",
    )

    assert email.subject == subject
    assert sentence in email.text_body
    assert "Commentaire du gestionnaire : " in email.text_body


def test_principal_transfer_is_worded_for_each_side():
    new = wording.principal_transferred_email(
        first_name="Pierre",
        is_new_principal=True,
        other_name="Manuela Dupont",
        structure_name=STRUCTURE,
        structure_url="u",
        locale="fr",
    )
    previous = wording.principal_transferred_email(
        first_name="Manuela",
        is_new_principal=False,
        other_name="Pierre Martin",
        structure_name=STRUCTURE,
        structure_url="u",
        locale="fr",
    )

    assert new.subject == "Vous êtes gestionnaire principal de « Les Délices de Savoie »"
    assert "Manuela Dupont vous a transmis" in new.text_body
    assert previous.subject.startswith("Rôle de gestionnaire principal")
    assert "restez gestionnaire secondaire" in previous.text_body


def test_subscription_decision_names_the_space_and_mode():
    entry = wording.subscription_decided_feed(
        accepted=True,
        space="FACTURES_RECUES",
        mode="CONSULTATION",
        structure_name=STRUCTURE,
        comment="",
        link="/",
        locale="fr",
    )
    assert entry.title == "Abonnement à l'espace « Factures reçues » accepté"
    assert entry.body.endswith("en consultation.")


def test_every_space_of_the_contract_has_a_french_label():
    for value in structures_pb.Space.values():
        if value:
            code = structures_pb.Space.Name(value).removeprefix("SPACE_")
            assert code in wording.SPACE_LABELS["fr"]
            assert code in wording.SPACE_LABELS["en"]


async def registered(events, first_name: str) -> identity_events.UserRegistered:
    user = identity_events.UserRegistered(
        user_id=str(uuid.uuid4()),
        login_email=unique_email("login"),
        contact_email=unique_email(first_name.lower()),
        first_name=first_name,
        last_name="Test",
        locale="fr",
    )
    await events.publish("identity", user.user_id, user)
    return user


async def test_request_decision_and_transfer_reach_the_right_people(
    service, events, mail_catcher, db, signer
):
    manuela, pierre = await registered(events, "Manuela"), await registered(events, "Pierre")
    for user in (manuela, pierre):
        await wait_until(
            lambda u=user: db.fetchval("SELECT 1 FROM recipients WHERE user_id = $1", u.user_id)
        )
    structure_id, request_id = str(uuid.uuid4()), str(uuid.uuid4())
    request = structures_pb.AttachmentRequest(
        id=request_id,
        structure_id=structure_id,
        requester=structures_pb.Person(user_id=pierre.user_id),
        comment="Je suis le comptable",
    )
    await events.publish(
        "structures",
        structure_id,
        structures_events.AttachmentRequested(
            request=request, manager_user_ids=[manuela.user_id], structure_name=STRUCTURE
        ),
    )
    await events.publish(
        "structures",
        structure_id,
        structures_events.AttachmentDecided(
            request=request,
            structure_name=STRUCTURE,
            requester_user_id=pierre.user_id,
            decision=structures_pb.DECISION_VALIDEE,
            role=structures_pb.ROLE_GESTIONNAIRE_SECONDAIRE,
            decided_by=manuela.user_id,
        ),
    )
    await events.publish(
        "structures",
        structure_id,
        structures_events.MemberAdded(
            structure_id=structure_id,
            user_id=pierre.user_id,
            role=structures_pb.ROLE_GESTIONNAIRE_SECONDAIRE,
            attachment_request_id=request_id,
        ),
    )
    await events.publish(
        "structures",
        structure_id,
        structures_events.PrincipalTransferred(
            structure_id=structure_id,
            previous_principal_user_id=manuela.user_id,
            new_principal_user_id=pierre.user_id,
            structure_name=STRUCTURE,
        ),
    )

    asked = await mail_catcher.wait_for(
        lambda m: manuela.contact_email in m.envelope_to and "Demande" in m.subject, 20
    )
    accepted = await mail_catcher.wait_for(
        lambda m: pierre.contact_email in m.envelope_to and "accepté" in m.subject, 20
    )
    promoted = await mail_catcher.wait_for(
        lambda m: pierre.contact_email in m.envelope_to and "principal" in m.subject, 20
    )
    handed_over = await mail_catcher.wait_for(
        lambda m: manuela.contact_email in m.envelope_to and "transmis" in m.subject, 20
    )

    assert "Pierre Test" in asked.text
    assert f"{PORTAL}/structures/{structure_id}" in asked.text
    assert "en tant que gestionnaire secondaire" in accepted.text
    assert "Manuela Test vous a transmis" in promoted.text
    assert "à Pierre Test" in handed_over.text

    async def pierre_feed():
        response = await service.stub.ListFeed(
            pb.ListFeedRequest(), metadata=signer.metadata(pierre.user_id)
        )
        return response.items if len(response.items) >= 2 else None

    kinds = sorted(item.kind for item in await wait_until(pierre_feed))
    # The membership from the accepted request is told once, by the decision.
    assert kinds == ["ATTACHMENT_DECIDED", "PRINCIPAL_TRANSFERRED"]
