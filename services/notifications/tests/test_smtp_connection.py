"""One SMTP connection carries many e-mails: reused across a batch, checked after idling,
closed when idle, and a server dropping it mid-batch loses nothing and marks nothing sent
that it did not accept. A real SMTP server (aiosmtpd) that counts its connections."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg
import pytest
from aiosmtpd.smtp import SMTP
from chorus_devstack.ports import free_port
from chorus_notifications.clients.smtp import SmtpMailer
from chorus_notifications.domain.delivery import OutgoingEmail
from chorus_notifications.main import email_delivery
from chorus_notifications.usecases.sealing_keys import SealingKeyRing
from chorus_platform.key_encryption import ring_from_settings
from chorus_platform.unit_of_work import UnitOfWork

from .conftest import unique_email, wait_until
from .test_email_sender import queue_activation


class CountingServer:
    """An SMTP server keeping what it accepts and counting connections and QUITs. With
    ``drop_at`` = n, it closes the connection instead of answering the n-th message's data
    (that message is not kept); with ``hang_up_after_each``, it closes the connection after
    answering each message (a server timing idle clients out)."""

    def __init__(self, *, drop_at: int | None = None, hang_up_after_each: bool = False) -> None:
        self.port = free_port()
        self.connections = 0
        self.quits = 0
        self.received: list[str] = []
        self._data_count = 0
        self._drop_at = drop_at
        self._hang_up_after_each = hang_up_after_each
        self._server: asyncio.Server | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        self._data_count += 1
        if self._data_count == self._drop_at:
            server.transport.close()
            return "421 gone"  # never reaches the client: the connection is closed
        self.received.extend(envelope.rcpt_tos)
        if self._hang_up_after_each:
            asyncio.get_running_loop().call_later(0.05, server.transport.close)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope) -> str:
        self.quits += 1
        return "221 Bye"

    async def __aenter__(self) -> CountingServer:
        outer = self

        class Counting(SMTP):
            def connection_made(self, transport) -> None:
                outer.connections += 1
                super().connection_made(transport)

        self._server = await asyncio.get_running_loop().create_server(
            lambda: Counting(self, enable_SMTPUTF8=True), "127.0.0.1", self.port
        )
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()


@pytest.fixture
async def pool(settings):
    pool = await asyncpg.create_pool(settings.database_dsn, min_size=1, max_size=3)
    yield pool
    await pool.close()


@contextlib.asynccontextmanager
async def delivering(pool, settings):
    uow = UnitOfWork(pool, service=settings.service_name)
    delivery = email_delivery(
        settings, uow, SmtpMailer(settings), SealingKeyRing(uow, ring_from_settings(settings))
    )
    task = asyncio.create_task(delivery.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _all_sent(pool, ids: list[str]) -> bool:
    sent = await pool.fetchval(
        "SELECT count(*) FROM emails WHERE id = ANY($1::uuid[]) AND status = 'SENT'", ids
    )
    return sent == len(ids)


def _email(address: str) -> OutgoingEmail:
    return OutgoingEmail(
        id=str(uuid.uuid4()),
        kind="ACCOUNT_ACTIVATION",
        recipient_address=address,
        subject="Objet",
        text_body="Bonjour\n",
        html_body="<p>Bonjour</p>",
        attempts=0,
    )


async def test_a_batch_of_emails_goes_over_one_connection(pool, settings):
    async with CountingServer() as server:
        settings = settings.model_copy(update={"smtp_port": server.port})
        addresses = [unique_email(f"batch{i}") for i in range(6)]
        ids = [await queue_activation(pool, address) for address in addresses]
        async with delivering(pool, settings):
            await wait_until(lambda: _all_sent(pool, ids))

    assert sorted(server.received) == sorted(addresses)
    assert server.connections == 1


async def test_a_connection_dropped_mid_batch_loses_nothing_and_marks_nothing_sent_wrongly(
    pool, settings
):
    async with CountingServer(drop_at=3) as server:
        settings = settings.model_copy(update={"smtp_port": server.port, "email_batch_size": 10})
        addresses = [unique_email(f"drop{i}") for i in range(5)]
        ids = [await queue_activation(pool, address) for address in addresses]
        async with delivering(pool, settings):
            await wait_until(lambda: _all_sent(pool, ids))
        attempts = {
            email_id: [
                row["ok"]
                for row in await pool.fetch(
                    "SELECT ok FROM email_attempts WHERE email_id = $1 ORDER BY at, id", email_id
                )
            ]
            for email_id in ids
        }

    assert sorted(server.received) == sorted(addresses)  # each one exactly once
    dropped = ids[2]
    assert attempts[dropped] == [False, True]  # not accepted: a failure, then sent again
    assert all(attempts[email_id] == [True] for email_id in ids if email_id != dropped)
    assert server.connections == 2  # the e-mails after the drop went over a new connection


async def test_a_connection_closed_by_the_server_while_idle_is_reopened_without_a_failure(
    settings,
):
    async with CountingServer(hang_up_after_each=True) as server:
        settings = settings.model_copy(
            update={"smtp_port": server.port, "smtp_noop_after_seconds": 0.1}
        )
        mailer = SmtpMailer(settings)
        first, second = unique_email("idle1"), unique_email("idle2")
        await mailer.send(_email(first))
        await asyncio.sleep(0.3)  # the server hangs up meanwhile
        await mailer.send(_email(second))  # NOOP fails: a new connection, no error
        await mailer.close()

    assert server.received == [first, second]
    assert server.connections == 2


async def test_an_idle_connection_is_closed_with_quit_and_reopened_for_the_next_email(settings):
    async with CountingServer() as server:
        settings = settings.model_copy(
            update={"smtp_port": server.port, "smtp_idle_close_seconds": 0.2}
        )
        mailer = SmtpMailer(settings)
        await mailer.send(_email(unique_email("a")))
        await mailer.send(_email(unique_email("b")))
        await wait_until(lambda: asyncio.sleep(0, server.quits == 1), timeout=5)
        await mailer.send(_email(unique_email("c")))
        await mailer.close()

    assert len(server.received) == 3
    assert (server.connections, server.quits) == (2, 2)


async def test_a_message_reads_back_exactly_as_written(settings, mail_catcher):
    sender = "Chorus Pro — Élysée <no-reply@chorus.gouv.fr>"
    settings = settings.model_copy(
        update={"smtp_port": mail_catcher.smtp_port, "mail_from": sender}
    )
    address = unique_email("relecture")
    subject = "Facture F-2026-0042 : « mise à disposition du destinataire » " + "é" * 80
    outgoing = OutgoingEmail(
        id=str(uuid.uuid4()),
        kind="INVOICE_STATUS_CHANGED",
        recipient_address=address,
        subject=subject,
        text_body="Bonjour Zoé,\n\nVotre facture n° 42 est « rejetée » — 1 234,50 €.\n",
        html_body="<p>Bonjour Zoé,</p>\n<p>" + "Facture « rejetée » " * 100 + "</p>\n",
        attempts=0,
        message_id="<fixe@chorus.gouv.fr>",
    )
    mailer = SmtpMailer(settings)
    await mailer.send(outgoing)
    await mailer.close()

    message = await mail_catcher.wait_for(lambda m: address in m.envelope_to, 5)
    assert message.subject == subject
    assert message.text.replace("\r\n", "\n") == outgoing.text_body
    assert message.html.replace("\r\n", "\n") == outgoing.html_body
    assert message.message_id == "fixe@chorus.gouv.fr"
    assert message.addresses("From") == [
        {"Address": "no-reply@chorus.gouv.fr", "Name": "Chorus Pro — Élysée"}
    ]
    assert message.addresses("To") == [{"Address": address, "Name": ""}]


class HangsOnSecond(SmtpMailer):
    """The real mailer, except that the second e-mail never completes (a stuck server)."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.sent = 0
        self.stuck = asyncio.Event()

    async def send(self, email: OutgoingEmail) -> None:
        if self.sent == 1:
            self.stuck.set()
            await asyncio.Event().wait()
        await super().send(email)
        self.sent += 1


