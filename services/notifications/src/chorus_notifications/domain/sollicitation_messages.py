"""What the sollicitation notifications say (structures' events): a new sollicitation to its
addressees, a new message to the other side, a closing. E-mails never carry the messages
themselves: they name the subject and what it is about, and link to the thread in the
portal, where only its parties can read it.

Pure functions of event facts.
"""

from __future__ import annotations

from chorus_notifications.domain.kinds import NotificationKind
from chorus_notifications.domain.messages import EmailDraft, FeedDraft, email_draft, feed_draft


def about(invoice_number: str, structure_name: str, locale: str) -> str:
    """``"la facture F-1"`` / ``"la structure « Mairie »"`` (or the English)."""
    if invoice_number:
        return f"invoice {invoice_number}" if locale == "en" else f"la facture {invoice_number}"
    if structure_name:
        return (
            f"the structure “{structure_name}”"
            if locale == "en"
            else f"la structure « {structure_name} »"
        )
    return ""


def _context(**values: object) -> dict:
    return {
        key: value.strip() if isinstance(value, str) else value for key, value in values.items()
    }


def received_email(
    *,
    first_name: str,
    sender_name: str,
    sender_structure_name: str,
    addressee_name: str,
    subject: str,
    about_text: str,
    url: str,
    locale: str,
) -> EmailDraft:
    """To each addressee: someone wrote to the structure's managers (``addressee_name``), or
    to the support (``addressee_name`` empty)."""
    context = _context(
        first_name=first_name,
        sender_name=sender_name,
        sender_structure_name=sender_structure_name,
        addressee_name=addressee_name,
        to_support=not addressee_name,
        subject=subject,
        about=about_text,
        url=url,
    )
    return email_draft(
        NotificationKind.SOLLICITATION_RECEIVED, "sollicitation_received", locale, context
    )


def received_feed(*, sender_name: str, subject: str, link: str, locale: str) -> FeedDraft:
    context = _context(sender_name=sender_name, subject=subject)
    return feed_draft(
        NotificationKind.SOLLICITATION_RECEIVED, "sollicitation_received", locale, context, link
    )


def replied_email(
    *, first_name: str, author_name: str, subject: str, about_text: str, url: str, locale: str
) -> EmailDraft:
    """To the other side: a new message in the thread."""
    context = _context(
        first_name=first_name, author_name=author_name, subject=subject, about=about_text, url=url
    )
    return email_draft(
        NotificationKind.SOLLICITATION_REPLIED, "sollicitation_replied", locale, context
    )


def replied_feed(*, author_name: str, subject: str, link: str, locale: str) -> FeedDraft:
    context = _context(author_name=author_name, subject=subject)
    return feed_draft(
        NotificationKind.SOLLICITATION_REPLIED, "sollicitation_replied", locale, context, link
    )


def closed_feed(*, closer_name: str, subject: str, link: str, locale: str) -> FeedDraft:
    context = _context(closer_name=closer_name, subject=subject)
    return feed_draft(
        NotificationKind.SOLLICITATION_CLOSED, "sollicitation_closed", locale, context, link
    )
