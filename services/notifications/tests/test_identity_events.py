"""Integration: identity's account-security events become the right e-mails, feed items and
projection updates; sealed link tokens open only when sent, and only in their own context."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from chorus.identity.events.v1 import identity_events_pb2 as ev
from google.protobuf.timestamp_pb2 import Timestamp

from .conftest import PORTAL, unique_email, wait_until
from .test_email_delivery import in_an_hour, projected, register, sealed_for


def _stamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def mail_to(mail_catcher, address: str, subject: str):
    return await mail_catcher.wait_for(
        lambda m: address in m.envelope_to and subject in m.subject, 20
    )


async def test_password_reset_link_is_sealed_at_rest_and_opened_when_sent(
    service, events, mail_catcher, db
):
    user = await register(events)
    token = f"reset-{uuid.uuid4().hex}"
    name = ev.PasswordResetRequested.DESCRIPTOR.full_name
    event = ev.PasswordResetRequested(
        user_id=user.user_id,
        contact_email=user.contact_email,
        first_name="Zoé",
        expires_at=in_an_hour(),
        locale="fr",
        sealed_token=await sealed_for(service, name, user.user_id, token),
    )
    await events.publish("identity", user.user_id, event)

    message = await mail_to(mail_catcher, user.contact_email, "Réinitialisez")
    assert f"{PORTAL}/mot-de-passe/reinitialisation?token={token}" in message.text
    assert "question secrète" in message.text
    row = await wait_until(
        lambda: db.fetchrow(
            "SELECT kind, text_body, sealed_secret FROM emails"
            " WHERE recipient_address = $1 AND status = 'SENT'",
            user.contact_email,
        )
    )
    assert row["kind"] == "PASSWORD_RESET"
    assert token not in row["text_body"]
    assert row["sealed_secret"] is None


async def test_a_token_sealed_for_another_context_is_never_sent(service, events, db):
    user = await register(events)
    # Sealed for an activation link, replayed inside a reset event: it must not open.
    wrong = await sealed_for(
        service, ev.ActivationLinkIssued.DESCRIPTOR.full_name, user.user_id, "stolen"
    )
    event = ev.PasswordResetRequested(
        user_id=user.user_id,
        contact_email=user.contact_email,
        first_name="Zoé",
        expires_at=in_an_hour(),
        sealed_token=wrong,
    )
    await events.publish("identity", user.user_id, event)

    row = await wait_until(
        lambda: db.fetchrow(
            "SELECT status, last_error, sealed_secret FROM emails"
            " WHERE recipient_address = $1 AND status = 'FAILED'",
            user.contact_email,
        )
    )
    assert "does not open" in row["last_error"] and "stolen" not in row["last_error"]
    assert row["sealed_secret"] is None


async def test_login_email_change_verification_goes_to_the_new_address(
    service, events, mail_catcher
):
    user = await register(events)
    new_address = unique_email("nouvelle")
    name = ev.EmailChangeRequested.DESCRIPTOR.full_name
    event = ev.EmailChangeRequested(
        user_id=user.user_id,
        kind=ev.EMAIL_KIND_LOGIN,
        new_email=new_address,
        first_name="Zoé",
        expires_at=in_an_hour(),
        sealed_token=await sealed_for(service, name, user.user_id, "verif-1"),
    )
    await events.publish("identity", user.user_id, event)

    message = await mail_to(mail_catcher, new_address, "Confirmez votre nouvelle adresse")
    assert "adresse de connexion" in message.text
    assert f"{PORTAL}/mon-compte/adresse?token=verif-1" in message.text


async def test_contact_and_login_changes_warn_the_old_address_and_move_later_mail(
    service, events, mail_catcher, db
):
    user = await register(events)
    await projected(db, user.user_id)
    new_contact = unique_email("contact2")
    await events.publish(
        "identity",
        user.user_id,
        ev.ContactEmailChanged(
            user_id=user.user_id,
            contact_email=new_contact,
            previous_contact_email=user.contact_email,
            first_name="Zoé",
            locale="fr",
        ),
    )
    await events.publish(
        "identity",
        user.user_id,
        ev.UserProfileUpdated(user_id=user.user_id, first_name="Zoë", last_name="Durand"),
    )
    await events.publish(
        "identity",
        user.user_id,
        ev.LoginEmailChanged(
            user_id=user.user_id,
            previous_login_email=user.login_email,
            new_login_email="nouveau@exemple.fr",
            first_name="Zoë",
        ),
    )
    await events.publish(
        "identity",
        user.user_id,
        ev.PasswordChanged(
            user_id=user.user_id,
            changed_at=_stamp(datetime(2026, 11, 27, 14, 32, tzinfo=UTC)),
            kind=ev.PASSWORD_CHANGE_KIND_RESET,
        ),
    )

    moved = await mail_to(mail_catcher, user.contact_email, "adresse de contact Chorus a changé")
    assert moved.text.startswith("Bonjour Zoé,") and new_contact in moved.text
    notice = await mail_to(mail_catcher, user.login_email, "adresse de connexion Chorus a changé")
    assert "nouveau@exemple.fr" in notice.text
    changed = await mail_to(mail_catcher, new_contact, "mot de passe Chorus a été modifié")
    assert changed.text.startswith("Bonjour Zoë,")
    assert "27/11/2026 à 14:32 UTC" in changed.text
    assert "réinitialisation" in changed.text
    kinds = await wait_until(
        lambda: db.fetchval(
            "SELECT array_agg(kind) FROM feed_items WHERE user_id = $1", user.user_id
        )
    )
    assert kinds == ["PASSWORD_CHANGED"]


async def test_lockout_and_two_factor_notices(service, events, mail_catcher, db):
    user = await register(events, locale="en", first_name="Ann")
    await projected(db, user.user_id)
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=15)
    await events.publish(
        "identity",
        user.user_id,
        ev.AccountLocked(user_id=user.user_id, locked_until=_stamp(until), failed_attempts=5),
    )
    await events.publish(
        "identity",
        user.user_id,
        ev.TwoFactorChanged(user_id=user.user_id, enabled=True),
    )

    locked = await mail_to(mail_catcher, user.contact_email, "temporarily locked")
    assert f"{until:%Y-%m-%d %H:%M} UTC" in locked.text
    assert f"{PORTAL}/mot-de-passe-oublie" in locked.text
    two_factor = await mail_to(mail_catcher, user.contact_email, "Two-factor authentication")
    assert "turned on" in two_factor.subject


async def test_a_contact_change_published_before_the_previous_address_was_carried_is_silent(
    service, events, mail_catcher, db
):
    user = await register(events)
    await projected(db, user.user_id)
    new_contact = unique_email("contact3")
    await events.publish(
        "identity",
        user.user_id,
        ev.ContactEmailChanged(user_id=user.user_id, contact_email=new_contact),
    )

    await wait_until(
        lambda: db.fetchval(
            "SELECT 1 FROM recipients WHERE user_id = $1 AND contact_email = $2",
            user.user_id,
            new_contact,
        )
    )
    queued = await db.fetchval(
        "SELECT count(*) FROM emails WHERE user_id = $1 AND kind = 'CONTACT_EMAIL_CHANGED'",
        user.user_id,
    )
    assert queued == 0


async def test_a_registration_with_a_taken_address_tells_its_owner_there_and_in_the_feed(
    service, events, mail_catcher, db
):
    user = await register(events, locale="en", first_name="Ann")
    attempt = ev.ExistingAccountRegistrationAttempted(
        user_id=user.user_id,
        login_email=user.login_email,
        first_name="Ann",
        locale="en",
        attempted_at=_stamp(datetime(2026, 11, 27, 14, 32, tzinfo=UTC)),
        account_active=True,
    )
    await events.publish("identity", user.user_id, attempt)

    notice = await mail_to(mail_catcher, user.login_email, "Someone tried to create")
    assert notice.text.startswith("Hello Ann,")
    assert "On 2026-11-27 14:32 UTC" in notice.text
    assert f"{PORTAL}/connexion" in notice.text
    items = await wait_until(
        lambda: db.fetch(
            "SELECT kind, title, link FROM feed_items WHERE user_id = $1", user.user_id
        )
    )
    assert [tuple(item) for item in items] == [
        ("EXISTING_ACCOUNT_REGISTRATION", "Sign-up attempt with your address", "/mon-compte")
    ]
    emails = await db.fetchval(
        "SELECT count(*) FROM emails WHERE user_id = $1 AND kind = $2",
        user.user_id,
        "EXISTING_ACCOUNT_REGISTRATION",
    )
    assert emails == 1
