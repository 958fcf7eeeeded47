"""Fixtures: the notifications service on a real database, broker and SMTP catcher.

Joining a consumer group costs seconds on the embedded broker, so the tests of the event flow
and of the gRPC API share one running service (``service``) for the session; they pick unique
ids and addresses and filter on them. Tests that need other settings (the e-mail sender with
SMTP down) get their own database through ``settings``.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import grpc
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_notifications.config import NotificationsSettings
from chorus_notifications.main import build_app
from chorus_platform import cloudevents, grpc_server
from chorus_platform.db import create_pool
from chorus_platform.migrations import migrate_database
from chorus_platform.outbox import topic_of
from chorus_platform.testing.tokens import TestSigner
from chorus_platform.topics import ensure_topics
from google.protobuf.message import Message

PORTAL = "https://portail.chorus.test"
SOURCES = ("identity", "invoices", "structures")


async def wait_until(predicate: Callable[[], Awaitable[object]], timeout: float = 20.0):
    """Polls ``predicate`` until it returns something truthy; returns that."""
    async with asyncio.timeout(timeout):
        while True:
            result = await predicate()
            if result:
                return result
            await asyncio.sleep(0.05)


def unique_email(name: str = "user") -> str:
    return f"{name}.{uuid.uuid4().hex[:10]}@exemple.fr"


# Words and marks only French wording uses; links are left out (paths such as /factures/ are
# the same in every language).
FRENCH_MARKERS = (
    "bonjour",
    "cordialement",
    "équipe",
    "facture",
    "structure",
    "rattach",
    "gestionnaire",
    "vous",
    "votre",
    "demande",
    "«",
    "»",
)
_LINKS = re.compile(r"https?://\S+|href=\"[^\"]*\"")


def assert_english(*parts: str) -> None:
    """Fails when a rendered text (subject, title, body, HTML) still reads French."""
    for part in parts:
        text = _LINKS.sub("", part).lower()
        found = [marker for marker in FRENCH_MARKERS if marker in text]
        assert not found, f"French words {found} in English text: {part!r}"


async def migrated_settings(dsn: str, kafka_bootstrap: str, **overrides) -> NotificationsSettings:
    settings = NotificationsSettings(
        **{
            "database_url": dsn,
            "database_name": dsn.rsplit("/", 1)[1],
            "kafka_bootstrap": kafka_bootstrap,
            "grpc_port": 0,
            "portal_url": PORTAL,
            "smtp_host": "127.0.0.1",
            "smtp_timeout_seconds": 2.0,
            "email_backoff_seconds": 0.05,
            "email_poll_seconds": 0.2,
            "consumer_max_attempts": 2,
            "consumer_backoff_seconds": 0.02,
            **overrides,
        }
    )
    await migrate_database(settings.database_dsn, "notifications", settings.migrations_path)
    return settings


@dataclass
class Service:
    stub: pb_grpc.NotificationsServiceStub
    channel: grpc.aio.Channel
    running: grpc_server.RunningServer
    pool: asyncpg.Pool
    settings: NotificationsSettings

    async def stop(self) -> None:
        await self.channel.close()
        await self.running.stop()
        await self.pool.close()


async def start(settings: NotificationsSettings, signer: TestSigner) -> Service:
    """The service on a free port; tokens are checked against the test signer's key."""
    pool = await create_pool(settings.database_dsn, max_size=5)
    app = build_app(settings, pool, signer.verifier())
    app.grace_seconds = 0.2
    app.check_interval_seconds = 0.2
    running = await grpc_server.start(app)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    return Service(pb_grpc.NotificationsServiceStub(channel), channel, running, pool, settings)


@pytest.fixture(scope="session")
def signer() -> TestSigner:
    return TestSigner()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def service(postgres_server, kafka_broker, mail_catcher, signer) -> Service:
    """The shared running service, sending to the session's mail catcher."""
    name = f"notifications_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres_server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    settings = await migrated_settings(
        postgres_server.url_for(name), kafka_broker.bootstrap, smtp_port=mail_catcher.smtp_port
    )
    await ensure_topics(settings, [topic_of(source) for source in SOURCES])
    running = await start(settings, signer)
    yield running
    await running.stop()


@pytest.fixture
async def db(service):
    """A direct connection to the shared service's database, for arranging and asserting."""
    conn = await asyncpg.connect(service.settings.database_dsn)
    yield conn
    await conn.close()


@pytest.fixture
async def settings(make_database, kafka_broker, mail_catcher) -> NotificationsSettings:
    """Settings on a fresh database of its own (for tests that do not share the service)."""
    dsn = await make_database("notifications")
    return await migrated_settings(dsn, kafka_broker.bootstrap, smtp_port=mail_catcher.smtp_port)


class EventProducer:
    """Produces events the way the outbox relay does: key, protobuf value, ce_* headers."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def publish(
        self, service: str, key: str, message: Message, *, event_id: str | None = None
    ) -> str:
        event_id = event_id or str(uuid.uuid4())
        headers = cloudevents.to_headers(
            event_id=event_id,
            ce_type=message.DESCRIPTOR.full_name,
            source=f"/chorus/{service}",
            time=datetime.now(UTC),
            traceparent=None,
        )
        await self._producer.send_and_wait(
            topic_of(service), message.SerializeToString(), key=key.encode(), headers=headers
        )
        return event_id


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def events(kafka_broker):
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker.bootstrap, acks="all")
    await producer.start()
    try:
        yield EventProducer(producer)
    finally:
        await producer.stop()
