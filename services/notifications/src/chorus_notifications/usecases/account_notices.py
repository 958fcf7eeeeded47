"""Account notices (identity's events): the activation, password reset and address
verification links, the welcome, and the security notices (password changed, login or
contact address changed, lockout, two-factor authentication, a registration with the
account's address), by e-mail and in the feed.

Link tokens arrive sealed to notifications' key: the e-mail is rendered with a placeholder
in the link and queued with the sealed token, which only the delivery opens (see
``usecases/email_delivery.py``). Link e-mails go to the address the event names; the other
notices to the projected user's contact address (RecipientNotKnownYet, retried, while the
user is not projected yet), except the notices about an address, which go to the address
the event names (the previous one, the one typed at registration).
"""

from __future__ import annotations

from datetime import UTC, datetime

from chorus_platform.unit_of_work import Transaction

from chorus_notifications.domain import account_messages, links, messages
from chorus_notifications.domain.recipients import DEFAULT_LOCALE, normalise_locale
from chorus_notifications.domain.sealed_secrets import PLACEHOLDER, SealedSecret
from chorus_notifications.usecases.notify import (
    add_feed_item,
    email_recipient,
    known_recipient,
    queue_email,
    recipient,
)

PASSWORD_RESET_PAGE = "/mot-de-passe-oublie"
LOGIN_PAGE = "/connexion"


