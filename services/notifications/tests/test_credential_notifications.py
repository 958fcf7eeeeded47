"""Notices about a structure's technical accounts (identity's events): the wording (unit) and
the flow to the structure's managers (integration, on the shared running service): the
expiry reminder goes to every manager, by e-mail and in the feed, once per (event,
recipient); a change made by one manager is told to the others."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from chorus.identity.events.v1 import identity_events_pb2 as identity_events
from chorus.invoices.events.v1 import invoices_events_pb2 as invoices_events
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.structures.events.v1 import structures_events_pb2 as structures_events
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_notifications.domain import credential_messages as wording
from chorus_notifications.domain.credential_messages import TechnicalChange
from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.preferences import is_optional
from chorus_notifications.rendering import render_email, render_feed
from google.protobuf.timestamp_pb2 import Timestamp

from .conftest import PORTAL, assert_english, unique_email, wait_until

EXPIRES = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 1 December in Paris (UTC+1)
LOGIN = "TECH_42@cpro.chorus.local"


def test_the_expiry_reminder_says_which_account_when_and_what_to_do():
    email = render_email(
        wording.technical_expiring_email(
            first_name="Manuela",
            login=LOGIN,
            structure_name="Les Délices <de> Savoie",
            expires_at=EXPIRES,
            days_left=30,
            accounts_url="https://portail/structures/1/comptes-techniques",
            locale="fr",
        )
    )

    assert email.kind is NotificationKind.TECHNICAL_ACCOUNT_EXPIRING
    assert email.subject == f"Compte technique {LOGIN} : mot de passe expirant le 01/12/2026"
    assert email.text_body.startswith("Bonjour Manuela,")
    assert "« Les Délices <de> Savoie » expire le 01/12/2026, dans 30 jours" in email.text_body
    assert "renouvelez-le dès maintenant dans le portail" in email.text_body
    assert "https://portail/structures/1/comptes-techniques" in email.text_body
    assert "&lt;de&gt;" in email.html_body
    english = render_email(
        wording.technical_expiring_email(
            first_name="Peter",
            login=LOGIN,
            structure_name="Savoy Delights",
            expires_at=EXPIRES,
            days_left=7,
            accounts_url="https://portal/x",
            locale="en",
        )
    )
    assert english.subject == f"Technical account {LOGIN}: password expiring on 2026-12-01"
    assert "within 7 days" in english.text_body
    assert_english(english.subject, english.text_body, english.html_body)


@pytest.mark.parametrize(
    ("change", "subject", "sentence"),
    [
        (TechnicalChange.ACTIVATED, "activé pour « Mairie »", "Anne Martin a activé le compte"),
        (TechnicalChange.ROTATED, "mot de passe renouvelé", "l'ancien ne fonctionne plus"),
        (TechnicalChange.REVOKED, "révoqué pour « Mairie »", "ne donne plus accès à l'API"),
    ],
)
def test_a_change_tells_who_did_what(change, subject, sentence):
    facts = {
        "change": change,
        "login": LOGIN,
        "structure_name": "Mairie",
        "actor_name": "Anne Martin",
        "expires_at": EXPIRES if change is not TechnicalChange.REVOKED else None,
    }
    email = render_email(
        wording.technical_changed_email(
            **facts, first_name="Bruno", accounts_url="https://p/x", locale="fr"
        )
    )
    entry = render_feed(wording.technical_changed_feed(**facts, link="/x", locale="fr"))
    english = render_email(
        wording.technical_changed_email(
            **facts, first_name="Bruno", accounts_url="https://p/x", locale="en"
        )
    )

    assert email.kind is NotificationKind.TECHNICAL_ACCOUNT_CHANGED
    assert subject in email.subject and sentence in email.text_body
    assert entry.title.startswith(f"Compte technique {LOGIN}") and "Anne Martin" in entry.body
    assert_english(english.subject, english.text_body, english.html_body)


def test_credential_notices_cannot_be_switched_off():
    assert not is_optional(NotificationKind.TECHNICAL_ACCOUNT_EXPIRING)
    assert not is_optional(NotificationKind.TECHNICAL_ACCOUNT_CHANGED)


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


async def registered(events, db, first_name: str) -> identity_events.UserRegistered:
    user = identity_events.UserRegistered(
        user_id=str(uuid.uuid4()),
        login_email=unique_email("login"),
        contact_email=unique_email(first_name.lower()),
        first_name=first_name,
        last_name="Test",
        locale="fr",
    )
    await events.publish("identity", user.user_id, user)
    await wait_until(
        lambda: db.fetchval("SELECT 1 FROM recipients WHERE user_id = $1", user.user_id)
    )
    return user


async def structure_with(events, db, roles: dict[str, int]) -> str:
    structure_id = str(uuid.uuid4())
    await events.publish(
        "structures",
        structure_id,
        structures_events.StructureCreated(
            structure=structures_pb.Structure(id=structure_id, raison_sociale="Mairie de Lyon")
        ),
    )
    for user_id, role in roles.items():
        await events.publish(
            "structures",
            structure_id,
            structures_events.MemberAdded(structure_id=structure_id, user_id=user_id, role=role),
        )
    await wait_until(
        lambda: db.fetchval(
            "SELECT count(*) = $2 FROM structure_members WHERE structure_id = $1",
            structure_id,
            len(roles),
        )
    )
    return structure_id


async def test_the_reminder_reaches_every_manager_once_and_no_simple_user(
    service, events, mail_catcher, db, signer
):
    anne, bruno, chloe = [await registered(events, db, n) for n in ("Anne", "Bruno", "Chloe")]
    structure_id = await structure_with(
        events,
        db,
        {
            anne.user_id: structures_pb.ROLE_GESTIONNAIRE_PRINCIPAL,
            bruno.user_id: structures_pb.ROLE_GESTIONNAIRE_SECONDAIRE,
            chloe.user_id: structures_pb.ROLE_UTILISATEUR,
        },
    )
    account_id = str(uuid.uuid4())
    reminder = identity_events.TechnicalAccountPasswordExpiring(
        account_id=account_id,
        structure_id=structure_id,
        login=LOGIN,
        expires_at=stamp(EXPIRES),
        days_left=7,
    )

    event_id = await events.publish("identity", account_id, reminder)
    await events.publish("identity", account_id, reminder, event_id=event_id)  # redelivered

    for person in (anne, bruno):
        mail = await mail_catcher.wait_for(
            lambda m, p=person: p.contact_email in m.envelope_to and LOGIN in m.subject, 20
        )
        assert "expire le 01/12/2026, dans 7 jours" in mail.text
        assert f"{PORTAL}/structures/{structure_id}/comptes-techniques" in mail.text
    queued = await wait_until(
        lambda: db.fetch("SELECT recipient_address FROM emails WHERE event_id = $1", event_id)
    )
    assert sorted(row["recipient_address"] for row in queued) == sorted(
        [anne.contact_email, bruno.contact_email]
    )

    async def feed_of(user_id: str):
        answer = await service.stub.ListFeed(
            pb.ListFeedRequest(), metadata=signer.metadata(user_id)
        )
        return [item for item in answer.items if item.kind == "TECHNICAL_ACCOUNT_EXPIRING"]

    [item] = await wait_until(lambda: feed_of(bruno.user_id))
    assert item.link == f"/structures/{structure_id}/comptes-techniques"
    assert "Mairie de Lyon" in item.body
    assert await feed_of(chloe.user_id) == []
    assert not [m for m in mail_catcher.messages if chloe.contact_email in m.envelope_to]


async def test_a_change_is_told_to_the_other_managers_not_to_its_author(
    service, events, mail_catcher, db, signer
):
    anne, bruno = [await registered(events, db, n) for n in ("Anne", "Bruno")]
    structure_id = await structure_with(
        events,
        db,
        {
            anne.user_id: structures_pb.ROLE_GESTIONNAIRE_PRINCIPAL,
            bruno.user_id: structures_pb.ROLE_GESTIONNAIRE_SECONDAIRE,
        },
    )
    account_id = str(uuid.uuid4())
    activated = identity_events.TechnicalAccountActivated(
        account_id=account_id,
        structure_id=structure_id,
        login=LOGIN,
        actor_user_id=anne.user_id,
        password_expires_at=stamp(EXPIRES),
    )

    event_id = await events.publish("identity", account_id, activated)

    mail = await mail_catcher.wait_for(
        lambda m: bruno.contact_email in m.envelope_to and "activé" in m.subject, 20
    )
    assert "Anne Test a activé le compte technique" in mail.text
    assert "expire le 01/12/2026" in mail.text
    queued = await wait_until(
        lambda: db.fetch("SELECT recipient_address FROM emails WHERE event_id = $1", event_id)
    )
    assert [row["recipient_address"] for row in queued] == [bruno.contact_email]


async def test_an_invoice_deposited_by_a_technical_account_still_reaches_its_recipients(
    service, events, mail_catcher, db
):
    """The depositor of an invoice deposited through the Chorus Pro-compatible API is a
    technical account: no mailbox, never a recipient. It is told nothing (no retry, no dead
    letter) while the recipient structure's members are told as usual."""
    buyer = await registered(events, db, "Berthe")
    buyer_id = await structure_with(
        events, db, {buyer.user_id: structures_pb.ROLE_GESTIONNAIRE_PRINCIPAL}
    )
    account_id, supplier_id = str(uuid.uuid4()), str(uuid.uuid4())
    await events.publish(
        "identity",
        account_id,
        identity_events.TechnicalAccountActivated(
            account_id=account_id,
            structure_id=supplier_id,
            login="TECH_77@cpro.chorus.local",
            actor_user_id=str(uuid.uuid4()),
            password_expires_at=stamp(EXPIRES),
        ),
    )
    await wait_until(
        lambda: db.fetchval("SELECT 1 FROM technical_users WHERE user_id = $1", account_id)
    )
    invoice_id = str(uuid.uuid4())
    available = invoices_events.InvoiceStatusChanged(
        invoice_id=invoice_id,
        number="F-API-1",
        supplier_structure_id=supplier_id,
        recipient_structure_id=buyer_id,
        depositor_user_id=account_id,
        from_status=invoices_pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT,
        to_status=invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
        actor="system",
    )

    event_id = await events.publish("invoices", invoice_id, available)

    mail = await mail_catcher.wait_for(
        lambda m: buyer.contact_email in m.envelope_to and "F-API-1" in m.subject, 20
    )
    assert mail.subject == "Nouvelle facture F-API-1 reçue"
    queued = await db.fetch("SELECT recipient_address FROM emails WHERE event_id = $1", event_id)
    assert [row["recipient_address"] for row in queued] == [buyer.contact_email]
    assert (
        await db.fetchval("SELECT count(*) FROM dead_letters WHERE key = $1", invoice_id.encode())
        == 0
    )
