"""An e-mail is sent once: its SMTP acceptance survives PostgreSQL going away before the
record, and the one case that sends it again (its sender gone between acceptance and record)
sends it with the same Message-ID. Real PostgreSQL (stopped and started again), real SMTP."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from chorus_devstack.ports import free_port
from chorus_devstack.postgres import PostgresServer, ephemeral_root
from chorus_notifications.clients.smtp import SmtpMailer, message_id_domain
from chorus_notifications.domain.delivery import OutgoingEmail, message_id_for
from chorus_notifications.main import email_delivery
from chorus_notifications.store import emails
from chorus_notifications.usecases.sealing_keys import SealingKeyRing
from chorus_platform.db import create_pool
from chorus_platform.key_encryption import ring_from_settings
from chorus_platform.unit_of_work import UnitOfWork

from .conftest import migrated_settings, unique_email
from .test_email_sender import queue_activation

DOMAIN = "chorus.localhost"


async def eventually(probe, timeout: float = 30.0):
    """Polls ``probe`` (which may fail while the database is down) until truthy."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            result = await probe()
            if result:
                return result
        assert time.monotonic() < deadline, f"not within {timeout} s"
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def delivering(settings, pool, mailer):
    uow = UnitOfWork(pool, service=settings.service_name)
    delivery = email_delivery(
        settings, uow, mailer, SealingKeyRing(uow, ring_from_settings(settings))
    )
    task = asyncio.create_task(delivery.run())
    try:
        yield delivery
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def own_postgres():
    """A PostgreSQL server of this test's own, with its data kept across stop and start."""
    root = Path(tempfile.mkdtemp(prefix="chorus-email-once-", dir=ephemeral_root()))
    root.chmod(0o711)  # the postgres system user must reach the data directory inside
    server = PostgresServer(root / "data", free_port(), ephemeral=False)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(root, ignore_errors=True)


class StopsPostgresOnceAccepted(SmtpMailer):
    """The real mailer; once the SMTP server has accepted the first message, PostgreSQL is
    stopped (before the sender can record it) and started again ``down_seconds`` later."""

    def __init__(self, settings, server: PostgresServer, down_seconds: float) -> None:
        super().__init__(settings)
        self._server = server
        self._down_seconds = down_seconds
        self.stopped_after_acceptance = asyncio.Event()
        self.restarted = asyncio.Event()
        self._restart: asyncio.Task | None = None

    async def send(self, email: OutgoingEmail) -> None:
        await super().send(email)  # accepted: the catcher has it
        if not self.stopped_after_acceptance.is_set():
            await asyncio.to_thread(self._server.stop)
            self.stopped_after_acceptance.set()
            self._restart = asyncio.create_task(self._start_again())

    async def _start_again(self) -> None:
        await asyncio.sleep(self._down_seconds)
        await asyncio.to_thread(self._server.start)
        self.restarted.set()


async def test_an_email_accepted_while_postgres_is_down_is_recorded_and_never_sent_again(
    own_postgres, kafka_broker, mail_catcher, caplog
):
    admin = await asyncpg.connect(own_postgres.url)
    try:
        await admin.execute('CREATE DATABASE "notifications_once"')
    finally:
        await admin.close()
    settings = await migrated_settings(
        own_postgres.url_for("notifications_once"),
        kafka_broker.bootstrap,
        smtp_port=mail_catcher.smtp_port,
    )
    pool = await create_pool(settings.database_dsn, max_size=3)
    address = unique_email("once")
    email_id = await queue_activation(pool, address)
    mailer = StopsPostgresOnceAccepted(settings, own_postgres, down_seconds=3.0)
    caplog.set_level("INFO", logger="chorus_notifications.usecases.email_delivery")
    try:
        async with delivering(settings, pool, mailer):
            await asyncio.wait_for(mailer.stopped_after_acceptance.wait(), 20)
            await asyncio.wait_for(mailer.restarted.wait(), 20)
            row = await eventually(
                lambda: pool.fetchrow(
                    "SELECT attempts, message_id FROM emails WHERE id = $1 AND status = 'SENT'",
                    email_id,
                )
            )
            await asyncio.sleep(1.0)  # a few more rounds of the sender: nothing is resent
            attempts = await pool.fetch(
                "SELECT ok FROM email_attempts WHERE email_id = $1 ORDER BY at", email_id
            )
    finally:
        await pool.close()

    received = [m for m in mail_catcher.messages if address in m.envelope_to]
    assert len(received) == 1
    assert f"<{received[0].message_id}>" == row["message_id"] == message_id_for(email_id, DOMAIN)
    assert row["attempts"] == 1
    assert [a["ok"] for a in attempts] == [True]
    retried = [r for r in caplog.records if r.getMessage().startswith("email outcome not recorded")]
    assert retried, "the record was to fail while PostgreSQL was down"
    assert all(getattr(r, "email_id", None) == email_id for r in retried)


