"""SMTP delivery of one e-mail (multipart text + HTML, UTF-8) with aiosmtplib."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses

import aiosmtplib

from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain.delivery import OutgoingEmail


class SmtpMailer:
    """Sends e-mails through the SMTP server of the settings, one connection per message."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings
        sender = getaddresses([settings.mail_from])[0][1]
        self._message_id_domain = sender.rpartition("@")[2] or "chorus.localhost"

    def compose(self, email: OutgoingEmail) -> EmailMessage:
        """The MIME message; its Message-ID derives from the e-mail id, stable across retries."""
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = Address(addr_spec=email.recipient_address)
        message["Subject"] = email.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = f"<{email.id}@{self._message_id_domain}>"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(email.text_body, charset="utf-8")
        message.add_alternative(email.html_body, subtype="html", charset="utf-8")
        return message

    async def send(self, email: OutgoingEmail) -> None:
        """Delivers ``email``; raises (aiosmtplib.SMTPException, OSError...) when it was not."""
        settings = self._settings
        await aiosmtplib.send(
            self.compose(email),
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() or None,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