class AccountNotices:
    """Links in e-mails point into the portal at ``portal_url``."""

    def __init__(self, *, portal_url: str) -> None:
        self._portal_url = portal_url

    async def activation_link_issued(
        self,
        tx: Transaction,
        *,
        event_id: str,
        user_id: str,
        address: str,
        first_name: str,
        locale: str,
        sealed: SealedSecret,
        issued_at: datetime | None,
        expires_at: datetime | None,
    ) -> None:
        """E-mails the activation link to ``address`` (valid from ``issued_at`` to
        ``expires_at``; 60 minutes when either is unknown)."""
        draft = messages.activation_email(
            first_name=first_name,
            activation_url=links.activation_url(self._portal_url, PLACEHOLDER),
            validity_minutes=messages.validity_minutes(issued_at, expires_at),
            locale=normalise_locale(locale),
            sealed=sealed,
        )
        await queue_email(tx, event_id=event_id, address=address, user_id=user_id, draft=draft)

    async def user_activated(self, tx: Transaction, *, event_id: str, user_id: str) -> None:
        """Welcomes the user in their feed."""
        person = await recipient(tx, user_id)
        draft = messages.account_activated_feed(locale=person.locale if person else DEFAULT_LOCALE)
        await add_feed_item(tx, event_id=event_id, user_id=user_id, draft=draft)

    async def password_reset_requested(
        self,
        tx: Transaction,
        *,
        event_id: str,
        user_id: str,
        address: str,
        first_name: str,
        locale: str,
        sealed: SealedSecret,
        issued_at: datetime | None,
        expires_at: datetime | None,
    ) -> None:
        """E-mails the single-use reset link to ``address``."""
        draft = account_messages.password_reset_email(
            first_name=first_name,
            reset_url=links.password_reset_url(self._portal_url, PLACEHOLDER),
            validity_minutes=messages.validity_minutes(issued_at, expires_at),
            locale=normalise_locale(locale),
            sealed=sealed,
        )
        await queue_email(tx, event_id=event_id, address=address, user_id=user_id, draft=draft)

    async def email_change_requested(
        self,
        tx: Transaction,
        *,
        event_id: str,
        user_id: str,
        new_email: str,
        login: bool,
        first_name: str,
        locale: str,
        sealed: SealedSecret,
        issued_at: datetime | None,
        expires_at: datetime | None,
    ) -> None:
        """E-mails the verification link to the new address (``login``: the login address,
        else the contact address)."""
        draft = account_messages.email_verification_email(
            first_name=first_name,
            verification_url=links.email_verification_url(self._portal_url, PLACEHOLDER),
            login=login,
            validity_minutes=messages.validity_minutes(issued_at, expires_at),
            locale=normalise_locale(locale),
            sealed=sealed,
        )
        await queue_email(tx, event_id=event_id, address=new_email, user_id=user_id, draft=draft)

    async def login_email_changed(
        self,
        tx: Transaction,
        *,
        event_id: str,
        user_id: str,
        previous_login_email: str,
        new_login_email: str,
        first_name: str,
        locale: str,
    ) -> None:
        """Tells the previous login address that it no longer signs in."""
        draft = account_messages.login_email_changed_email(
            first_name=first_name,
            new_login_email=new_login_email,
            locale=normalise_locale(locale),
        )
        await queue_email(
            tx, event_id=event_id, address=previous_login_email, user_id=user_id, draft=draft
        )

    async def contact_email_changed(
        self,
        tx: Transaction,
        *,
        event_id: str,
        user_id: str,
        previous_contact_email: str,
        new_contact_email: str,
        first_name: str,
        locale: str,
    ) -> None:
        """Tells the previous contact address that mail (reset links included) now goes to
        the new one, so that a change the owner did not make cannot pass unseen."""
        draft = account_messages.contact_email_changed_email(
            first_name=first_name,
            new_contact_email=new_contact_email,
            reset_page_url=links.absolute(self._portal_url, PASSWORD_RESET_PAGE),
            locale=normalise_locale(locale),
        )
        await queue_email(
            tx, event_id=event_id, address=previous_contact_email, user_id=user_id, draft=draft
        )

    async def existing_account_registration_attempted(
        self,
        tx: Transaction,
        *,
        event_id: str,
        user_id: str,
        login_email: str,
        first_name: str,
        locale: str,
        account_active: bool,
        attempted_at: datetime | None,
    ) -> None:
        """Someone registered with the account's login address: an e-mail there (the address
        typed; if it was the owner, how to sign in or reset the password) and a feed item."""
        at = attempted_at or datetime.now(UTC)
        language = normalise_locale(locale)
        draft = account_messages.existing_account_registration_email(
            first_name=first_name,
            account_active=account_active,
            at=at,
            login_url=links.absolute(self._portal_url, LOGIN_PAGE),
            reset_page_url=links.absolute(self._portal_url, PASSWORD_RESET_PAGE),
            locale=language,
        )
        await queue_email(tx, event_id=event_id, address=login_email, user_id=user_id, draft=draft)
        feed_draft = account_messages.existing_account_registration_feed(at=at, locale=language)
        await add_feed_item(tx, event_id=event_id, user_id=user_id, draft=feed_draft)

    async def password_changed(
        self,
        tx: Transaction,
        *,
        event_id: str,
        user_id: str,
        reset_by_link: bool,
        changed_at: datetime | None,
    ) -> None:
        """ "Votre mot de passe a été modifié": e-mail to the contact address and a feed item
        (``changed_at`` unknown: now)."""
        person = await known_recipient(tx, user_id)
        draft = account_messages.password_changed_email(
            first_name=person.first_name,
            reset_by_link=reset_by_link,
            at=changed_at or datetime.now(UTC),
            reset_page_url=links.absolute(self._portal_url, PASSWORD_RESET_PAGE),
            locale=person.locale,
        )
        await email_recipient(tx, event_id=event_id, recipient=person, draft=draft)
        feed_draft = account_messages.password_changed_feed(locale=person.locale)
        await add_feed_item(tx, event_id=event_id, user_id=user_id, draft=feed_draft)

    async def account_locked(
        self,
        tx: Transaction,
        *,
        event_id: str,
        user_id: str,
        locked_until: datetime,
        failed_attempts: int,
    ) -> None:
        """Tells the user their account is locked, until when, and how to reset the password."""
        person = await known_recipient(tx, user_id)
        draft = account_messages.account_locked_email(
            first_name=person.first_name,
            locked_until=locked_until,
            failed_attempts=failed_attempts,
            reset_page_url=links.absolute(self._portal_url, PASSWORD_RESET_PAGE),
            locale=person.locale,
        )
        await email_recipient(tx, event_id=event_id, recipient=person, draft=draft)

    async def two_factor_changed(
        self, tx: Transaction, *, event_id: str, user_id: str, enabled: bool
    ) -> None:
        """Security notice by e-mail, and a feed item."""
        person = await known_recipient(tx, user_id)
        draft = account_messages.two_factor_changed_email(
            first_name=person.first_name, enabled=enabled, locale=person.locale
        )
        await email_recipient(tx, event_id=event_id, recipient=person, draft=draft)
        feed_draft = account_messages.two_factor_changed_feed(enabled=enabled, locale=person.locale)
        await add_feed_item(tx, event_id=event_id, user_id=user_id, draft=feed_draft)
