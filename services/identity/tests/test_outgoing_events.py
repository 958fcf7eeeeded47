"""The mapping of identity's domain events to ``chorus.identity.events.v1``: every event has
one, each becomes the message of its own name keyed by its user, and link tokens travel only
sealed, opening in their own event for their own user."""

import dataclasses
import inspect
from datetime import UTC, datetime, timedelta

import pytest
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_identity.domain import events
from chorus_identity.domain.accounts import Account, UserStatus
from chorus_identity.domain.api_clients import ApiClient
from chorus_identity.domain.sealed_tokens import EVENTS_PACKAGE, seal_link_token
from chorus_identity.domain.sessions import RevokeReason
from chorus_identity.domain.technical_accounts import ExpiryReminder, TechnicalAccount
from chorus_identity.events.outgoing import encode
from chorus_platform import sealing

from .conftest import NOTIFICATIONS_KEY, open_token

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ACCOUNT = Account(
    id="0b6f5f8e-3c1a-4d4e-9f57-2a8f7c9d1e01",
    login_email="camille.martin@example.fr",
    contact_email="camille@example.fr",
    first_name="Camille",
    last_name="Martin",
    phone="",
    locale="fr",
    status=UserStatus.ACTIF,
    created_at=NOW - timedelta(days=1),
    activated_at=NOW,
)
TOKEN = "un-jeton-de-lien-a-usage-unique"


def sealed(event_type: type, user_id: str = ACCOUNT.id) -> bytes:
    public_key = sealing.public_key_bytes(NOTIFICATIONS_KEY)
    return seal_link_token(public_key, TOKEN, event_type=event_type, user_id=user_id)


