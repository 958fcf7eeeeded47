"""Invoice e-mail digests, as Chorus Pro offers them: each user receives invoice e-mails at
once (the default), or gathered into one e-mail per hour or per day that lists the invoices
and their new statuses. Periods are Paris time (a day is a French calendar day). Only
invoice e-mails are ever gathered: account security e-mails always go at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.labels import invoice_status_label
from chorus_notifications.domain.messages import EmailDraft, email_draft
from chorus_notifications.domain.recipients import DEFAULT_LOCALE

PARIS = ZoneInfo("Europe/Paris")


class DigestFrequency(StrEnum):
    """How a user's invoice e-mails reach them."""

    IMMEDIATE = "IMMEDIATE"
    HOURLY = "HOURLY"
    DAILY = "DAILY"


DIGESTED_KINDS = frozenset(
    {
        NotificationKind.INVOICE_STATUS_CHANGED,
        NotificationKind.INVOICE_RECEIVED,
        NotificationKind.INVOICE_COMPLETED,
    }
)
"""The invoice e-mails a digest gathers; every other kind is always sent at once."""


def is_digested(kind: str) -> bool:
    return kind in DIGESTED_KINDS


def period_start(frequency: DigestFrequency, moment: datetime) -> datetime:
    """The start (UTC) of the period holding ``moment``: its hour, or its Paris day.
    IMMEDIATE has no periods: ``moment`` itself."""
    if frequency is DigestFrequency.HOURLY:
        # Paris is a whole number of hours from UTC: its hours are UTC's.
        return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if frequency is DigestFrequency.DAILY:
        local = moment.astimezone(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
        return local.astimezone(UTC)
    return moment


def period_end(frequency: DigestFrequency, start: datetime) -> datetime:
    """The end of the period starting at ``start`` (the next Paris midnight for a day, which
    is 23 or 25 hours later on the days the clocks change)."""
    if frequency is DigestFrequency.HOURLY:
        return start + timedelta(hours=1)
    if frequency is DigestFrequency.DAILY:
        local = start.astimezone(PARIS) + timedelta(days=1, hours=12)
        return period_start(DigestFrequency.DAILY, local)
    return start


@dataclass(frozen=True)
class DigestLine:
    """One invoice in a digest: its latest status in the period."""

    number: str
    status_label: str
    received: bool
    """The invoice reached the user's structure in the period (a new invoice for them)."""
    comment: str
    invoice_url: str


MAX_LINES = 100
"""Invoices listed in one digest e-mail; beyond, it says how many more and links to the
portal's invoice list (a large structure's daily digest can hold thousands)."""


def digest_line(
    *, number: str, status: str, received: bool, comment: str, invoice_url: str, locale: str
) -> DigestLine:
    """One invoice of a digest: its latest status in the period."""
    return DigestLine(
        number=number,
        status_label=invoice_status_label(status, locale),
        received=received,
        comment=comment.strip(),
        invoice_url=invoice_url,
    )


_MONTHS = {
    "fr": [
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ],
    "en": [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ],
}  # fmt: skip


def _day(moment: datetime, locale: str) -> str:
    months = _MONTHS.get(locale, _MONTHS[DEFAULT_LOCALE])
    local = moment.astimezone(PARIS)
    return f"{local.day} {months[local.month - 1]} {local.year}"


def _hours(start: datetime, end: datetime, locale: str) -> str:
    first, last = start.astimezone(PARIS).hour, end.astimezone(PARIS).hour
    return f"{first}:00–{last}:00" if locale == "en" else f"{first} h – {last} h"


def digest_email(
    *,
    first_name: str,
    frequency: DigestFrequency,
    start: datetime,
    lines: list[DigestLine],
    invoice_count: int,
    invoices_url: str,
    locale: str,
) -> EmailDraft:
    """The digest of the period starting at ``start`` (for IMMEDIATE: the entries left
    waiting when the user went back to immediate e-mails): ``lines`` are the first of the
    ``invoice_count`` invoices; the others are counted, with ``invoices_url`` to see them."""
    context = {
        "first_name": first_name,
        "frequency": str(frequency),
        "day": _day(start, locale),
        "hours": _hours(start, period_end(frequency, start), locale),
        "lines": lines,
        "count": invoice_count,
        "others": max(invoice_count - len(lines), 0),
        "invoices_url": invoices_url,
    }
    return email_draft(NotificationKind.INVOICE_DIGEST, "invoice_digest", locale, context)
