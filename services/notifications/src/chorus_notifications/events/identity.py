"""Consumer of identity's events: the recipients projection and the account notices.

Decodes each event into plain values and calls the use case with the consumer's
transaction. A link event without its address or sealed token is a producer bug: raised
here, it ends on the dead-letter topic rather than mailing a dead link.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chorus.identity.events.v1 import identity_events_pb2 as events
from chorus_platform.cloudevents import Envelope
from chorus_platform.consumer import Subscription
from chorus_platform.unit_of_work import Transaction
from google.protobuf.message import Message

from chorus_notifications.domain.credential_messages import TechnicalChange
from chorus_notifications.domain.sealed_secrets import SealedSecret, event_context
from chorus_notifications.usecases.account_notices import AccountNotices
from chorus_notifications.usecases.credential_notices import CredentialNotices
from chorus_notifications.usecases.recipients import RecipientsProjection

SOURCE = "identity"


def _issued_at(envelope: Envelope) -> datetime | None:
    """The event's ce_time, when present and unambiguous."""
    try:
        issued_at = datetime.fromisoformat(envelope.time)
    except ValueError:
        return None
    return issued_at if issued_at.tzinfo is not None else None


def _expires_at(event: Message) -> datetime | None:
    return event.expires_at.ToDatetime(tzinfo=UTC) if event.HasField("expires_at") else None


def _sealed(event: Message) -> SealedSecret:
    """The event's sealed token and its context."""
    name = type(event).DESCRIPTOR.full_name
    if not event.sealed_token:
        raise ValueError(f"{name} without sealed_token")
    return SealedSecret(event.sealed_token, event_context(name, event.user_id))


def _moment(event: Message, field: str) -> datetime | None:
    return getattr(event, field).ToDatetime(tzinfo=UTC) if event.HasField(field) else None