def domain_events() -> set[type]:
    return {
        cls
        for _, cls in inspect.getmembers(events, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == events.__name__
    }


EXPIRES = NOW + timedelta(hours=1)
SAMPLES = [
    events.UserRegistered(ACCOUNT),
    events.ExistingAccountRegistrationAttempted(ACCOUNT, at=NOW),
    events.ActivationLinkIssued(
        ACCOUNT, expires_at=EXPIRES, sealed_token=sealed(events.ActivationLinkIssued)
    ),
    events.UserActivated(ACCOUNT),
    events.PasswordResetRequested(
        ACCOUNT, expires_at=EXPIRES, sealed_token=sealed(events.PasswordResetRequested)
    ),
    events.EmailChangeRequested(
        ACCOUNT,
        login=True,
        new_email="nouvelle@example.fr",
        expires_at=EXPIRES,
        sealed_token=sealed(events.EmailChangeRequested),
    ),
    events.PasswordChanged(ACCOUNT.id, by_reset=True, at=NOW),
    events.ContactEmailChanged(ACCOUNT, previous_contact_email="ancienne@example.fr"),
    events.LoginEmailChanged(ACCOUNT, previous_login_email="ancienne@example.fr"),
    events.UserProfileUpdated(ACCOUNT),
    events.UserDeactivated(ACCOUNT.id, by_admin=False, at=NOW),
    events.UserReactivated(ACCOUNT.id, at=NOW),
    events.AccountLocked(ACCOUNT.id, locked_until=EXPIRES, failed_attempts=5),
    events.TwoFactorChanged(ACCOUNT.id, enabled=True, at=NOW),
    events.SessionRevoked(
        ACCOUNT.id,
        session_id="5d0c1f3e-8a47-4d7e-b0a5-1f2e3d4c5b6a",
        reason=RevokeReason.LOGOUT,
        revoked_at=NOW,
        tokens_valid_until=NOW + timedelta(minutes=15),
    ),
]

APPLICATION = ApiClient(
    id="7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
    client_id="1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
    owner_id=ACCOUNT.id,
    name="ERP comptable",
    created_at=NOW - timedelta(days=2),
    revoked_at=NOW,
)
TECHNICAL = TechnicalAccount(
    id="3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d",
    structure_id="9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
    login="TECH_42@cpro.chorus.local",
    session_id="2b3c4d5e-6f70-4182-9304-a5b6c7d8e9f0",
    created_at=NOW,
    created_by=ACCOUNT.id,
    expires_at=NOW + timedelta(days=365),
)
# The credentials' events are keyed by the application's owner / the technical account.
CREDENTIAL_SAMPLES = [
    (events.ApiClientCreated(APPLICATION), ACCOUNT.id, "owner_user_id"),
    (events.ApiClientRevoked(APPLICATION), ACCOUNT.id, "owner_user_id"),
    (events.TechnicalAccountActivated(TECHNICAL, ACCOUNT.id, NOW), TECHNICAL.id, "account_id"),
    (
        events.TechnicalAccountPasswordRotated(TECHNICAL, ACCOUNT.id, NOW),
        TECHNICAL.id,
        "account_id",
    ),
    (events.TechnicalAccountRevoked(TECHNICAL, ACCOUNT.id, NOW), TECHNICAL.id, "account_id"),
    (
        events.TechnicalAccountPasswordExpiring(
            ExpiryReminder(
                TECHNICAL.id, TECHNICAL.structure_id, TECHNICAL.login, TECHNICAL.expires_at, 30
            )
        ),
        TECHNICAL.id,
        "account_id",
    ),
]


def test_every_domain_event_has_an_encoder():
    assert domain_events() <= set(encode.registry)
    samples = SAMPLES + [event for event, _, _ in CREDENTIAL_SAMPLES]
    assert {type(sample) for sample in samples} == domain_events()


@pytest.mark.parametrize(
    ("event", "key", "key_field"), CREDENTIAL_SAMPLES, ids=lambda e: type(e).__name__
)
def test_credentials_events_are_keyed_by_their_owner_or_account(event, key, key_field):
    outgoing = encode(event)

    assert outgoing.message.DESCRIPTOR.full_name == f"{EVENTS_PACKAGE}.{type(event).__name__}"
    assert outgoing.key == getattr(outgoing.message, key_field) == key
    text = outgoing.message.SerializeToString()
    assert b"secret" not in text and b"password_sha256" not in text


def test_a_technical_account_event_says_which_structure_and_until_when():
    activated = encode(events.TechnicalAccountActivated(TECHNICAL, ACCOUNT.id, NOW)).message
    assert (activated.structure_id, activated.login, activated.actor_user_id) == (
        TECHNICAL.structure_id,
        "TECH_42@cpro.chorus.local",
        ACCOUNT.id,
    )
    assert activated.password_expires_at.ToDatetime(UTC) == TECHNICAL.expires_at
    reminder = ExpiryReminder(TECHNICAL.id, TECHNICAL.structure_id, TECHNICAL.login, NOW, 7)
    expiring = encode(events.TechnicalAccountPasswordExpiring(reminder)).message
    assert expiring.days_left == 7 and expiring.expires_at.ToDatetime(UTC) == NOW


@pytest.mark.parametrize("event", SAMPLES, ids=lambda event: type(event).__name__)
def test_each_event_becomes_the_message_of_its_name_keyed_by_its_user(event):
    outgoing = encode(event)

    assert outgoing.message.DESCRIPTOR.full_name == f"{EVENTS_PACKAGE}.{type(event).__name__}"
    assert outgoing.key == outgoing.message.user_id == ACCOUNT.id


def test_encode_refuses_what_is_not_an_identity_event():
    with pytest.raises(TypeError):
        encode(ev.UserRegistered(user_id=ACCOUNT.id))


def test_kinds_follow_the_event():
    def kind(event):
        return encode(event).message.kind

    assert kind(events.PasswordChanged(ACCOUNT.id, by_reset=True, at=NOW)) == (
        ev.PASSWORD_CHANGE_KIND_RESET
    )
    assert kind(events.PasswordChanged(ACCOUNT.id, by_reset=False, at=NOW)) == (
        ev.PASSWORD_CHANGE_KIND_CHANGE
    )
    assert kind(events.UserDeactivated(ACCOUNT.id, by_admin=True, at=NOW)) == (
        ev.DEACTIVATION_KIND_BY_ADMIN
    )
    assert kind(events.UserDeactivated(ACCOUNT.id, by_admin=False, at=NOW)) == (
        ev.DEACTIVATION_KIND_BY_USER
    )
    contact = events.EmailChangeRequested(
        ACCOUNT, login=False, new_email="n@example.fr", expires_at=EXPIRES, sealed_token=b"x"
    )
    assert kind(contact) == ev.EMAIL_KIND_CONTACT


def test_a_link_token_travels_sealed_and_opens_only_in_its_event_for_its_user():
    link = events.PasswordResetRequested(
        ACCOUNT, expires_at=EXPIRES, sealed_token=sealed(events.PasswordResetRequested)
    )
    message = encode(link).message

    assert open_token(message) == TOKEN  # as notifications opens it
    assert TOKEN.encode() not in message.SerializeToString()
    assert TOKEN not in repr(link) and "sealed_token" not in repr(link)
    lifted = ev.ActivationLinkIssued(user_id=ACCOUNT.id, sealed_token=message.sealed_token)
    with pytest.raises(sealing.SealedBoxError):
        open_token(lifted)
    other_user = sealed(events.PasswordResetRequested, user_id="someone-else")
    with pytest.raises(sealing.SealedBoxError):
        open_token(ev.PasswordResetRequested(user_id=ACCOUNT.id, sealed_token=other_user))


@pytest.mark.parametrize("reason", list(RevokeReason))
def test_a_session_revocation_carries_its_session_reason_and_the_end_of_its_tokens(reason):
    revoked = events.SessionRevoked(
        ACCOUNT.id,
        session_id="5d0c1f3e-8a47-4d7e-b0a5-1f2e3d4c5b6a",
        reason=reason,
        revoked_at=NOW,
        tokens_valid_until=NOW + timedelta(minutes=15),
    )
    message = encode(revoked).message

    assert message.session_id == revoked.session_id
    assert ev.SessionRevocationReason.Name(message.reason) == (
        f"SESSION_REVOCATION_REASON_{reason.value}"
    )
    assert message.revoked_at.ToDatetime(UTC) == NOW
    assert message.tokens_valid_until.ToDatetime(UTC) == NOW + timedelta(minutes=15)
