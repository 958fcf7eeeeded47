"""What the account-security notifications say (identity's events): reset and verification
links, password changed, login and contact e-mail changed, lockout, two-factor
authentication, a registration with an existing account's address.

Links carry :data:`~chorus_notifications.domain.sealed_secrets.PLACEHOLDER` instead of the
token; the e-mail keeps the sealed token and the sender opens it when sending.
"""

from __future__ import annotations

from datetime import datetime

from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.messages import EmailDraft, FeedDraft, email_draft, feed_draft
from chorus_notifications.domain.sealed_secrets import SealedSecret


def format_moment(moment: datetime, locale: str) -> str:
    """``27/11/2026 à 14:32 UTC`` (fr) or ``2026-11-27 14:32 UTC`` (en)."""
    if locale == "en":
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"{moment:%d/%m/%Y} à {moment:%H:%M} UTC"


def password_reset_email(
    *, first_name: str, reset_url: str, validity_minutes: int, locale: str, sealed: SealedSecret
) -> EmailDraft:
    """The single-use reset link (``reset_url`` holds the placeholder)."""
    context = {
        "first_name": first_name,
        "reset_url": reset_url,
        "validity_minutes": validity_minutes,
    }
    return email_draft(NotificationKind.PASSWORD_RESET, "password_reset", locale, context, sealed)


def email_verification_email(
    *,
    first_name: str,
    verification_url: str,
    login: bool,
    validity_minutes: int,
    locale: str,
    sealed: SealedSecret,
) -> EmailDraft:
    """The link confirming a new address; ``login`` tells a login from a contact address."""
    context = {
        "first_name": first_name,
        "verification_url": verification_url,
        "login": login,
        "validity_minutes": validity_minutes,
    }
    kind = NotificationKind.EMAIL_VERIFICATION
    return email_draft(kind, "email_verification", locale, context, sealed)


def password_changed_email(
    *, first_name: str, reset_by_link: bool, at: datetime, reset_page_url: str, locale: str
) -> EmailDraft:
    context = {
        "first_name": first_name,
        "reset_by_link": reset_by_link,
        "at": format_moment(at, locale),
        "reset_page_url": reset_page_url,
    }
    return email_draft(NotificationKind.PASSWORD_CHANGED, "password_changed", locale, context)


def password_changed_feed(*, locale: str) -> FeedDraft:
    return feed_draft(
        NotificationKind.PASSWORD_CHANGED, "password_changed", locale, {}, "/mon-compte"
    )


def login_email_changed_email(*, first_name: str, new_login_email: str, locale: str) -> EmailDraft:
    """The notice sent to the previous login address."""
    context = {"first_name": first_name, "new_login_email": new_login_email}
    kind = NotificationKind.LOGIN_EMAIL_CHANGED
    return email_draft(kind, "login_email_changed", locale, context)


def contact_email_changed_email(
    *, first_name: str, new_contact_email: str, reset_page_url: str, locale: str
) -> EmailDraft:
    """The notice sent to the previous contact address: mail (reset links included) now goes
    to the new one."""
    context = {
        "first_name": first_name,
        "new_contact_email": new_contact_email,
        "reset_page_url": reset_page_url,
    }
    kind = NotificationKind.CONTACT_EMAIL_CHANGED
    return email_draft(kind, "contact_email_changed", locale, context)


def existing_account_registration_email(
    *,
    first_name: str,
    account_active: bool,
    at: datetime,
    login_url: str,
    reset_page_url: str,
    locale: str,
) -> EmailDraft:
    """The notice to an account's owner that someone registered with its login address
    (``account_active`` False: the account is deactivated, logging in will not work)."""
    context = {
        "first_name": first_name,
        "account_active": account_active,
        "at": format_moment(at, locale),
        "login_url": login_url,
        "reset_page_url": reset_page_url,
    }
    kind = NotificationKind.EXISTING_ACCOUNT_REGISTRATION
    return email_draft(kind, "existing_account_registration", locale, context)


def existing_account_registration_feed(*, at: datetime, locale: str) -> FeedDraft:
    kind = NotificationKind.EXISTING_ACCOUNT_REGISTRATION
    context = {"at": format_moment(at, locale)}
    return feed_draft(kind, "existing_account_registration", locale, context, "/mon-compte")


def account_locked_email(
    *,
    first_name: str,
    locked_until: datetime,
    failed_attempts: int,
    reset_page_url: str,
    locale: str,
) -> EmailDraft:
    context = {
        "first_name": first_name,
        "locked_until": format_moment(locked_until, locale),
        "failed_attempts": failed_attempts,
        "reset_page_url": reset_page_url,
    }
    return email_draft(NotificationKind.ACCOUNT_LOCKED, "account_locked", locale, context)


def two_factor_changed_email(*, first_name: str, enabled: bool, locale: str) -> EmailDraft:
    context = {"first_name": first_name, "enabled": enabled}
    kind = NotificationKind.TWO_FACTOR_CHANGED
    return email_draft(kind, "two_factor_changed", locale, context)


def two_factor_changed_feed(*, enabled: bool, locale: str) -> FeedDraft:
    kind = NotificationKind.TWO_FACTOR_CHANGED
    return feed_draft(kind, "two_factor_changed", locale, {"enabled": enabled}, "/mon-compte")
