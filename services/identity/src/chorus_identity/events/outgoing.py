"""Identity's domain events as published on ``chorus.identity.events.v1``, keyed by user id.

:func:`encode` is the pure mapping the unit of work applies to every event a use case emits
(``tx.emit(...)``; it writes the result to the outbox in the use case's transaction): one
function per event of ``domain/events.py``, building the message of the same name. Link
events arrive with their token already sealed to notifications' key, so nothing here sees a
secret in plain text.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch

from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_platform.unit_of_work import OutgoingEvent
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_identity.domain import events
from chorus_identity.domain.sessions import RevokeReason

SERVICE = "identity"
"""The producer name the outbox publishes under (topic ``chorus.identity.events.v1``)."""


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@singledispatch
def encode(event: object) -> OutgoingEvent:
    """The outbox record of one of identity's domain events; TypeError for anything else."""
    raise TypeError(f"not an identity domain event: {type(event).__name__}")


@encode.register
def _user_registered(event: events.UserRegistered) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.UserRegistered(
            user_id=account.id,
            login_email=account.login_email,
            contact_email=account.contact_email,
            first_name=account.first_name,
            last_name=account.last_name,
            locale=account.locale,
        ),
    )


@encode.register
def _existing_account_registration_attempted(
    event: events.ExistingAccountRegistrationAttempted,
) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.ExistingAccountRegistrationAttempted(
            user_id=account.id,
            login_email=account.login_email,
            first_name=account.first_name,
            locale=account.locale,
            attempted_at=_timestamp(event.at),
            account_active=account.is_active,
        ),
    )


@encode.register
def _activation_link_issued(event: events.ActivationLinkIssued) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.ActivationLinkIssued(
            user_id=account.id,
            contact_email=account.contact_email,
            first_name=account.first_name,
            expires_at=_timestamp(event.expires_at),
            locale=account.locale,
            sealed_token=event.sealed_token,
        ),
    )


@encode.register
def _user_activated(event: events.UserActivated) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.UserActivated(
            user_id=account.id,
            activated_at=_timestamp(account.activated_at or account.created_at),
        ),
    )


@encode.register
def _password_reset_requested(event: events.PasswordResetRequested) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.PasswordResetRequested(
            user_id=account.id,
            contact_email=account.contact_email,
            first_name=account.first_name,
            expires_at=_timestamp(event.expires_at),
            locale=account.locale,
            sealed_token=event.sealed_token,
        ),
    )


@encode.register
def _email_change_requested(event: events.EmailChangeRequested) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.EmailChangeRequested(
            user_id=account.id,
            kind=ev.EMAIL_KIND_LOGIN if event.login else ev.EMAIL_KIND_CONTACT,
            new_email=event.new_email,
            first_name=account.first_name,
            expires_at=_timestamp(event.expires_at),
            locale=account.locale,
            sealed_token=event.sealed_token,
        ),
    )


@encode.register
def _password_changed(event: events.PasswordChanged) -> OutgoingEvent:
    kind = ev.PASSWORD_CHANGE_KIND_RESET if event.by_reset else ev.PASSWORD_CHANGE_KIND_CHANGE
    return OutgoingEvent(
        event.user_id,
        ev.PasswordChanged(user_id=event.user_id, changed_at=_timestamp(event.at), kind=kind),
    )


@encode.register
def _contact_email_changed(event: events.ContactEmailChanged) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.ContactEmailChanged(
            user_id=account.id,
            contact_email=account.contact_email,
            previous_contact_email=event.previous_contact_email,
            first_name=account.first_name,
            locale=account.locale,
        ),
    )


@encode.register
def _login_email_changed(event: events.LoginEmailChanged) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.LoginEmailChanged(
            user_id=account.id,
            previous_login_email=event.previous_login_email,
            new_login_email=account.login_email,
            first_name=account.first_name,
            locale=account.locale,
        ),
    )


@encode.register
def _user_profile_updated(event: events.UserProfileUpdated) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.UserProfileUpdated(
            user_id=account.id, first_name=account.first_name, last_name=account.last_name
        ),
    )


@encode.register
def _user_deactivated(event: events.UserDeactivated) -> OutgoingEvent:
    kind = ev.DEACTIVATION_KIND_BY_ADMIN if event.by_admin else ev.DEACTIVATION_KIND_BY_USER
    return OutgoingEvent(
        event.user_id,
        ev.UserDeactivated(user_id=event.user_id, deactivated_at=_timestamp(event.at), kind=kind),
    )


@encode.register
def _user_reactivated(event: events.UserReactivated) -> OutgoingEvent:
    return OutgoingEvent(
        event.user_id,
        ev.UserReactivated(user_id=event.user_id, reactivated_at=_timestamp(event.at)),
    )


