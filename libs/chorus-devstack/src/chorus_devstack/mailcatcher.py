"""An SMTP catcher with a read-only, Mailpit-shaped HTTP API, kept entirely in memory.

Contract:

* ``MailCatcher(smtp_host, smtp_port, http_host=..., http_port=...)``. ``await start()`` binds
  both servers in the *running* asyncio loop; ``await stop()`` closes them. The SMTP side
  (aiosmtpd) accepts every message (SMTPUTF8 on, any AUTH accepted, no TLS) and keeps it.
  A port of 0 picks a free one; :attr:`smtp_port` / :attr:`http_port` report the bound ports
  after start.
* HTTP API (the subset of Mailpit's v1 API that tests and people use):

  - ``GET /api/v1/messages[?start=&limit=]`` → ``{"total", "count", "start", "unread",
    "messages_count", "messages": [summary, ...]}``, newest first; a summary is
    ``{"ID", "MessageID", "From": {"Address", "Name"}, "To": [...], "Cc": [...], "Bcc": [...],
    "Subject", "Created" (RFC 3339, UTC), "Size", "Attachments" (count), "Snippet"}``.
  - ``GET /api/v1/message/{ID}`` → summary fields plus ``"Text"``, ``"HTML"``, ``"Date"``,
    ``"Attachments": [{"PartID", "FileName", "ContentType", "Size"}]``; 404 if unknown.
  - ``GET /api/v1/message/{ID}/part/{PartID}`` → the attachment's bytes.
  - ``GET /api/v1/message/{ID}/raw`` → the message source as received.
  - ``DELETE /api/v1/messages`` clears all (or only ``{"IDs": [...]}`` if that body is sent).

  Subjects, names, text and HTML are decoded to Unicode (RFC 2047 words, charsets, raw UTF-8).
  ``Bcc`` lists envelope recipients absent from the To/Cc headers.
* In-process access for tests sharing the loop: :attr:`messages` (oldest first),
  :meth:`clear`, and ``await wait_for(predicate, timeout)``.
* Standalone: ``python -m chorus_devstack mail`` (or ``asyncio.run(MailCatcher(...).serve())``).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from chorus_devstack.ports import LOCALHOST, free_port

_JSON = dict[str, Any]
_dumps = functools.partial(json.dumps, ensure_ascii=False)  # UTF-8 as Mailpit sends it


def _unicode(value: str) -> str:
    """Undo the surrogate escapes the bytes parser leaves for raw UTF-8 header bytes."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Attachment:
    part_id: str
    filename: str
    content_type: str
    payload: bytes

    def to_json(self) -> _JSON:
        return {
            "PartID": self.part_id,
            "FileName": self.filename,
            "ContentType": self.content_type,
            "Size": len(self.payload),
        }


@dataclass
class CapturedMessage:
    """One message as received over SMTP, parsed once."""

    raw: bytes
    envelope_from: str
    envelope_to: list[str]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.message: EmailMessage = email.message_from_bytes(
            self.raw, _class=EmailMessage, policy=email.policy.default
        )
        self.text = self._body("plain")
        self.html = self._body("html")
        self.attachments = self._attachments()

    # -- parsed views ----------------------------------------------------------------------

    @property
    def subject(self) -> str:
        return _unicode(str(self.message.get("Subject", "")))

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", "")).strip("<>")

    def addresses(self, header: str) -> list[_JSON]:
        try:
            found = self.message[header]
            items = found.addresses if found is not None else ()
        except (AttributeError, ValueError, IndexError):
            items = ()
        return [{"Address": _unicode(a.addr_spec), "Name": _unicode(a.display_name)} for a in items]

    def summary(self) -> _JSON:
        senders = self.addresses("From")
        to, cc = self.addresses("To"), self.addresses("Cc")
        shown = {a["Address"].lower() for a in to + cc}
        bcc = [
            {"Address": rcpt, "Name": ""} for rcpt in self.envelope_to if rcpt.lower() not in shown
        ]
        return {
            "ID": self.id,
            "MessageID": self.message_id,
            "Read": False,
            "From": senders[0] if senders else {"Address": self.envelope_from, "Name": ""},
            "To": to,
            "Cc": cc,
            "Bcc": bcc,
            "Subject": self.subject,
            "Created": _rfc3339(self.created),
            "Size": len(self.raw),
            "Attachments": len(self.attachments),
            "Snippet": " ".join(self.text.split())[:250],
        }

    def detail(self) -> _JSON:
        data = self.summary()
        data.update(
            {
                "ReplyTo": self.addresses("Reply-To"),
                "ReturnPath": self.envelope_from,
                "Date": str(self.message.get("Date", "")) or data["Created"],
                "Text": self.text,
                "HTML": self.html,
                "Attachments": [a.to_json() for a in self.attachments],
                "Inline": [],
            }
        )
        return data

    # -- parsing ---------------------------------------------------------------------------

    def _body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None:
            return ""
        try:
            return str(part.get_content())
        except (LookupError, ValueError, AttributeError):
            payload = part.get_payload(decode=True)
            return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""

    def _attachments(self) -> list[Attachment]:
        found = []
        for index, part in enumerate(self.message.walk()):
            if part.is_multipart():
                continue
            filename = part.get_filename()
            if not filename and part.get_content_disposition() != "attachment":
                continue
            payload = part.get_payload(decode=True)
            found.append(
                Attachment(
                    part_id=str(index),
                    filename=_unicode(filename or ""),
                    content_type=part.get_content_type(),
                    payload=payload if isinstance(payload, bytes) else b"",
                )
            )
        return found


