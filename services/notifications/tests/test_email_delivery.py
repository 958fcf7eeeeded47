"""Integration: events from the broker become e-mails at a real SMTP server, once each."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from chorus.identity.events.v1 import identity_events_pb2 as identity_events
from chorus.invoices.events.v1 import invoices_events_pb2 as invoices_events
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus_devstack.mailcatcher import MailCatcher
from chorus_platform import sealing
from chorus_platform.outbox import topic_of
from chorus_platform.topics import dlq_topic
from google.protobuf.timestamp_pb2 import Timestamp

from .conftest import PORTAL, unique_email, wait_until


def in_an_hour() -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + timedelta(minutes=60))
    return stamp


async def register(events, *, locale="fr", first_name="Zoé") -> identity_events.UserRegistered:
    user = identity_events.UserRegistered(
        user_id=str(uuid.uuid4()),
        login_email=unique_email("login"),
        contact_email=unique_email("contact"),
        first_name=first_name,
        last_name="Martin",
        locale=locale,
    )
    await events.publish("identity", user.user_id, user)
    return user


async def projected(db, user_id: str) -> None:
    """Waits until the recipients projection knows the user (fed from another topic)."""
    await wait_until(lambda: db.fetchval("SELECT 1 FROM recipients WHERE user_id = $1", user_id))


async def sealed_for(service, event_name: str, user_id: str, token: str) -> bytes:
    """``token`` sealed as identity does: to the key GetSealingKey publishes, in context."""
    key = await service.stub.GetSealingKey(pb.GetSealingKeyRequest())
    return sealing.seal(key.public_key, token.encode(), f"{event_name}/{user_id}".encode())


async def activation_link(service, user, token: str) -> identity_events.ActivationLinkIssued:
    name = identity_events.ActivationLinkIssued.DESCRIPTOR.full_name
    return identity_events.ActivationLinkIssued(
        user_id=user.user_id,
        contact_email=user.contact_email,
        first_name=user.first_name,
        sealed_token=await sealed_for(service, name, user.user_id, token),
        expires_at=in_an_hour(),
        locale=user.locale,
    )


async def read_dead_letter(settings, topic: str, event_id: str) -> ConsumerRecord:
    """The record of ``event_id`` parked on ``<topic>.dlq`` (read without a consumer group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = consumer.partitions_for_topic(dlq_topic(topic)) or set()
        consumer.assign([TopicPartition(dlq_topic(topic), p) for p in partitions])
        async with asyncio.timeout(20):
            while True:
                record = await consumer.getone()
                if ("ce_id", event_id.encode()) in record.headers:
                    return record
    finally:
        await consumer.stop()


async def replay(settings, topic: str, record: ConsumerRecord) -> None:
    """Puts a parked record back on its topic, as ``replay_dead_letters`` does."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        headers = [(k, v) for k, v in record.headers if not k.startswith("dlq_")]
        await producer.send_and_wait(topic, record.value, key=record.key, headers=headers)
    finally:
        await producer.stop()


def sent_to(catcher: MailCatcher, address: str):
    return [m for m in catcher.messages if address in m.envelope_to]


async def test_activation_link_is_emailed_once_in_french_with_the_link(
    service, events, mail_catcher, db
):
    user = await register(events)
    token = f"tok-{uuid.uuid4().hex}"
    link = await activation_link(service, user, token)
    event_id = await events.publish("identity", user.user_id, link)

    message = await mail_catcher.wait_for(lambda m: user.contact_email in m.envelope_to, 20)

    assert message.subject == "Activez votre compte Chorus"
    assert message.text.startswith("Bonjour Zoé,")
    assert f"{PORTAL}/activation?token={token}" in message.text
    assert "valable 60 minutes" in message.text
    assert "ignorez ce message" in message.text
    assert f'href="{PORTAL}/activation?token={token}"' in message.html
    assert message.summary()["From"] == {"Address": "no-reply@chorus.localhost", "Name": "Chorus"}

    # The relay sends the same event again (same ce_id), then a later event of the same user:
    # once that one is handled, the duplicate before it on the partition has been too.
    await events.publish("identity", user.user_id, link, event_id=event_id)
    await events.publish(
        "identity", user.user_id, identity_events.UserActivated(user_id=user.user_id)
    )
    await wait_until(
        lambda: db.fetchval("SELECT count(*) FROM feed_items WHERE user_id = $1", user.user_id)
    )
    await wait_until(
        lambda: db.fetchval(
            "SELECT count(*) = 0 FROM emails WHERE status = 'PENDING' AND user_id = $1",
            user.user_id,
        )
    )

    assert len(sent_to(mail_catcher, user.contact_email)) == 1
    row = await db.fetchrow(
        "SELECT kind, status, attempts, user_id::text, event_id FROM emails"
        " WHERE recipient_address = $1",
        user.contact_email,
    )
    assert dict(row) == {
        "kind": "ACCOUNT_ACTIVATION",
        "status": "SENT",
        "attempts": 1,
        "user_id": user.user_id,
        "event_id": event_id,
    }
    # The token never lay in plain text in the table, and its sealed form is gone once sent.
    stored = await db.fetchrow(
        "SELECT text_body, html_body, sealed_secret FROM emails"
        " WHERE recipient_address = $1 AND status = 'SENT'",
        user.contact_email,
    )
    assert token not in stored["text_body"] + stored["html_body"]
    assert stored["sealed_secret"] is None


async def test_activation_email_follows_the_locale_of_the_event(service, events, mail_catcher):
    user = await register(events, locale="en", first_name="Ann")
    await events.publish("identity", user.user_id, await activation_link(service, user, "tok-en"))

    message = await mail_catcher.wait_for(lambda m: user.contact_email in m.envelope_to, 20)

    assert message.subject == "Activate your Chorus account"
    assert message.text.startswith("Hello Ann,")


async def test_invoice_status_change_emails_the_depositor_and_feeds_them(
    service, events, mail_catcher, signer, db
):
    user = await register(events)
    # Another topic, so no ordering with the invoice event: let the projection catch up first.
    await projected(db, user.user_id)
    invoice_id = str(uuid.uuid4())
    await events.publish(
        "invoices",
        invoice_id,
        invoices_events.InvoiceStatusChanged(
            invoice_id=invoice_id,
            number="F-2025-0042",
            from_status=invoices_pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT,
            to_status=invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
            lifecycle_code=203,
            depositor_user_id=user.user_id,
            actor="system",
        ),
    )

    message = await mail_catcher.wait_for(lambda m: user.contact_email in m.envelope_to, 20)
    assert message.subject == "Facture F-2025-0042 : mise à disposition du destinataire"
    assert f"{PORTAL}/factures/{invoice_id}" in message.text
    assert f'href="{PORTAL}/factures/{invoice_id}"' in message.html

    feed = await service.stub.ListFeed(pb.ListFeedRequest(), metadata=signer.metadata(user.user_id))
    assert [(i.kind, i.title, i.link, i.read) for i in feed.items] == [
        (
            "INVOICE_STATUS_CHANGED",
            "Facture F-2025-0042 : mise à disposition du destinataire",
            f"/factures/{invoice_id}",
            False,
        )
    ]


async def test_the_automatic_routing_step_goes_to_the_feed_without_an_email(
    service, events, mail_catcher, signer, db
):
    user = await register(events)
    await projected(db, user.user_id)
    invoice_id = str(uuid.uuid4())
    for source, target in (
        (invoices_pb.INVOICE_STATUS_DEPOSEE, invoices_pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT),
        (
            invoices_pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT,
            invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
        ),
    ):
        await events.publish(
            "invoices",
            invoice_id,
            invoices_events.InvoiceStatusChanged(
                invoice_id=invoice_id,
                number="F-ROUTE-1",
                from_status=source,
                to_status=target,
                depositor_user_id=user.user_id,
                actor="system",
            ),
        )

    # Same key, so handled in order: once the second e-mail exists, the first event is done.
    await mail_catcher.wait_for(lambda m: user.contact_email in m.envelope_to, 20)
    subjects = await db.fetch("SELECT subject FROM emails WHERE user_id = $1", user.user_id)
    assert [r["subject"] for r in subjects] == [
        "Facture F-ROUTE-1 : mise à disposition du destinataire"
    ]
    feed = await service.stub.ListFeed(pb.ListFeedRequest(), metadata=signer.metadata(user.user_id))
    assert len(feed.items) == 2


async def test_status_change_for_an_unknown_depositor_is_dead_lettered_then_replayable(
    service, events, mail_catcher, db, settings
):
    depositor = str(uuid.uuid4())
    invoice_id = str(uuid.uuid4())
    event_id = await events.publish(
        "invoices",
        invoice_id,
        invoices_events.InvoiceStatusChanged(
            invoice_id=invoice_id,
            number="F-404",
            from_status=invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
            to_status=invoices_pb.INVOICE_STATUS_REJETEE,
            depositor_user_id=depositor,
            comment="Destinataire inconnu",
        ),
    )

    parked = await read_dead_letter(settings, topic_of("invoices"), event_id)
    headers = dict(parked.headers)
    assert headers["dlq_consumer"] == b"notifications"
    assert b"RecipientNotKnownYet" in headers["dlq_error"]
    assert await db.fetchval("SELECT count(*) FROM emails WHERE user_id = $1", depositor) == 0

    # The projection catches up; replaying the parked event now notifies the depositor.
    user = identity_events.UserRegistered(
        user_id=depositor,
        login_email=unique_email(),
        contact_email=unique_email("late"),
        first_name="Léa",
        last_name="Durand",
        locale="fr",
    )
    await events.publish("identity", depositor, user)
    await projected(db, depositor)
    await replay(settings, topic_of("invoices"), parked)

    message = await mail_catcher.wait_for(lambda m: user.contact_email in m.envelope_to, 20)
    assert message.subject == "Facture F-404 : rejetée"
    assert "Commentaire : Destinataire inconnu" in message.text