@encode.register
def _account_locked(event: events.AccountLocked) -> OutgoingEvent:
    return OutgoingEvent(
        event.user_id,
        ev.AccountLocked(
            user_id=event.user_id,
            locked_until=_timestamp(event.locked_until),
            failed_attempts=event.failed_attempts,
        ),
    )


@encode.register
def _two_factor_changed(event: events.TwoFactorChanged) -> OutgoingEvent:
    return OutgoingEvent(
        event.user_id,
        ev.TwoFactorChanged(
            user_id=event.user_id, enabled=event.enabled, changed_at=_timestamp(event.at)
        ),
    )


_REVOCATION_REASONS = {
    RevokeReason.LOGOUT: ev.SESSION_REVOCATION_REASON_LOGOUT,
    RevokeReason.REFRESH_TOKEN_REUSE: ev.SESSION_REVOCATION_REASON_REFRESH_TOKEN_REUSE,
    RevokeReason.REVOKED_BY_USER: ev.SESSION_REVOCATION_REASON_REVOKED_BY_USER,
    RevokeReason.PASSWORD_CHANGED: ev.SESSION_REVOCATION_REASON_PASSWORD_CHANGED,
    RevokeReason.PASSWORD_RESET: ev.SESSION_REVOCATION_REASON_PASSWORD_RESET,
    RevokeReason.DEACTIVATED: ev.SESSION_REVOCATION_REASON_DEACTIVATED,
    RevokeReason.DISABLED_BY_ADMIN: ev.SESSION_REVOCATION_REASON_DISABLED_BY_ADMIN,
    RevokeReason.API_CLIENT_REVOKED: ev.SESSION_REVOCATION_REASON_API_CLIENT_REVOKED,
    RevokeReason.TECHNICAL_PASSWORD_ROTATED: (
        ev.SESSION_REVOCATION_REASON_TECHNICAL_PASSWORD_ROTATED
    ),
    RevokeReason.TECHNICAL_ACCOUNT_REVOKED: ev.SESSION_REVOCATION_REASON_TECHNICAL_ACCOUNT_REVOKED,
}


@encode.register
def _session_revoked(event: events.SessionRevoked) -> OutgoingEvent:
    return OutgoingEvent(
        event.user_id,
        ev.SessionRevoked(
            user_id=event.user_id,
            session_id=event.session_id,
            revoked_at=_timestamp(event.revoked_at),
            reason=_REVOCATION_REASONS[event.reason],
            tokens_valid_until=_timestamp(event.tokens_valid_until),
        ),
    )


@encode.register
def _api_client_created(event: events.ApiClientCreated) -> OutgoingEvent:
    client = event.client
    return OutgoingEvent(
        client.owner_id,
        ev.ApiClientCreated(
            application_id=client.id,
            owner_user_id=client.owner_id,
            client_id=client.client_id,
            name=client.name,
            created_at=_timestamp(client.created_at),
        ),
    )


@encode.register
def _api_client_revoked(event: events.ApiClientRevoked) -> OutgoingEvent:
    client = event.client
    return OutgoingEvent(
        client.owner_id,
        ev.ApiClientRevoked(
            application_id=client.id,
            owner_user_id=client.owner_id,
            client_id=client.client_id,
            name=client.name,
            revoked_at=_timestamp(client.revoked_at or client.created_at),
        ),
    )


@encode.register
def _technical_account_activated(event: events.TechnicalAccountActivated) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.TechnicalAccountActivated(
            account_id=account.id,
            structure_id=account.structure_id,
            login=account.login,
            actor_user_id=event.actor_id,
            password_expires_at=_timestamp(account.expires_at),
            activated_at=_timestamp(event.at),
        ),
    )


@encode.register
def _technical_password_rotated(event: events.TechnicalAccountPasswordRotated) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.TechnicalAccountPasswordRotated(
            account_id=account.id,
            structure_id=account.structure_id,
            login=account.login,
            actor_user_id=event.actor_id,
            password_expires_at=_timestamp(account.expires_at),
            rotated_at=_timestamp(event.at),
        ),
    )


@encode.register
def _technical_account_revoked(event: events.TechnicalAccountRevoked) -> OutgoingEvent:
    account = event.account
    return OutgoingEvent(
        account.id,
        ev.TechnicalAccountRevoked(
            account_id=account.id,
            structure_id=account.structure_id,
            login=account.login,
            actor_user_id=event.actor_id,
            revoked_at=_timestamp(event.at),
        ),
    )


@encode.register
def _technical_password_expiring(event: events.TechnicalAccountPasswordExpiring) -> OutgoingEvent:
    reminder = event.reminder
    return OutgoingEvent(
        reminder.account_id,
        ev.TechnicalAccountPasswordExpiring(
            account_id=reminder.account_id,
            structure_id=reminder.structure_id,
            login=reminder.login,
            expires_at=_timestamp(reminder.expires_at),
            days_left=reminder.days_left,
        ),
    )