class _Handler:
    """aiosmtpd handler: store every DATA in the catcher."""

    def __init__(self, catcher: MailCatcher) -> None:
        self._catcher = catcher

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        self._catcher._add(
            CapturedMessage(
                raw=raw,
                envelope_from=envelope.mail_from or "",
                envelope_to=list(envelope.rcpt_tos),
            )
        )
        return "250 Message accepted for delivery"


def _accept_any_login(*_args: object) -> AuthResult:
    return AuthResult(success=True)


class MailCatcher:
    """SMTP sink plus Mailpit-like JSON API; see the module docstring."""

    def __init__(
        self,
        smtp_host: str = LOCALHOST,
        smtp_port: int = 1025,
        http_port: int = 8025,
        *,
        http_host: str | None = None,
    ) -> None:
        self.smtp_host = smtp_host
        self.smtp_port = smtp_port
        self.http_host = http_host or smtp_host
        self.http_port = http_port
        self._messages: list[CapturedMessage] = []
        self._arrived: asyncio.Event | None = None
        self._smtp_server: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """Base URL of the HTTP API, e.g. ``http://127.0.0.1:8025/api/v1``."""
        return f"http://{self.http_host}:{self.http_port}/api/v1"

    @property
    def running(self) -> bool:
        return self._smtp_server is not None

    async def start(self) -> None:
        """Bind SMTP and HTTP in the running loop."""
        if self._smtp_server is not None:
            return
        loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()
        handler = _Handler(self)
        self._smtp_server = await loop.create_server(
            lambda: SMTP(
                handler,
                hostname="chorus-mailcatcher",
                enable_SMTPUTF8=True,
                auth_require_tls=False,
                authenticator=_accept_any_login,
            ),
            host=self.smtp_host,
            port=self.smtp_port,
        )
        self.smtp_port = self._smtp_server.sockets[0].getsockname()[1]
        if self.http_port == 0:
            self.http_port = free_port(self.http_host)
        try:
            self._runner = web.AppRunner(self._app(), access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, self.http_host, self.http_port).start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close both servers (captured messages stay readable through :attr:`messages`)."""
        server, self._smtp_server = self._smtp_server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def serve(self) -> None:
        """Start, then run until cancelled (standalone use)."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> MailCatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- in-process access -----------------------------------------------------------------

    @property
    def messages(self) -> list[CapturedMessage]:
        """Captured messages, oldest first (a copy)."""
        return list(self._messages)

    def clear(self) -> None:
        self._messages.clear()

    async def wait_for(
        self,
        predicate: Callable[[CapturedMessage], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - a plain deadline is the simplest API here
    ) -> CapturedMessage:
        """Return the first captured message matching ``predicate``, waiting up to ``timeout``."""
        if self._arrived is None:
            raise RuntimeError("MailCatcher is not started")

        async def first_match() -> CapturedMessage:
            while True:
                for message in self._messages:
                    if predicate(message):
                        return message
                assert self._arrived is not None
                await self._arrived.wait()

        return await asyncio.wait_for(first_match(), timeout)

    def _add(self, message: CapturedMessage) -> None:
        self._messages.append(message)
        if self._arrived is not None:
            self._arrived.set()  # wake current waiters; later ones wait on a fresh event
            self._arrived = asyncio.Event()

    def _find(self, message_id: str) -> CapturedMessage:
        for message in self._messages:
            if message.id == message_id:
                return message
        raise web.HTTPNotFound(text=f"message {message_id} not found")

    # -- HTTP API --------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/messages", self._list)
        app.router.add_delete("/api/v1/messages", self._delete)
        app.router.add_get("/api/v1/message/{id}", self._detail)
        app.router.add_get("/api/v1/message/{id}/raw", self._raw)
        app.router.add_get("/api/v1/message/{id}/part/{part}", self._part)
        return app

    async def _list(self, request: web.Request) -> web.Response:
        try:
            start = max(int(request.query.get("start", 0)), 0)
            limit = max(int(request.query.get("limit", 50)), 0)
        except ValueError:
            raise web.HTTPBadRequest(text="start and limit must be integers") from None
        newest_first = list(reversed(self._messages))
        page = newest_first[start : start + limit]
        return web.json_response(
            {
                "total": len(newest_first),
                "unread": len(newest_first),
                "count": len(page),
                "messages_count": len(newest_first),
                "start": start,
                "tags": [],
                "messages": [m.summary() for m in page],
            },
            dumps=_dumps,
        )

    async def _detail(self, request: web.Request) -> web.Response:
        return web.json_response(self._find(request.match_info["id"]).detail(), dumps=_dumps)

    async def _raw(self, request: web.Request) -> web.Response:
        message = self._find(request.match_info["id"])
        return web.Response(body=message.raw, content_type="text/plain", charset="utf-8")

    async def _part(self, request: web.Request) -> web.Response:
        message = self._find(request.match_info["id"])
        for attachment in message.attachments:
            if attachment.part_id == request.match_info["part"]:
                return web.Response(body=attachment.payload, content_type=attachment.content_type)
        raise web.HTTPNotFound(text="part not found")

    async def _delete(self, request: web.Request) -> web.Response:
        ids: list[str] = []
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = {}
            ids = list(body.get("IDs") or []) if isinstance(body, dict) else []
        if ids:
            wanted = set(ids)
            self._messages[:] = [m for m in self._messages if m.id not in wanted]
        else:
            self._messages.clear()
        return web.Response(text="ok")
