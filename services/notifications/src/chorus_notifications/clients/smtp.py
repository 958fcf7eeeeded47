"""SMTP delivery of one e-mail (multipart text + HTML, UTF-8) with aiosmtplib."""

from __future__ import annotations

import asyncio
import contextlib
import email.errors
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses

import aiosmtplib

from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain.delivery import (
    OutgoingEmail,
    PermanentDeliveryError,
    message_id_for,
)


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code >= 500 and exc.code != 521  # 521: server does not accept mail now
    # The message cannot be written for this address (e.g. non-ASCII before the @).
    return isinstance(
        exc,
        (
            email.errors.MessageError,
            email.errors.MessageDefect,
            UnicodeError,
            aiosmtplib.SMTPNotSupported,
        ),
    )


def message_id_domain(mail_from: str) -> str:
    """The right-hand side of the Message-IDs: the domain of the From address."""
    _, at, domain = getaddresses([mail_from])[0][1].rpartition("@")
    return domain if at and domain else "chorus.localhost"


class SmtpMailer:
    """Sends e-mails through the SMTP server of the settings, one connection per message."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings
        self._message_id_domain = message_id_domain(settings.mail_from)

    def compose(self, email: OutgoingEmail) -> EmailMessage:
        """The MIME message; its Message-ID is the e-mail's (derived from its id, the same on
        every attempt)."""
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = Address(addr_spec=email.recipient_address)
        message["Subject"] = email.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = email.message_id or message_id_for(
            email.id, self._message_id_domain
        )
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(email.text_body, charset="utf-8")
        message.add_alternative(email.html_body, subtype="html", charset="utf-8")
        return message

    async def send(self, email: OutgoingEmail) -> None:
        """Delivers ``email``; returns once the server accepted the message (its answer to
        the data), whatever happens to the connection afterwards. Raises
        PermanentDeliveryError when it never can be delivered, else (aiosmtplib.SMTPException,
        OSError...) when it was not this time."""
        settings = self._settings
        try:
            message = self.compose(email)
            message.as_bytes()  # fails now, not halfway through the SMTP dialogue
            client = aiosmtplib.SMTP(
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password.get_secret_value() or None,
                start_tls=settings.smtp_starttls,
                timeout=settings.smtp_timeout_seconds,
            )
            await client.connect()
        except Exception as exc:
            if _permanent(exc):
                raise PermanentDeliveryError(f"{type(exc).__name__}: {exc}") from exc
            raise
        try:
            await client.send_message(message)
        except Exception as exc:
            client.close()
            if _permanent(exc):
                raise PermanentDeliveryError(f"{type(exc).__name__}: {exc}") from exc
            raise
        await _quit_quietly(client)


async def _quit_quietly(client: aiosmtplib.SMTP) -> None:
    """QUIT after an accepted message: its failure, even a cancellation, must not make the
    caller believe the message was not sent (the caller records it, then sees the pending
    cancellation through ``Task.cancelling()``)."""
    try:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await client.quit()
    finally:
        client.close()