class IdentityEvents:
    def __init__(
        self,
        accounts: AccountNotices,
        recipients: RecipientsProjection,
        credentials: CredentialNotices,
    ) -> None:
        self._accounts = accounts
        self._recipients = recipients
        self._credentials = credentials

    def subscriptions(self) -> list[Subscription]:
        return [
            Subscription(events.UserRegistered, self.on_user_registered),
            Subscription(events.ActivationLinkIssued, self.on_activation_link_issued),
            Subscription(events.UserActivated, self.on_user_activated),
            Subscription(events.PasswordResetRequested, self.on_password_reset_requested),
            Subscription(events.EmailChangeRequested, self.on_email_change_requested),
            Subscription(events.ContactEmailChanged, self.on_contact_email_changed),
            Subscription(events.UserProfileUpdated, self.on_user_profile_updated),
            Subscription(events.LoginEmailChanged, self.on_login_email_changed),
            Subscription(events.PasswordChanged, self.on_password_changed),
            Subscription(events.AccountLocked, self.on_account_locked),
            Subscription(events.TwoFactorChanged, self.on_two_factor_changed),
            Subscription(
                events.ExistingAccountRegistrationAttempted,
                self.on_existing_account_registration_attempted,
            ),
            Subscription(
                events.TechnicalAccountPasswordExpiring, self.on_technical_password_expiring
            ),
            Subscription(events.TechnicalAccountActivated, self.on_technical_account_activated),
            Subscription(
                events.TechnicalAccountPasswordRotated, self.on_technical_password_rotated
            ),
            Subscription(events.TechnicalAccountRevoked, self.on_technical_account_revoked),
        ]

    async def on_user_registered(
        self, tx: Transaction, event: events.UserRegistered, envelope: Envelope
    ) -> None:
        await self._recipients.registered(
            tx,
            user_id=event.user_id,
            login_email=event.login_email,
            contact_email=event.contact_email,
            first_name=event.first_name,
            last_name=event.last_name,
            locale=event.locale,
        )

    async def on_activation_link_issued(
        self, tx: Transaction, event: events.ActivationLinkIssued, envelope: Envelope
    ) -> None:
        if not event.contact_email:
            raise ValueError("ActivationLinkIssued without contact_email")
        await self._accounts.activation_link_issued(
            tx,
            event_id=envelope.id,
            user_id=event.user_id,
            address=event.contact_email,
            first_name=event.first_name,
            locale=event.locale,
            sealed=_sealed(event),
            issued_at=_issued_at(envelope),
            expires_at=_expires_at(event),
        )

    async def on_user_activated(
        self, tx: Transaction, event: events.UserActivated, envelope: Envelope
    ) -> None:
        await self._accounts.user_activated(tx, event_id=envelope.id, user_id=event.user_id)

    async def on_password_reset_requested(
        self, tx: Transaction, event: events.PasswordResetRequested, envelope: Envelope
    ) -> None:
        if not event.contact_email:
            raise ValueError("PasswordResetRequested without contact_email")
        await self._accounts.password_reset_requested(
            tx,
            event_id=envelope.id,
            user_id=event.user_id,
            address=event.contact_email,
            first_name=event.first_name,
            locale=event.locale,
            sealed=_sealed(event),
            issued_at=_issued_at(envelope),
            expires_at=_expires_at(event),
        )

    async def on_email_change_requested(
        self, tx: Transaction, event: events.EmailChangeRequested, envelope: Envelope
    ) -> None:
        if not event.new_email:
            raise ValueError("EmailChangeRequested without new_email")
        await self._accounts.email_change_requested(
            tx,
            event_id=envelope.id,
            user_id=event.user_id,
            new_email=event.new_email,
            login=event.kind == events.EMAIL_KIND_LOGIN,
            first_name=event.first_name,
            locale=event.locale,
            sealed=_sealed(event),
            issued_at=_issued_at(envelope),
            expires_at=_expires_at(event),
        )

    async def on_contact_email_changed(
        self, tx: Transaction, event: events.ContactEmailChanged, envelope: Envelope
    ) -> None:
        await self._recipients.contact_email_changed(
            tx, user_id=event.user_id, contact_email=event.contact_email
        )
        # Events published before the field existed carry no previous address: no notice.
        if event.previous_contact_email and event.previous_contact_email != event.contact_email:
            await self._accounts.contact_email_changed(
                tx,
                event_id=envelope.id,
                user_id=event.user_id,
                previous_contact_email=event.previous_contact_email,
                new_contact_email=event.contact_email,
                first_name=event.first_name,
                locale=event.locale,
            )

    async def on_user_profile_updated(
        self, tx: Transaction, event: events.UserProfileUpdated, envelope: Envelope
    ) -> None:
        await self._recipients.renamed(
            tx, user_id=event.user_id, first_name=event.first_name, last_name=event.last_name
        )

    async def on_login_email_changed(
        self, tx: Transaction, event: events.LoginEmailChanged, envelope: Envelope
    ) -> None:
        if not event.previous_login_email:
            raise ValueError("LoginEmailChanged without previous_login_email")
        await self._accounts.login_email_changed(
            tx,
            event_id=envelope.id,
            user_id=event.user_id,
            previous_login_email=event.previous_login_email,
            new_login_email=event.new_login_email,
            first_name=event.first_name,
            locale=event.locale,
        )

    async def on_password_changed(
        self, tx: Transaction, event: events.PasswordChanged, envelope: Envelope
    ) -> None:
        await self._accounts.password_changed(
            tx,
            event_id=envelope.id,
            user_id=event.user_id,
            reset_by_link=event.kind == events.PASSWORD_CHANGE_KIND_RESET,
            changed_at=(
                event.changed_at.ToDatetime(tzinfo=UTC) if event.HasField("changed_at") else None
            ),
        )

    async def on_account_locked(
        self, tx: Transaction, event: events.AccountLocked, envelope: Envelope
    ) -> None:
        await self._accounts.account_locked(
            tx,
            event_id=envelope.id,
            user_id=event.user_id,
            locked_until=event.locked_until.ToDatetime(tzinfo=UTC),
            failed_attempts=event.failed_attempts,
        )

    async def on_two_factor_changed(
        self, tx: Transaction, event: events.TwoFactorChanged, envelope: Envelope
    ) -> None:
        await self._accounts.two_factor_changed(
            tx, event_id=envelope.id, user_id=event.user_id, enabled=event.enabled
        )

    async def on_existing_account_registration_attempted(
        self,
        tx: Transaction,
        event: events.ExistingAccountRegistrationAttempted,
        envelope: Envelope,
    ) -> None:
        if not event.login_email:
            raise ValueError("ExistingAccountRegistrationAttempted without login_email")
        await self._accounts.existing_account_registration_attempted(
            tx,
            event_id=envelope.id,
            user_id=event.user_id,
            login_email=event.login_email,
            first_name=event.first_name,
            locale=event.locale,
            account_active=event.account_active,
            attempted_at=(
                event.attempted_at.ToDatetime(tzinfo=UTC)
                if event.HasField("attempted_at")
                else None
            ),
        )

    async def on_technical_password_expiring(
        self, tx: Transaction, event: events.TechnicalAccountPasswordExpiring, envelope: Envelope
    ) -> None:
        expires_at = _moment(event, "expires_at")
        if not event.structure_id or expires_at is None:
            raise ValueError("TechnicalAccountPasswordExpiring without structure_id or expires_at")
        await self._credentials.technical_password_expiring(
            tx,
            event_id=envelope.id,
            structure_id=event.structure_id,
            login=event.login,
            expires_at=expires_at,
            days_left=event.days_left,
        )

    async def _technical_changed(
        self,
        tx: Transaction,
        envelope: Envelope,
        change: TechnicalChange,
        event: Message,
        expires_at: datetime | None,
    ) -> None:
        if not event.structure_id:
            raise ValueError(f"{type(event).DESCRIPTOR.name} without structure_id")
        await self._credentials.technical_account_changed(
            tx,
            event_id=envelope.id,
            change=change,
            structure_id=event.structure_id,
            login=event.login,
            actor_id=event.actor_user_id,
            expires_at=expires_at,
        )

    async def on_technical_account_activated(
        self, tx: Transaction, event: events.TechnicalAccountActivated, envelope: Envelope
    ) -> None:
        if not event.account_id or not event.structure_id:
            raise ValueError("TechnicalAccountActivated without account_id or structure_id")
        await self._credentials.technical_account_activated(
            tx, account_id=event.account_id, structure_id=event.structure_id, login=event.login
        )
        expires_at = _moment(event, "password_expires_at")
        await self._technical_changed(tx, envelope, TechnicalChange.ACTIVATED, event, expires_at)

    async def on_technical_password_rotated(
        self, tx: Transaction, event: events.TechnicalAccountPasswordRotated, envelope: Envelope
    ) -> None:
        expires_at = _moment(event, "password_expires_at")
        await self._technical_changed(tx, envelope, TechnicalChange.ROTATED, event, expires_at)

    async def on_technical_account_revoked(
        self, tx: Transaction, event: events.TechnicalAccountRevoked, envelope: Envelope
    ) -> None:
        await self._technical_changed(tx, envelope, TechnicalChange.REVOKED, event, None)
