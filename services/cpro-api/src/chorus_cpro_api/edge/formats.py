"""Dates, timestamps and amounts as the clients parse them (design §3).

- dates ``YYYY-MM-DD`` (PY-TR ``strptime('%Y-%m-%d')``, go-choruspro's ``Date``);
- timestamps ISO 8601 with offset and milliseconds in Europe/Paris,
  ``2026-01-02T10:11:12.123+01:00`` (go-choruspro reads them as RFC 3339);
- service dates ``YYYY-MM-DD HH:MM`` (go-choruspro's ``Datetime``);
- amounts JSON numbers rounded to 2 decimals.

Dates in requests are read leniently: ``2026-01-02``, ``2026-01-02T00:00:00Z`` (what
go-choruspro's ``Date`` marshals to) or any ISO 8601 timestamp.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp

PARIS = ZoneInfo("Europe/Paris")


def _moment(value: Timestamp | dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, Timestamp):
        if value.seconds == 0 and value.nanos == 0:
            return None
        return value.ToDatetime(tzinfo=dt.UTC)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def timestamp(value: Timestamp | dt.datetime | None) -> str | None:
    """``2026-01-02T10:11:12.123+01:00`` in Europe/Paris; None when unset."""
    moment = _moment(value)
    if moment is None:
        return None
    return moment.astimezone(PARIS).isoformat(timespec="milliseconds")


def date_of(value: Timestamp | dt.datetime | None) -> str | None:
    """The Europe/Paris calendar day ``YYYY-MM-DD`` of a moment; None when unset."""
    moment = _moment(value)
    return None if moment is None else moment.astimezone(PARIS).date().isoformat()


def service_datetime(value: Timestamp | dt.datetime | None) -> str | None:
    """``YYYY-MM-DD HH:MM`` in Europe/Paris (services' start and end dates)."""
    moment = _moment(value)
    return None if moment is None else moment.astimezone(PARIS).strftime("%Y-%m-%d %H:%M")


def iso_date(value: str) -> str | None:
    """An invoice's ISO date string as is when it reads, else None."""
    try:
        return dt.date.fromisoformat(value[:10]).isoformat() if value else None
    except ValueError:
        return None


def parse_date(value: str) -> dt.date | None:
    """A request's date: ``YYYY-MM-DD`` or the day of an ISO 8601 timestamp; None when it does
    not read."""
    text = value.strip()
    try:
        return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def parse_moment(value: str, *, end_of_day: bool = False) -> dt.datetime | None:
    """A request's moment: an ISO 8601 timestamp (``Z`` or an offset; Europe/Paris without
    one) or a date (its first instant, or its last with ``end_of_day``)."""
    text = value.strip()
    if len(text) == 10:
        day = parse_date(text)
        if day is None:
            return None
        clock = dt.time.max if end_of_day else dt.time.min
        return dt.datetime.combine(day, clock, tzinfo=PARIS)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


def amount(value: str) -> float | None:
    """A decimal string (``"1200.50"``) as a JSON number with 2 decimals; None when empty."""
    if not value:
        return None
    try:
        return float(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ValueError):
        return None


def decimal_text(value: float | int) -> str:
    """A JSON number of a request as the services' decimal string (``12.5`` -> ``"12.50"``
    only when it has more; kept as written otherwise)."""
    number = Decimal(str(value))
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)
