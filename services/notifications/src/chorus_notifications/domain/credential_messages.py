"""What the notifications about a structure's API credentials say (identity's events): a
technical account's password expires in 30 or 7 days; a technical account was activated,
renewed or revoked. Told to the structure's managers, who are the ones able to act.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.messages import EmailDraft, FeedDraft, email_draft, feed_draft

_PARIS = ZoneInfo("Europe/Paris")


class TechnicalChange(StrEnum):
    ACTIVATED = "ACTIVATED"
    ROTATED = "ROTATED"
    REVOKED = "REVOKED"


def format_day(moment: datetime, locale: str) -> str:
    """The day in France: ``30/11/2026`` (fr) or ``2026-11-30`` (en)."""
    day = moment.astimezone(_PARIS)
    return f"{day:%Y-%m-%d}" if locale == "en" else f"{day:%d/%m/%Y}"


def _expiring_context(
    login: str, structure_name: str, expires_at: datetime, days_left: int, locale: str
):
    return {
        "login": login,
        "structure_name": structure_name,
        "expires_on": format_day(expires_at, locale),
        "days_left": days_left,
    }


def technical_expiring_email(
    *,
    first_name: str,
    login: str,
    structure_name: str,
    expires_at: datetime,
    days_left: int,
    accounts_url: str,
    locale: str,
) -> EmailDraft:
    """To each manager: renew the password before it expires, or the connectors stop."""
    context = {
        **_expiring_context(login, structure_name, expires_at, days_left, locale),
        "first_name": first_name,
        "accounts_url": accounts_url,
    }
    kind = NotificationKind.TECHNICAL_ACCOUNT_EXPIRING
    return email_draft(kind, "technical_account_expiring", locale, context)


def technical_expiring_feed(
    *,
    login: str,
    structure_name: str,
    expires_at: datetime,
    days_left: int,
    link: str,
    locale: str,
) -> FeedDraft:
    context = _expiring_context(login, structure_name, expires_at, days_left, locale)
    kind = NotificationKind.TECHNICAL_ACCOUNT_EXPIRING
    return feed_draft(kind, "technical_account_expiring", locale, context, link)


def _changed_context(
    change: TechnicalChange,
    login: str,
    structure_name: str,
    actor_name: str,
    expires_at: datetime | None,
    locale: str,
):
    return {
        "change": str(change),
        "login": login,
        "structure_name": structure_name,
        "actor_name": actor_name or ("A manager" if locale == "en" else "Un gestionnaire"),
        "expires_on": format_day(expires_at, locale) if expires_at else "",
    }


def technical_changed_email(
    *,
    first_name: str,
    change: TechnicalChange,
    login: str,
    structure_name: str,
    actor_name: str,
    expires_at: datetime | None,
    accounts_url: str,
    locale: str,
) -> EmailDraft:
    """To the other managers: a technical account was activated, renewed or revoked."""
    context = {
        **_changed_context(change, login, structure_name, actor_name, expires_at, locale),
        "first_name": first_name,
        "accounts_url": accounts_url,
    }
    kind = NotificationKind.TECHNICAL_ACCOUNT_CHANGED
    return email_draft(kind, "technical_account_changed", locale, context)


def technical_changed_feed(
    *,
    change: TechnicalChange,
    login: str,
    structure_name: str,
    actor_name: str,
    expires_at: datetime | None,
    link: str,
    locale: str,
) -> FeedDraft:
    context = _changed_context(change, login, structure_name, actor_name, expires_at, locale)
    kind = NotificationKind.TECHNICAL_ACCOUNT_CHANGED
    return feed_draft(kind, "technical_account_changed", locale, context, link)