async def test_a_sender_stopping_mid_batch_gives_back_the_claims_it_never_sent(pool, settings):
    async with CountingServer() as server:
        settings = settings.model_copy(update={"smtp_port": server.port, "email_batch_size": 10})
        ids = [await queue_activation(pool, unique_email(f"stop{i}")) for i in range(5)]
        uow = UnitOfWork(pool, service=settings.service_name)
        mailer = HangsOnSecond(settings)
        delivery = email_delivery(
            settings, uow, mailer, SealingKeyRing(uow, ring_from_settings(settings))
        )
        task = asyncio.create_task(delivery.run())
        await asyncio.wait_for(mailer.stuck.wait(), 10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        rows = {
            str(row["id"]): (row["status"], row["attempts"], row["claimed_by"])
            for row in await pool.fetch(
                "SELECT id, status, attempts, claimed_by FROM emails WHERE id = ANY($1::uuid[])",
                ids,
            )
        }

    assert rows[ids[0]] == ("SENT", 1, None)
    status, attempts, claimed_by = rows[ids[1]]  # in flight: its outcome is unknown
    assert (status, attempts, str(claimed_by)) == ("SENDING", 0, delivery.sender_id)
    assert [rows[i] for i in ids[2:]] == [("PENDING", 0, None)] * 3
    assert server.quits == 1  # the connection was closed on the way out
