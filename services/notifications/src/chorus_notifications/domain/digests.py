"""Invoice e-mail digests, as Chorus Pro offers them: each user receives invoice e-mails at
once (the default), or gathered into one e-mail per hour or per day that lists the invoices
and their new statuses. Periods are Paris time (a day is a French calendar day). Only
invoice e-mails are ever gathered: account security e-mails always go at once.
"""

from __future__ import annotations

from collections.abc import Iterable
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
class DigestEntry:
    """An invoice event kept for a digest."""

    id: int
    kind: str
    invoice_id: str
    number: str
    status: str
    comment: str
    queued_at: datetime


@dataclass(frozen=True)
class DigestLine:
    """One invoice in a digest: its latest status in the period."""

    number: str
    status_label: str
    received: bool
    """The invoice reached the user's structure in the period (a new invoice for them)."""
    comment: str
    invoice_url: str


def group_by_period(
    frequency: DigestFrequency, entries: Iterable[DigestEntry]
) -> dict[datetime, list[DigestEntry]]:
    """Entries by the start of their period, oldest period first; IMMEDIATE (a user who went
    back to immediate e-mails with entries still waiting): all of them in one group."""
    groups: dict[datetime, list[DigestEntry]] = {}
    ordered = sorted(entries, key=lambda e: (e.queued_at, e.id))
    for entry in ordered:
        key = (
            ordered[0].queued_at
            if frequency is DigestFrequency.IMMEDIATE
            else period_start(frequency, entry.queued_at)
        )
        groups.setdefault(key, []).append(entry)
    return groups


def digest_lines(
    entries: Iterable[DigestEntry], invoice_url: dict[str, str], locale: str
) -> list[DigestLine]:
    """One line per invoice, in the order each was first seen, with its latest status."""
    lines: dict[str, DigestLine] = {}
    for entry in sorted(entries, key=lambda e: (e.queued_at, e.id)):
        earlier = lines.get(entry.invoice_id)
        lines[entry.invoice_id] = DigestLine(
            number=entry.number,
            status_label=invoice_status_label(entry.status, locale),
            received=(earlier is not None and earlier.received)
            or entry.kind == NotificationKind.INVOICE_RECEIVED,
            comment=entry.comment.strip(),
            invoice_url=invoice_url[entry.invoice_id],
        )
    return list(lines.values())


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
    locale: str,
) -> EmailDraft:
    """The digest of the period starting at ``start`` (for IMMEDIATE: the entries left
    waiting when the user went back to immediate e-mails)."""
    context = {
        "first_name": first_name,
        "frequency": str(frequency),
        "day": _day(start, locale),
        "hours": _hours(start, period_end(frequency, start), locale),
        "lines": lines,
        "count": len(lines),
    }
    return email_draft(NotificationKind.INVOICE_DIGEST, "invoice_digest", locale, context)