async def test_an_email_whose_sender_died_after_smtp_is_sent_again_with_the_same_message_id(
    settings, mail_catcher
):
    settings = settings.model_copy(update={"email_takeover_seconds": 0.3})
    pool = await create_pool(settings.database_dsn, max_size=4)
    try:
        orphan_address, held_address = unique_email("orphan"), unique_email("held")
        orphan_id = await queue_activation(pool, orphan_address)
        # A sender that claimed the e-mail, had it accepted, and died before the record.
        dead_sender = str(uuid.uuid4())
        async with pool.acquire() as conn, conn.transaction():
            claimed = await emails.claim_next_due(conn, dead_sender, DOMAIN)
        assert claimed is not None and claimed.id == orphan_id
        await SmtpMailer(settings).send(claimed)
        # A live sender (its presence lock held) with an e-mail it is still working on.
        held_id = await queue_activation(pool, held_address)
        live_sender = str(uuid.uuid4())
        presence = await asyncpg.connect(settings.database_dsn)
        await presence.execute(
            "SELECT pg_advisory_lock($1, $2)", emails.SENDERS, emails._sender_key(live_sender)
        )
        async with pool.acquire() as conn, conn.transaction():
            assert (await emails.claim_next_due(conn, live_sender, DOMAIN)).id == held_id

        async with delivering(settings, pool, SmtpMailer(settings)):
            row = await eventually(
                lambda: pool.fetchrow(
                    "SELECT attempts, message_id FROM emails WHERE id = $1 AND status = 'SENT'",
                    orphan_id,
                )
            )
            await asyncio.sleep(0.8)  # several takeover rounds
            held = await pool.fetchrow(
                "SELECT status, claimed_by FROM emails WHERE id = $1", held_id
            )
            assert (held["status"], str(held["claimed_by"])) == ("SENDING", live_sender)
            await presence.close()  # the live sender dies too, before sending it
            await eventually(
                lambda: pool.fetchval(
                    "SELECT 1 FROM emails WHERE id = $1 AND status = 'SENT'", held_id
                )
            )
        orphan_attempts = await pool.fetch(
            "SELECT ok, error FROM email_attempts WHERE email_id = $1 ORDER BY at", orphan_id
        )
    finally:
        await pool.close()

    copies = [m for m in mail_catcher.messages if orphan_address in m.envelope_to]
    assert len(copies) == 2  # the one case of a second send: the outcome was unknown
    assert {f"<{m.message_id}>" for m in copies} == {row["message_id"]}
    assert row["message_id"] == message_id_for(orphan_id, DOMAIN)
    assert [a["ok"] for a in orphan_attempts] == [None, True]
    assert "outcome unknown" in orphan_attempts[0]["error"]
    assert row["attempts"] == 2
    assert len([m for m in mail_catcher.messages if held_address in m.envelope_to]) == 1


async def test_the_message_id_is_fixed_at_the_first_claim_and_kept_on_every_attempt(settings):
    pool = await create_pool(settings.database_dsn, max_size=2)
    try:
        email_id = await queue_activation(pool, unique_email())
        sender = str(uuid.uuid4())
        async with pool.acquire() as conn, conn.transaction():
            first = await emails.claim_next_due(conn, sender, "first.example")
        async with pool.acquire() as conn, conn.transaction():
            await emails.record_failure(
                conn, email_id, sender, error="SMTPConnectError", retry_in_seconds=0
            )
        async with pool.acquire() as conn, conn.transaction():
            again = await emails.claim_next_due(conn, sender, "other.example")  # From changed
    finally:
        await pool.close()

    assert first.message_id == again.message_id == f"<{email_id}@first.example>"
    composed = SmtpMailer(settings).compose(again)
    assert composed["Message-ID"] == first.message_id


async def test_recording_twice_changes_nothing(settings):
    # A retried record whose first commit did go through (its answer was lost).
    pool = await create_pool(settings.database_dsn, max_size=2)
    try:
        email_id = await queue_activation(pool, unique_email())
        async with pool.acquire() as conn, conn.transaction():
            await emails.claim_next_due(conn, str(uuid.uuid4()), DOMAIN)
        async with pool.acquire() as conn:
            assert await emails.record_sent(conn, email_id) is True
            assert await emails.record_sent(conn, email_id) is False
        row = await pool.fetchrow("SELECT status, attempts FROM emails WHERE id = $1", email_id)
        attempts = await pool.fetchval(
            "SELECT count(*) FROM email_attempts WHERE email_id = $1", email_id
        )
    finally:
        await pool.close()
    assert (row["status"], row["attempts"], attempts) == ("SENT", 1, 1)


async def test_a_claim_whose_commit_was_lost_is_released_when_the_sender_reconnects(
    settings, mail_catcher
):
    pool = await create_pool(settings.database_dsn, max_size=3)
    try:
        address = unique_email("lost-claim")
        email_id = await queue_activation(pool, address)
        uow = UnitOfWork(pool, service=settings.service_name)
        delivery = email_delivery(
            settings, uow, SmtpMailer(settings), SealingKeyRing(uow, ring_from_settings(settings))
        )
        # The claim committed, but this sender never learnt it (never handed to SMTP).
        async with pool.acquire() as conn, conn.transaction():
            await emails.claim_next_due(conn, delivery.sender_id, DOMAIN)
        task = asyncio.create_task(delivery.run())
        try:
            await eventually(
                lambda: pool.fetchval(
                    "SELECT 1 FROM emails WHERE id = $1 AND status = 'SENT'", email_id
                ),
                timeout=10,
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        attempts = await pool.fetch("SELECT ok FROM email_attempts WHERE email_id = $1", email_id)
    finally:
        await pool.close()
    assert [a["ok"] for a in attempts] == [True]  # not counted as an attempt of unknown outcome
    assert len([m for m in mail_catcher.messages if address in m.envelope_to]) == 1


def test_the_message_id_domain_is_the_from_address_domain():
    assert message_id_domain("Chorus <no-reply@chorus.gouv.fr>") == "chorus.gouv.fr"
    assert message_id_domain("sans-domaine") == "chorus.localhost"
