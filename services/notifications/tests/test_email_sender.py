"""Integration: the e-mail sender against a real database and a real SMTP server that fails."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg
import pytest
from chorus_devstack.mailcatcher import MailCatcher
from chorus_devstack.ports import free_port
from chorus_notifications.clients.smtp import SmtpMailer
from chorus_notifications.domain import messages
from chorus_notifications.main import email_delivery
from chorus_notifications.rendering import render_email
from chorus_notifications.store import emails
from chorus_notifications.usecases.sealing_keys import SealingKeyRing
from chorus_platform.key_encryption import ring_from_settings
from chorus_platform.unit_of_work import UnitOfWork
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .conftest import start, unique_email, wait_until


@pytest.fixture
async def pool(settings):
    pool = await asyncpg.create_pool(settings.database_dsn, min_size=1, max_size=3)
    yield pool
    await pool.close()


@contextlib.asynccontextmanager
async def sender_running(pool, settings):
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


async def queue_activation(pool, address: str, *, event_id: str | None = None) -> str | None:
    content = render_email(
        messages.activation_email(
            first_name="Zoé",
            activation_url="https://p/activation?token=t",
            validity_minutes=60,
            locale="fr",
        )
    )
    async with pool.acquire() as conn, conn.transaction():
        return await emails.enqueue(
            conn,
            event_id=event_id or str(uuid.uuid4()),
            recipient_address=address,
            user_id=None,
            content=content,
        )


async def test_one_email_per_event_and_recipient(pool):
    event_id = str(uuid.uuid4())
    first = await queue_activation(pool, "a@exemple.fr", event_id=event_id)
    again = await queue_activation(pool, "a@exemple.fr", event_id=event_id)
    other = await queue_activation(pool, "b@exemple.fr", event_id=event_id)

    assert first is not None and other is not None
    assert again is None
    assert await pool.fetchval("SELECT count(*) FROM emails") == 2


async def test_a_queued_email_wakes_the_sender_without_waiting_for_the_poll(
    pool, settings, mail_catcher
):
    settings = settings.model_copy(update={"email_poll_seconds": 60.0})
    address = unique_email()
    async with sender_running(pool, settings):
        await asyncio.sleep(0.3)  # let it drain the (empty) outbox and start waiting
        await queue_activation(pool, address)
        message = await mail_catcher.wait_for(lambda m: address in m.envelope_to, 5)

    assert message.subject == "Activez votre compte Chorus"
    assert message.html and message.text


async def test_email_waits_while_smtp_is_down_and_arrives_when_it_is_back(pool, settings):
    smtp_port = free_port()
    settings = settings.model_copy(update={"smtp_port": smtp_port})
    address = unique_email()
    email_id = await queue_activation(pool, address)

    async with sender_running(pool, settings):
        errors = await wait_until(
            lambda: pool.fetchval(
                "SELECT array_agg(error) FROM email_attempts"
                " WHERE email_id = $1 AND NOT ok HAVING count(*) >= 2",
                email_id,
            )
        )
        assert all("SMTPConnect" in error for error in errors)
        assert await pool.fetchval("SELECT status FROM emails WHERE id = $1", email_id) == (
            "PENDING"
        )

        async with MailCatcher("127.0.0.1", smtp_port, free_port()) as catcher:
            message = await catcher.wait_for(lambda m: address in m.envelope_to, 10)
            row = await wait_until(
                lambda: pool.fetchrow(
                    "SELECT attempts, sent_at, last_error FROM emails"
                    " WHERE id = $1 AND status = 'SENT'",
                    email_id,
                )
            )

    assert message.subject == "Activez votre compte Chorus"
    assert len(catcher.messages) == 1
    attempts = await pool.fetch(
        "SELECT ok FROM email_attempts WHERE email_id = $1 ORDER BY at", email_id
    )
    assert [a["ok"] for a in attempts] == [False] * (len(attempts) - 1) + [True]
    assert row["attempts"] == len(attempts) >= 3
    assert row["last_error"] is None and row["sent_at"] is not None


async def test_email_is_marked_failed_after_the_last_attempt(pool, settings):
    settings = settings.model_copy(update={"smtp_port": free_port(), "email_max_attempts": 3})
    email_id = await queue_activation(pool, unique_email())

    async with sender_running(pool, settings):
        row = await wait_until(
            lambda: pool.fetchrow(
                "SELECT attempts, last_error FROM emails WHERE id = $1 AND status = 'FAILED'",
                email_id,
            )
        )
        await asyncio.sleep(0.3)  # nothing more happens to a FAILED e-mail

    assert row["attempts"] == 3
    assert "SMTPConnect" in row["last_error"]
    assert (
        await pool.fetchval("SELECT count(*) FROM email_attempts WHERE email_id = $1", email_id)
        == 3
    )


async def test_the_service_is_ready_while_smtp_is_down(settings, signer):
    # A consumer group of its own, so as not to disturb the shared service's consumer.
    settings = settings.model_copy(
        update={"smtp_port": free_port(), "service_name": f"notifications-{uuid.uuid4().hex[:6]}"}
    )
    service = await start(settings, signer)
    try:
        health = health_pb2_grpc.HealthStub(service.channel)

        async def serving():
            response = await health.Check(health_pb2.HealthCheckRequest())
            return response.status == health_pb2.HealthCheckResponse.SERVING

        assert await wait_until(serving, timeout=10)
    finally:
        await service.stop()


async def test_an_address_the_message_cannot_carry_fails_at_once(pool, settings, mail_catcher):
    settings = settings.model_copy(update={"email_max_attempts": 5})
    # Accounts made before identity refused them may still hold such an address.
    email_id = await queue_activation(pool, "solène.martin@exemple.fr")

    async with sender_running(pool, settings):
        row = await wait_until(
            lambda: pool.fetchrow(
                "SELECT attempts, last_error FROM emails WHERE id = $1 AND status = 'FAILED'",
                email_id,
            )
        )

    assert row["attempts"] == 1  # no retry: it would fail the same way
    assert "NonASCIILocalPart" in row["last_error"]


async def test_the_pending_gauge_counts_queued_emails_until_they_are_sent(
    pool, settings, mail_catcher
):
    uow = UnitOfWork(pool, service=settings.service_name)
    delivery = email_delivery(
        settings, uow, SmtpMailer(settings), SealingKeyRing(uow, ring_from_settings(settings))
    )
    before = await delivery.measure_pending()
    addresses = [unique_email() for _ in range(2)]
    for address in addresses:
        await queue_activation(pool, address)

    assert await delivery.measure_pending() == before + 2
    async with sender_running(pool, settings):
        for address in addresses:
            await mail_catcher.wait_for(lambda m, a=address: a in m.envelope_to, 30)
        # Recorded as sent right after the SMTP acceptance: wait for the record.
        await wait_until(lambda: _at_most(delivery, before))


async def _at_most(delivery, count: int) -> bool:
    return await delivery.measure_pending() <= count
