"""Sollicitation notifications: the wording (unit) and the flow from structures' events to
e-mails and feed items both ways (integration, on the shared running service)."""

from __future__ import annotations

import uuid

from chorus.identity.events.v1 import identity_events_pb2 as identity_events
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.structures.events.v1 import structures_events_pb2 as structures_events
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_notifications.domain import sollicitation_messages as wording
from chorus_notifications.rendering import render_email, render_feed

from .conftest import PORTAL, assert_english, unique_email, wait_until


def test_new_sollicitation_email_names_sender_structure_subject_and_invoice():
    email = render_email(
        wording.received_email(
            first_name="Manuela",
            sender_name="Pierre Martin",
            sender_structure_name="Boulangerie Dupont",
            addressee_name="Mairie de Lyon",
            subject="Date de paiement <b>",
            about_text=wording.about("F-2024-1", "", "fr"),
            url="https://portail/sollicitations/1",
            locale="fr",
        )
    )

    assert email.kind == "SOLLICITATION_RECEIVED"
    assert email.subject == "Nouvelle sollicitation : Date de paiement <b>"
    assert (
        "Pierre Martin (Boulangerie Dupont) a écrit à la structure « Mairie de Lyon », dont "
        "vous êtes gestionnaire, au sujet de la facture F-2024-1." in email.text_body
    )
    assert "https://portail/sollicitations/1" in email.text_body
    assert "&lt;b&gt;" in email.html_body


def test_to_the_support_it_says_so_and_english_reads_english():
    french = render_email(
        wording.received_email(
            first_name="",
            sender_name="Pierre Martin",
            sender_structure_name="",
            addressee_name="",
            subject="Accès",
            about_text=wording.about("", "Mairie", "fr"),
            url="u",
            locale="fr",
        )
    )
    assert "a écrit à le support" not in french.text_body
    assert (
        "Pierre Martin a écrit au support de la plateforme, au sujet de la structure « Mairie »."
        in french.text_body
    )
    english = render_email(
        wording.replied_email(
            first_name="Ann",
            author_name="Pierre Martin",
            subject="Access",
            about_text=wording.about("F-1", "", "en"),
            url="u",
            locale="en",
        )
    )
    assert english.subject == "New message: Access"
    assert_english(english.subject, english.text_body)


def test_feed_items_say_who_and_what():
    item = render_feed(
        wording.closed_feed(closer_name="Pierre Martin", subject="Accès", link="/s/1", locale="fr")
    )
    assert item.title == "Sollicitation clôturée : Accès"
    assert item.body == "Pierre Martin a clôturé la sollicitation « Accès »."


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


async def test_sollicitation_reaches_managers_and_the_answer_reaches_the_sender(
    service, events, mail_catcher, db, signer
):
    manuela, pierre = await registered(events, "Manuela"), await registered(events, "Pierre")
    for user in (manuela, pierre):
        await wait_until(
            lambda u=user: db.fetchval("SELECT 1 FROM recipients WHERE user_id = $1", u.user_id)
        )
    sollicitation = structures_pb.Sollicitation(
        id=str(uuid.uuid4()),
        sender=structures_pb.Person(user_id=pierre.user_id),
        sender_structure_name="Boulangerie Dupont",
        addressee_structure_id=str(uuid.uuid4()),
        addressee_structure_name="Mairie de Lyon",
        subject="Paiement de F-7",
        invoice_id=str(uuid.uuid4()),
        invoice_number="F-7",
    )
    key = sollicitation.id
    await events.publish(
        "structures",
        key,
        structures_events.SollicitationCreated(
            sollicitation=sollicitation, addressee_user_ids=[manuela.user_id]
        ),
    )
    await events.publish(
        "structures",
        key,
        structures_events.SollicitationReplied(
            sollicitation=sollicitation,
            author_user_id=manuela.user_id,
            from_sender=False,
            recipient_user_ids=[pierre.user_id],
        ),
    )
    await events.publish(
        "structures",
        key,
        structures_events.SollicitationClosed(
            sollicitation=sollicitation,
            closed_by=pierre.user_id,
            recipient_user_ids=[manuela.user_id],
        ),
    )

    received = await mail_catcher.wait_for(
        lambda m: manuela.contact_email in m.envelope_to and "Nouvelle sollicitation" in m.subject,
        20,
    )
    answered = await mail_catcher.wait_for(
        lambda m: pierre.contact_email in m.envelope_to and "Nouveau message" in m.subject, 20
    )
    assert "Pierre Test (Boulangerie Dupont)" in received.text
    assert "au sujet de la facture F-7" in received.text
    assert f"{PORTAL}/sollicitations/{sollicitation.id}" in received.text
    assert "Manuela Test a écrit un nouveau message" in answered.text

    async def feed_of(user, count):
        response = await service.stub.ListFeed(
            pb.ListFeedRequest(), metadata=signer.metadata(user.user_id)
        )
        return response.items if len(response.items) >= count else None

    manuela_items = await wait_until(lambda: feed_of(manuela, 2))
    assert sorted(i.kind for i in manuela_items) == [
        "SOLLICITATION_CLOSED",
        "SOLLICITATION_RECEIVED",
    ]
    assert {i.link for i in manuela_items} == {f"/sollicitations/{sollicitation.id}"}
    pierre_items = await wait_until(lambda: feed_of(pierre, 1))
    assert [i.kind for i in pierre_items] == ["SOLLICITATION_REPLIED"]
    # The closing is a feed item only: one e-mail each.
    to_manuela = [m for m in mail_catcher.messages if manuela.contact_email in m.envelope_to]
    assert len(to_manuela) == 1
