"""What each notification says: e-mails and feed entries built from event facts.

Pure functions of their arguments: each one decides which template a notification uses and
with which facts (an :class:`EmailDraft` or a :class:`FeedDraft`); rendering the template
from the package's files is an adapter (``chorus_notifications.rendering``) that turns a
draft into the :class:`EmailContent` or :class:`FeedEntry` that is stored and sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.labels import format_amount, invoice_status_label, role_phrase
from chorus_notifications.domain.sealed_secrets import SealedSecret

DEFAULT_ACTIVATION_VALIDITY_MINUTES = 60


@dataclass(frozen=True)
class EmailDraft:
    """An e-mail to render: template ``<template>.txt`` (``subject`` and ``body`` blocks) and
    ``<template>.html``, in ``locale``, filled with ``context``."""

    kind: NotificationKind
    template: str
    locale: str
    context: Mapping[str, Any]
    sealed: SealedSecret | None = None
    """Set when the context holds the secret placeholder (a link token opened at sending)."""


@dataclass(frozen=True)
class FeedDraft:
    """A feed entry to render: template ``feed/<template>.txt`` (``title`` and ``body``
    blocks), in ``locale``, filled with ``context``; ``link`` is a portal path."""

    kind: NotificationKind
    template: str
    locale: str
    context: Mapping[str, Any]
    link: str


@dataclass(frozen=True)
class EmailContent:
    """A rendered e-mail, as queued."""

    kind: NotificationKind
    subject: str
    text_body: str
    html_body: str
    sealed: SealedSecret | None = None
    """Set when the bodies hold the secret placeholder (a link token opened at sending)."""


@dataclass(frozen=True)
class FeedEntry:
    """A rendered feed entry, as stored."""

    kind: NotificationKind
    title: str
    body: str
    link: str


def email_draft(
    kind: NotificationKind,
    template: str,
    locale: str,
    context: dict,
    sealed: SealedSecret | None = None,
) -> EmailDraft:
    """What to render for an e-mail of ``kind``: the template, its language and context."""
    return EmailDraft(kind=kind, template=template, locale=locale, context=context, sealed=sealed)


def feed_draft(
    kind: NotificationKind, template: str, locale: str, context: dict, link: str
) -> FeedDraft:
    """What to render for a feed item of ``kind``, pointing at ``link``."""
    return FeedDraft(kind=kind, template=template, locale=locale, context=context, link=link)


def validity_minutes(issued_at: datetime | None, expires_at: datetime | None) -> int:
    """How long a link issued at ``issued_at`` stays valid, in whole minutes (60 if unknown)."""
    if issued_at is None or expires_at is None:
        return DEFAULT_ACTIVATION_VALIDITY_MINUTES
    minutes = round((expires_at - issued_at).total_seconds() / 60)
    return minutes if minutes > 0 else DEFAULT_ACTIVATION_VALIDITY_MINUTES


def activation_email(
    *,
    first_name: str,
    activation_url: str,
    validity_minutes: int,
    locale: str,
    sealed: SealedSecret | None = None,
) -> EmailDraft:
    """The e-mail carrying the single-use activation link (``activation_url`` holds the
    placeholder when the token comes ``sealed``)."""
    context = {
        "first_name": first_name,
        "activation_url": activation_url,
        "validity_minutes": validity_minutes,
    }
    kind = NotificationKind.ACCOUNT_ACTIVATION
    return email_draft(kind, "account_activation", locale, context, sealed)


def _status_context(
    number: str, from_status: str, to_status: str, comment: str, locale: str
) -> dict:
    return {
        "number": number,
        "from_label": invoice_status_label(from_status, locale) if from_status else "",
        "to_label": invoice_status_label(to_status, locale),
        "comment": comment.strip(),
    }


def invoice_status_email(
    *,
    first_name: str,
    number: str,
    from_status: str,
    to_status: str,
    comment: str,
    invoice_url: str,
    locale: str,
) -> EmailDraft:
    """Tells the depositor that an invoice changed status (statuses as codes, e.g. DEPOSEE)."""
    context = {
        **_status_context(number, from_status, to_status, comment, locale),
        "first_name": first_name,
        "invoice_url": invoice_url,
    }
    return email_draft(
        NotificationKind.INVOICE_STATUS_CHANGED, "invoice_status_changed", locale, context
    )


def invoice_status_feed(
    *, number: str, from_status: str, to_status: str, comment: str, link: str, locale: str
) -> FeedDraft:
    context = _status_context(number, from_status, to_status, comment, locale)
    kind = NotificationKind.INVOICE_STATUS_CHANGED
    return feed_draft(kind, "invoice_status_changed", locale, context, link)


def invoice_received_email(
    *, first_name: str, number: str, invoice_url: str, locale: str
) -> EmailDraft:
    """Tells a recipient structure's user that a new invoice is available to them."""
    context = {"number": number, "first_name": first_name, "invoice_url": invoice_url}
    return email_draft(NotificationKind.INVOICE_RECEIVED, "invoice_received", locale, context)


def invoice_received_feed(*, number: str, link: str, locale: str) -> FeedDraft:
    context = {"number": number}
    return feed_draft(NotificationKind.INVOICE_RECEIVED, "invoice_received", locale, context, link)


def invoice_completed_email(
    *, first_name: str, number: str, comment: str, invoice_url: str, locale: str
) -> EmailDraft:
    """Tells a recipient structure's user that the supplier completed a suspended invoice."""
    context = {
        "number": number,
        "first_name": first_name,
        "comment": comment.strip(),
        "invoice_url": invoice_url,
    }
    return email_draft(NotificationKind.INVOICE_COMPLETED, "invoice_completed", locale, context)


def invoice_completed_feed(*, number: str, comment: str, link: str, locale: str) -> FeedDraft:
    context = {"number": number, "comment": comment.strip()}
    return feed_draft(
        NotificationKind.INVOICE_COMPLETED, "invoice_completed", locale, context, link
    )


def supplier_invoice_status_feed(
    *, number: str, from_status: str, to_status: str, comment: str, link: str, locale: str
) -> FeedDraft:
    """Tells a supplier structure's manager of a status change made by the recipient."""
    context = _status_context(number, from_status, to_status, comment, locale)
    kind = NotificationKind.INVOICE_STATUS_CHANGED
    return feed_draft(kind, "supplier_invoice_status_changed", locale, context, link)


def invoice_submitted_feed(
    *, number: str, gross_total: str, currency: str, link: str, locale: str
) -> FeedDraft:
    context = {
        "number": number,
        "amount": format_amount(gross_total, currency, locale) if gross_total else "",
    }
    return feed_draft(
        NotificationKind.INVOICE_SUBMITTED, "invoice_submitted", locale, context, link
    )


def account_activated_feed(*, locale: str) -> FeedDraft:
    return feed_draft(NotificationKind.ACCOUNT_ACTIVATED, "account_activated", locale, {}, "/")


def member_added_feed(*, structure_name: str, role: str, link: str, locale: str) -> FeedDraft:
    """``structure_name`` may be empty when the structure is not known here."""
    context = {"structure_name": structure_name, "role_phrase": role_phrase(role, locale)}
    return feed_draft(NotificationKind.MEMBER_ADDED, "member_added", locale, context, link)
