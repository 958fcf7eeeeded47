"""pytest fixtures for tests that need real infrastructure (auto-loaded via ``pytest11``).

All servers are started lazily, on first use, once per test session, and stopped at its end:

* ``postgres_server`` — an ephemeral :class:`~chorus_devstack.postgres.PostgresServer` on a free
  port (durability off, data in ``/tmp``, deleted afterwards).
* ``make_database`` — function-scoped; an async callable ``await make_database("invoices")``
  that CREATEs a fresh, uniquely named database on ``postgres_server`` and returns its DSN.
  Databases are not dropped: the server is thrown away with the session.
* ``kafka_broker`` — a :class:`~chorus_devstack.broker.KafkaBroker` (tansu, in memory) on a
  free port, with every declared topic; a test may ``stop()`` or ``kill()`` and ``start()`` it
  to simulate a crash (it comes back empty), or ``pause()``/``resume()`` it.
* ``mail_catcher`` — a started :class:`~chorus_devstack.mailcatcher.MailCatcher` on free ports,
  running in the session event loop (pytest-asyncio, ``loop_scope="session"``). Tests sharing
  it should filter by recipient or call ``mail_catcher.clear()`` first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from chorus_devstack.ports import free_port

# The servers' modules (aiohttp, aiosmtpd, asyncpg) load only when a fixture is used: this
# plugin is active in every test session of the workspace.
if TYPE_CHECKING:
    from chorus_devstack.broker import KafkaBroker
    from chorus_devstack.mailcatcher import MailCatcher
    from chorus_devstack.postgres import PostgresServer

MakeDatabase = Callable[[str], Awaitable[str]]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Throwaway PostgreSQL for the session (``.url``, ``.url_for(db)``)."""
    from chorus_devstack.postgres import PostgresServer

    server = PostgresServer(None, free_port(), ephemeral=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_database(postgres_server: PostgresServer) -> MakeDatabase:
    """``await make_database("prefix")`` → DSN of a new empty database."""

    import asyncpg

    async def create(name_prefix: str = "test") -> str:
        prefix = re.sub(r"[^a-z0-9_]+", "_", name_prefix.lower()).strip("_") or "test"
        name = f"{prefix[:40]}_{uuid.uuid4().hex[:12]}"
        connection = await asyncpg.connect(postgres_server.url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return postgres_server.url_for(name)

    return create


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """tansu broker for the session (``.bootstrap``, ``.stop()``, ``.start()``)."""
    from chorus_devstack.broker import KafkaBroker

    broker = KafkaBroker(free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mail_catcher() -> AsyncIterator[MailCatcher]:
    """Started MailCatcher (``.smtp_port``, ``.api_url``, ``.messages``, ``.wait_for``)."""
    from chorus_devstack.mailcatcher import MailCatcher

    catcher = MailCatcher("127.0.0.1", 0, 0)
    await catcher.start()
    try:
        yield catcher
    finally:
        await catcher.stop()
