"""SMTP delivery of e-mails (multipart text + HTML, UTF-8) with aiosmtplib, many over one
connection."""

from __future__ import annotations

import asyncio
import contextlib
import email.errors
import email.generator
import email.policy
import functools
import io
import socket
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, getaddresses

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


@functools.cache
def _fqdn() -> str:
    return socket.getfqdn()


async def local_hostname() -> str:
    """This host's name for EHLO, looked up once per process (aiosmtplib would call
    ``socket.getfqdn`` — a blocking DNS lookup — at every connection)."""
    return await asyncio.to_thread(_fqdn)


class SmtpMailer:
    """Sends e-mails through the SMTP server of the settings over one connection kept open.

    The connection is opened at the first e-mail and reused for the next ones; after
    ``smtp_noop_after_seconds`` without use it is checked with NOOP first (a new one is opened
    if the server closed it); after ``smtp_idle_close_seconds`` without an e-mail it is closed
    (QUIT). Any failure while sending drops it: the next e-mail opens a new one. One e-mail at
    a time goes through a mailer (its sends are serialised).
    """

    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings
        self._message_id_domain = message_id_domain(settings.mail_from)
        self._envelope_from = getaddresses([settings.mail_from])[0][1]
        self._from_header = formataddr(getaddresses([settings.mail_from])[0], charset="utf-8")
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0
        self._lock = asyncio.Lock()
        self._idle_close: asyncio.TimerHandle | None = None
        self._closing: set[asyncio.Task] = set()

    def compose(self, email: OutgoingEmail) -> Message:
        """The MIME message (text and HTML alternatives, UTF-8); its Message-ID is the
        e-mail's (derived from its id, the same on every attempt).

        For an ASCII address it is built with the ``email`` package's compat32 classes,
        about four times cheaper than :class:`EmailMessage` (whose header objects are most
        of the sender's CPU): the bodies go base64, non-ASCII subjects and names as RFC 2047
        words. An address with non-ASCII characters takes the :class:`EmailMessage` path,
        which refuses what no message can carry (a non-ASCII local part)."""
        message_id = email.message_id or message_id_for(email.id, self._message_id_domain)
        if not email.recipient_address.isascii():
            return self._compose_international(email, message_id)
        message = MIMEMultipart("alternative")
        message["From"] = self._from_header
        message["To"] = email.recipient_address
        message["Subject"] = (
            email.subject if email.subject.isascii() else Header(email.subject, "utf-8")
        )
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
        message.attach(MIMEText(email.text_body, "plain", "utf-8"))
        message.attach(MIMEText(email.html_body, "html", "utf-8"))
        return message

    def _compose_international(self, email: OutgoingEmail, message_id: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = Address(addr_spec=email.recipient_address)
        message["Subject"] = email.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(email.text_body, charset="utf-8")
        message.add_alternative(email.html_body, subtype="html", charset="utf-8")
        return message

    async def send(self, email: OutgoingEmail) -> None:
        """Delivers ``email``; returns once the server accepted the message (its answer to
        the data). Raises PermanentDeliveryError when it never can be delivered, else
        (aiosmtplib.SMTPException, OSError...) when it was not this time — the connection
        is then dropped, so a failure never leaves a half-finished dialogue for the next
        e-mail."""
        utf8 = not (email.recipient_address.isascii() and self._envelope_from.isascii())
        try:
            message = self.compose(email)
            # Written once (this also fails now, before any SMTP, for an address the message
            # cannot carry); again only for a server without 8BITMIME.
            raw = _flatten(message, utf8=utf8, cte_type="8bit")
        except Exception as exc:
            if _permanent(exc):
                raise PermanentDeliveryError(f"{type(exc).__name__}: {exc}") from exc
            raise
        async with self._lock:
            self._cancel_idle_close()
            try:
                client = await self._ready_client()
                options = []
                if utf8:
                    if not client.supports_extension("smtputf8"):
                        raise aiosmtplib.SMTPNotSupported(
                            "An address containing non-ASCII characters was provided, but"
                            " SMTPUTF8 is not supported by this server"
                        )
                    options.append("SMTPUTF8")
                if client.supports_extension("8bitmime"):
                    options.append("BODY=8BITMIME")
                elif not raw.isascii():
                    raw = _flatten(message, utf8=utf8, cte_type="7bit")
                await client.sendmail(
                    self._envelope_from, [email.recipient_address], raw, mail_options=options
                )
            except BaseException as exc:
                self._drop()
                if isinstance(exc, Exception) and _permanent(exc):
                    raise PermanentDeliveryError(f"{type(exc).__name__}: {exc}") from exc
                raise
            self._last_used = asyncio.get_running_loop().time()
            self._arm_idle_close()

    async def close(self) -> None:
        """QUITs and closes the connection, if one is open (idle, or the sender stopping)."""
        async with self._lock:
            self._cancel_idle_close()
            client, self._client = self._client, None
            if client is not None:
                await _quit_quietly(client)

    async def _ready_client(self) -> aiosmtplib.SMTP:
        """The open connection, checked with NOOP when it was idle; else a new one."""
        client = self._client
        if client is not None and not client.is_connected:
            self._drop()
            client = None
        idle = asyncio.get_running_loop().time() - self._last_used
        if client is not None and idle >= self._settings.smtp_noop_after_seconds:
            try:
                await client.noop()
            except Exception:
                self._drop()
                client = None
        if client is None:
            client = await self._connect()
            self._client = client
        return client

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self._settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password.get_secret_value() or None,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
            local_hostname=await local_hostname(),
        )
        await client.connect()
        if client.is_ehlo_or_helo_needed:  # for the extensions (8BITMIME, SMTPUTF8)
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _arm_idle_close(self) -> None:
        self._idle_close = asyncio.get_running_loop().call_later(
            self._settings.smtp_idle_close_seconds, self._close_when_idle
        )

    def _cancel_idle_close(self) -> None:
        if self._idle_close is not None:
            self._idle_close.cancel()
            self._idle_close = None

    def _close_when_idle(self) -> None:
        task = asyncio.ensure_future(self.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def _flatten(message: Message, *, utf8: bool, cte_type: str) -> bytes:
    """The message as SMTP carries it (CRLF line ends; UTF-8 headers only with SMTPUTF8)."""
    if isinstance(message, EmailMessage):
        policy = email.policy.SMTPUTF8 if utf8 else email.policy.SMTP
    else:
        policy = email.policy.compat32.clone(linesep="\r\n")
    if cte_type != "8bit":
        policy = policy.clone(cte_type=cte_type)
    with io.BytesIO() as buffer:
        email.generator.BytesGenerator(buffer, policy=policy).flatten(message)
        return buffer.getvalue()


async def _quit_quietly(client: aiosmtplib.SMTP) -> None:
    """QUIT, ignoring its failure (even a cancellation: the caller is closing anyway)."""
    try:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await client.quit()
    finally:
        client.close()
