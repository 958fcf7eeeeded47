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
from chorus_notifications.rendering import render_email, render_feed

from .conftest import PORTAL, assert_english, unique_email, wait_until

STRUCTURE = "Les Délices de Savoie"


def test_attachment_request_email_names_the_requester_and_the_structure():
    email = render_email(
        wording.attachment_requested_email(
            first_name="Manuela",
            requester_name="Pierre Martin",
            requester_email="pierre@exemple.fr",
            structure_name=STRUCTURE,
            comment="Je suis le comptable <b>",
            requests_url="https://portail/structures/1",
            locale="fr",
        )
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
    email = render_email(
        wording.attachment_decided_email(
            first_name="Pierre",
            accepted=accepted,
            role="GESTIONNAIRE_SECONDAIRE" if accepted else "",
            structure_name=STRUCTURE,
            comment="Bienvenue" if accepted else "Inconnu",
            structure_url="https://portail/structures/1",
            locale="fr",
        )
    )

    assert email.subject == subject
    assert sentence in email.text_body
    assert "Commentaire du gestionnaire : " in email.text_body


def test_principal_transfer_is_worded_for_each_side():
    new = render_email(
        wording.principal_transferred_email(
            first_name="Pierre",
            is_new_principal=True,
            other_name="Manuela Dupont",
            structure_name=STRUCTURE,
            structure_url="u",
            locale="fr",
        )
    )
    previous = render_email(
        wording.principal_transferred_email(
            first_name="Manuela",
            is_new_principal=False,
            other_name="Pierre Martin",
            structure_name=STRUCTURE,
            structure_url="u",
            locale="fr",
        )
    )

    assert new.subject == "Vous êtes gestionnaire principal de « Les Délices de Savoie »"
    assert "Manuela Dupont vous a transmis" in new.text_body
    assert previous.subject.startswith("Rôle de gestionnaire principal")
    assert "restez gestionnaire secondaire" in previous.text_body


def test_subscription_decision_names_the_space_and_mode():
    entry = render_feed(
        wording.subscription_decided_feed(
            accepted=True,
            space="FACTURES_RECUES",
            mode="CONSULTATION",
            structure_name=STRUCTURE,
            comment="",
            link="/",
            locale="fr",
        )
    )
    assert entry.title == "Abonnement à l'espace « Factures reçues » accepté"
    assert entry.body.endswith("en consultation.")


def test_every_space_of_the_contract_has_a_french_label():
    for value in structures_pb.Space.values():
        if value:
            code = structures_pb.Space.Name(value).removeprefix("SPACE_")
            assert code in wording.SPACE_LABELS["fr"]
            assert code in wording.SPACE_LABELS["en"]


# --- English wording (a user whose locale is "en") -----------------------------------------

STRUCTURE_EN = "Savoy Delights"
URL = "https://portal/structures/1"


def test_attachment_request_email_in_english():
    email = render_email(
        wording.attachment_requested_email(
            first_name="Manuela",
            requester_name="Peter Martin",
            requester_email="peter@example.com",
            structure_name=STRUCTURE_EN,
            comment="I am the accountant <b>",
            requests_url=URL,
            locale="en",
        )
    )

    assert email.subject == 'Request to join "Savoy Delights"'
    assert email.text_body.startswith("Hello Manuela,\n")
    assert "Peter Martin (peter@example.com) is asking to join" in email.text_body
    assert "Their message: I am the accountant <b>" in email.text_body
    assert "&lt;b&gt;" in email.html_body
    assert "Review the request" in email.html_body
    assert '<html lang="en">' in email.html_body
    assert_english(email.subject, email.text_body, email.html_body)


@pytest.mark.parametrize(
    ("accepted", "subject", "sentence"),
    [
        (True, 'Request to join "Savoy Delights" accepted', "you have joined it as secondary"),
        (False, 'Request to join "Savoy Delights" declined', "has been declined"),
    ],
)
def test_attachment_decision_email_in_english(accepted, subject, sentence):
    email = render_email(
        wording.attachment_decided_email(
            first_name="Peter",
            accepted=accepted,
            role="GESTIONNAIRE_SECONDAIRE" if accepted else "",
            structure_name=STRUCTURE_EN,
            comment="Welcome" if accepted else "Unknown to us",
            structure_url=URL,
            locale="en",
        )
    )

    assert email.subject == subject
    assert sentence in email.text_body
    assert "Manager's comment: " in email.text_body
    assert_english(email.subject, email.text_body, email.html_body)


def test_member_attached_and_role_changed_emails_in_english():
    attached = render_email(
        wording.member_attached_email(
            first_name="Peter",
            role="UTILISATEUR",
            structure_name=STRUCTURE_EN,
            structure_url=URL,
            locale="en",
        )
    )
    changed = render_email(
        wording.role_changed_email(
            first_name="Peter",
            previous_role="UTILISATEUR",
            role="GESTIONNAIRE_SECONDAIRE",
            structure_name=STRUCTURE_EN,
            structure_url=URL,
            locale="en",
        )
    )

    assert attached.subject == 'You have been added to "Savoy Delights"'
    assert "has added you to it as a user." in attached.text_body
    assert changed.subject == 'Your role in "Savoy Delights" has changed'
    assert "as secondary manager (previously as a user)." in changed.text_body
    for email in (attached, changed):
        assert email.text_body.startswith("Hello Peter,\n")
        assert '<html lang="en">' in email.html_body
        assert_english(email.subject, email.text_body, email.html_body)


def test_principal_transfer_is_worded_for_each_side_in_english():
    new = render_email(
        wording.principal_transferred_email(
            first_name="Peter",
            is_new_principal=True,
            other_name="Manuela Dupont",
            structure_name=STRUCTURE_EN,
            structure_url=URL,
            locale="en",
        )
    )
    previous = render_email(
        wording.principal_transferred_email(
            first_name="Manuela",
            is_new_principal=False,
            other_name="Peter Martin",
            structure_name=STRUCTURE_EN,
            structure_url=URL,
            locale="en",
        )
    )

    assert new.subject == 'You are now the principal manager of "Savoy Delights"'
    assert "Manuela Dupont has handed over to you" in new.text_body
    assert previous.subject == 'Principal manager role of "Savoy Delights" handed over'
    assert "You remain one of its secondary managers." in previous.text_body
    for email in (new, previous):
        assert_english(email.subject, email.text_body, email.html_body)


@pytest.mark.parametrize(
    ("accepted", "subject", "sentence"),
    [
        (
            True,
            'Subscription to the "Received invoices" space accepted',
            "has been accepted, with read-only access.",
        ),
        (
            False,
            'Subscription to the "Received invoices" space declined',
            "(read-only) has been declined.",
        ),
    ],
)
def test_subscription_decision_email_in_english(accepted, subject, sentence):
    email = render_email(
        wording.subscription_decided_email(
            first_name="Peter",
            accepted=accepted,
            space="FACTURES_RECUES",
            mode="CONSULTATION",
            structure_name=STRUCTURE_EN,
            comment="" if accepted else "Ask your manager first",
            structure_url=URL,
            locale="en",
        )
    )

    assert email.subject == subject
    assert sentence in email.text_body
    assert ("Manager's comment: Ask your manager first" in email.text_body) == (not accepted)
    assert_english(email.subject, email.text_body, email.html_body)


@pytest.mark.parametrize(
    ("entry", "title", "body"),
    [
        (
            lambda: wording.attachment_requested_feed(
                requester_name="Peter Martin", structure_name=STRUCTURE_EN, link="/", locale="en"
            ),
            'Request to join "Savoy Delights"',
            'Peter Martin is asking to join the organisation "Savoy Delights".',
        ),
        (
            lambda: wording.attachment_decided_feed(
                accepted=True,
                role="GESTIONNAIRE_PRINCIPAL",
                structure_name=STRUCTURE_EN,
                comment="",
                link="/",
                locale="en",
            ),
            'Request to join "Savoy Delights" accepted',
            'You have joined the organisation "Savoy Delights" as principal manager.',
        ),
        (
            lambda: wording.attachment_decided_feed(
                accepted=False,
                role="",
                structure_name=STRUCTURE_EN,
                comment="Unknown",
                link="/",
                locale="en",
            ),
            'Request to join "Savoy Delights" declined',
            'Your request to join the organisation "Savoy Delights" has been declined.'
            " Comment: Unknown",
        ),
        (
            lambda: wording.role_changed_feed(
                role="UTILISATEUR", structure_name=STRUCTURE_EN, link="/", locale="en"
            ),
            'New role in "Savoy Delights"',
            'You now belong to the organisation "Savoy Delights" as a user.',
        ),
        (
            lambda: wording.principal_transferred_feed(
                is_new_principal=True,
                other_name="Manuela Dupont",
                structure_name=STRUCTURE_EN,
                link="/",
                locale="en",
            ),
            'Principal manager of "Savoy Delights"',
            "Manuela Dupont has handed over to you the principal manager role of the"
            ' organisation "Savoy Delights".',
        ),
        (
            lambda: wording.principal_transferred_feed(
                is_new_principal=False,
                other_name="Peter Martin",
                structure_name=STRUCTURE_EN,
                link="/",
                locale="en",
            ),
            "Principal manager role handed over",
            'You have handed over the principal manager role of the organisation "Savoy'
            ' Delights" to Peter Martin; you remain one of its secondary managers.',
        ),
        (
            lambda: wording.subscription_requested_feed(
                requester_name="Peter Martin",
                space="ENGAGEMENTS",
                mode="MODIFICATION",
                structure_name=STRUCTURE_EN,
                link="/",
                locale="en",
            ),
            'Request to subscribe to the "Commitments" space',
            'Peter Martin is asking to use the "Commitments" space of the organisation'
            ' "Savoy Delights" with read-write access.',
        ),
        (
            lambda: wording.subscription_decided_feed(
                accepted=True,
                space="FACTURES_RECUES",
                mode="CONSULTATION",
                structure_name=STRUCTURE_EN,
                comment="",
                link="/",
                locale="en",
            ),
            'Subscription to the "Received invoices" space accepted',
            'You can use the "Received invoices" space of the organisation "Savoy Delights"'
            " with read-only access.",
        ),
        (
            lambda: wording.member_detached_feed(
                structure_name=STRUCTURE_EN, link="/", locale="en"
            ),
            'Removed from "Savoy Delights"',
            'A manager has removed you from the organisation "Savoy Delights": you no longer'
            " have access to it.",
        ),
    ],
)
def test_membership_feed_entries_in_english(entry, title, body):
    item = render_feed(entry())

    assert item.title == title
    assert item.body == body
    assert_english(item.title, item.body)


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
