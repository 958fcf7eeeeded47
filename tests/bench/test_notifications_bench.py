"""Benchmarks of notifications (`make bench`): e-mails sent per second, events handled per
second.

E-mail delivery: a backlog of ``EMAILS`` queued e-mails (a rendered activation e-mail each, distinct
addresses) on a throwaway PostgreSQL is drained by the real ``EmailDelivery`` and
``SmtpMailer`` into the devstack's SMTP catcher, run as a process of its own
(``python -m chorus_devstack mail``) so that its parsing of each message does not share this
process's core with the sender. It prints the rate and how many SMTP connections were
opened.

Event consumption: ``INVOICES`` deposits' worth of invoices events (InvoiceSubmitted, then
the routing's EN_COURS_ACHEMINEMENT and MISE_A_DISPOSITION, as the invoices service emits
them) are published before the service starts; the whole service (consumer, e-mail sender
to the catcher process, digest job) then handles them. The rate is taken from the inbox
(first to last event handled), so the consumer group's join is not counted. Each invoice's
depositor is told (feed; e-mail at MISE_A_DISPOSITION) and so are the ``MEMBERS`` members of
the recipient structure (e-mail + feed).

Both assert only that everything arrived (no timing assertions).
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
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from chorus.invoices.events.v1 import invoices_events_pb2 as invoices_events
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus_devstack.ports import free_port
from chorus_notifications.clients.smtp import SmtpMailer
from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain import messages
from chorus_notifications.domain.recipients import Recipient
from chorus_notifications.main import build_app, email_delivery
from chorus_notifications.rendering import render_email
from chorus_notifications.store import emails, members, recipients
from chorus_notifications.usecases.sealing_keys import SealingKeyRing
from chorus_platform import cloudevents, grpc_server
from chorus_platform.db import create_pool
from chorus_platform.key_encryption import ring_from_settings
from chorus_platform.migrations import migrate_database
from chorus_platform.outbox import topic_of
from chorus_platform.testing.tokens import TestSigner
from chorus_platform.topics import ensure_topics
from chorus_platform.unit_of_work import UnitOfWork
from google.protobuf.message import Message

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
        delivery = email_delivery(
            settings, uow, mailer, SealingKeyRing(uow, ring_from_settings(settings))
        )
        start, cpu_start = time.perf_counter(), time.process_time()
        task = asyncio.create_task(delivery.run())
        try:
            while await pool.fetchval("SELECT count(*) FROM emails WHERE status <> 'SENT'"):
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await pool.close()
    received = await asyncio.to_thread(_captured, api_url)
    print(
        f"\nemail delivery: {EMAILS} e-mails in {elapsed:.2f} s = {EMAILS / elapsed:.0f}/s,"
        f" {CountingMailer.connections} SMTP connections, sender CPU {cpu * 1000 / EMAILS:.2f}"
        " ms per e-mail"
    )
    assert received == EMAILS
    assert await _sent(settings.database_dsn) == EMAILS


async def _sent(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM emails WHERE status = 'SENT'")
    finally:
        await conn.close()


INVOICES = 400
MEMBERS = 3
SOURCES = ("identity", "invoices", "structures")


async def test_invoice_events_handled_per_second(make_database, kafka_broker, catcher_process):
    smtp_port, _ = catcher_process
    dsn = await make_database("bench_notif_events")
    settings = NotificationsSettings(
        service_name=f"notifications-bench-{uuid.uuid4().hex[:6]}",
        database_url=dsn,
        database_name=dsn.rsplit("/", 1)[1],
        kafka_bootstrap=kafka_broker.bootstrap,
        grpc_port=0,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
    )
    await migrate_database(settings.database_dsn, "notifications", settings.migrations_path)
    await ensure_topics(settings, [topic_of(source) for source in SOURCES])
    structure_id = str(uuid.uuid4())
    depositors = [_person(i) for i in range(20)]
    pool = await create_pool(settings.database_dsn, max_size=5)
    try:
        async with pool.acquire() as conn, conn.transaction():
            for person in depositors:
                await recipients.upsert(conn, person)
            for i in range(MEMBERS):
                member = _person(100 + i)
                await recipients.upsert(conn, member)
                await members.upsert(
                    conn, structure_id=structure_id, user_id=member.user_id, role="UTILISATEUR"
                )
        events = _invoice_events(depositors, structure_id)
        await _publish(kafka_broker.bootstrap, events)

        running = await grpc_server.start(build_app(settings, pool, TestSigner().verifier()))
        try:
            async with asyncio.timeout(600):
                while not await pool.fetchval("SELECT count(*) FROM inbox"):
                    await asyncio.sleep(0.05)
                cpu_start = time.process_time()
                while await pool.fetchval("SELECT count(*) FROM inbox") < len(events):
                    await asyncio.sleep(0.1)
            cpu = time.process_time() - cpu_start
            span = await pool.fetchval(
                "SELECT extract(epoch FROM max(handled_at) - min(handled_at)) FROM inbox"
            )
            emails_queued = await pool.fetchval("SELECT count(*) FROM emails")
        finally:
            await running.stop()
    finally:
        await pool.close()
    print(
        f"\nnotifications consumer: {len(events)} invoice events in {span:.2f} s ="
        f" {(len(events) - 1) / span:.0f} events/s ({emails_queued} e-mails queued), service"
        f" CPU {cpu * 1000 / len(events):.2f} ms per event (consumer and e-mail sender)"
    )
    assert emails_queued == INVOICES * (1 + MEMBERS)


def _person(i: int) -> Recipient:
    return Recipient(str(uuid.uuid4()), f"bench.{i}.{uuid.uuid4().hex[:6]}@exemple.fr", "Zoé", "T")


def _invoice_events(depositors: list[Recipient], structure_id: str) -> list[tuple[str, Message]]:
    events: list[tuple[str, Message]] = []
    for i in range(INVOICES):
        invoice_id, depositor = str(uuid.uuid4()), depositors[i % len(depositors)].user_id
        events.append(
            (
                invoice_id,
                invoices_events.InvoiceSubmitted(
                    invoice_id=invoice_id,
                    number=f"F-{i}",
                    gross_total="120.00",
                    currency="EUR",
                    submitted_by=depositor,
                ),
            )
        )
        for before, after in (
            (invoices_pb.INVOICE_STATUS_DEPOSEE, invoices_pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT),
            (
                invoices_pb.INVOICE_STATUS_EN_COURS_ACHEMINEMENT,
                invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
            ),
        ):
            events.append(
                (
                    invoice_id,
                    invoices_events.InvoiceStatusChanged(
                        invoice_id=invoice_id,
                        number=f"F-{i}",
                        from_status=before,
                        to_status=after,
                        actor="system",
                        depositor_user_id=depositor,
                        recipient_structure_id=structure_id,
                    ),
                )
            )
    return events


async def _publish(bootstrap: str, events: list[tuple[str, Message]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        sends = []
        for key, message in events:
            headers = cloudevents.to_headers(
                event_id=str(uuid.uuid4()),
                ce_type=message.DESCRIPTOR.full_name,
                source="/chorus/invoices",
                time=datetime.now(UTC),
                traceparent=None,
            )
            sends.append(
                await producer.send(
                    topic_of("invoices"),
                    message.SerializeToString(),
                    key=key.encode(),
                    headers=headers,
                )
            )
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
