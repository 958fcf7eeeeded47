"""Benchmark of notifications' e-mail delivery (`make bench`): e-mails sent per second.

A backlog of ``EMAILS`` queued e-mails (a rendered activation e-mail each, distinct
addresses) on a throwaway PostgreSQL is drained by the real ``EmailDelivery`` and
``SmtpMailer`` into the devstack's SMTP catcher, run as a process of its own
(``python -m chorus_devstack mail``) so that its parsing of each message does not share this
process's core with the sender. It prints the rate and how many SMTP connections were
opened; it asserts only that every e-mail arrived and was recorded SENT (no timing
assertions).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import urllib.request
import uuid

import asyncpg
import pytest
from chorus_devstack.ports import free_port
from chorus_notifications.clients.smtp import SmtpMailer
from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain import messages
from chorus_notifications.main import email_delivery
from chorus_notifications.rendering import render_email
from chorus_notifications.store import emails
from chorus_notifications.usecases.sealing_keys import SealingKeyRing
from chorus_platform.db import create_pool
from chorus_platform.migrations import migrate_database
from chorus_platform.unit_of_work import UnitOfWork

EMAILS = 600


class CountingMailer(SmtpMailer):
    """The real mailer, counting the connections it opens."""

    connections = 0

    async def _connect(self):
        type(self).connections += 1
        return await super()._connect()


@pytest.fixture
async def catcher_process():
    """The SMTP catcher in a process of its own: (smtp port, HTTP API URL)."""
    smtp_port, http_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chorus_devstack",
            "mail",
            "--smtp-port",
            str(smtp_port),
            "--http-port",
            str(http_port),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(20):
            while True:
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
                    writer.close()
                    break
                await asyncio.sleep(0.1)
        yield smtp_port, f"http://127.0.0.1:{http_port}/api/v1"
    finally:
        process.terminate()
        process.wait(10)


def _captured(api_url: str) -> int:
    with urllib.request.urlopen(f"{api_url}/messages?limit=1", timeout=10) as answer:
        return json.load(answer)["total"]


async def test_email_delivery_rate(make_database, kafka_broker, catcher_process):
    smtp_port, api_url = catcher_process
    dsn = await make_database("bench_emails")
    settings = NotificationsSettings(
        database_url=dsn,
        database_name=dsn.rsplit("/", 1)[1],
        kafka_bootstrap=kafka_broker.bootstrap,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        email_poll_seconds=0.2,
    )
    await migrate_database(settings.database_dsn, "notifications", settings.migrations_path)
    content = render_email(
        messages.activation_email(
            first_name="Zoé",
            activation_url="https://p/activation?token=t",
            validity_minutes=60,
            locale="fr",
        )
    )
    run = uuid.uuid4().hex[:8]
    pool = await create_pool(settings.database_dsn, max_size=4)
    try:
        async with pool.acquire() as conn, conn.transaction():
            for i in range(EMAILS):
                await emails.enqueue(
                    conn,
                    event_id=str(uuid.uuid4()),
                    recipient_address=f"bench.{run}.{i}@exemple.fr",
                    user_id=None,
                    content=content,
                )
        uow = UnitOfWork(pool, service=settings.service_name)
        mailer = CountingMailer(settings)
        delivery = email_delivery(settings, uow, mailer, SealingKeyRing(uow))
        start = time.perf_counter()
        task = asyncio.create_task(delivery.run())
        try:
            while await pool.fetchval("SELECT count(*) FROM emails WHERE status <> 'SENT'"):
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await pool.close()
    received = await asyncio.to_thread(_captured, api_url)
    print(
        f"\nemail delivery: {EMAILS} e-mails in {elapsed:.2f} s = {EMAILS / elapsed:.0f}/s,"
        f" {CountingMailer.connections} SMTP connections"
    )
    assert received == EMAILS
    assert await _sent(settings.database_dsn) == EMAILS


async def _sent(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM emails WHERE status = 'SENT'")
    finally:
        await conn.close()
