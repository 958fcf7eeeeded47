"""What the services need around them: PostgreSQL, a Kafka-protocol broker and an SMTP
server, either started here or, in persistent mode, reused when the environment names them.

Ephemeral: a throwaway PostgreSQL in ``/tmp``, a tansu broker and the mail catcher, on ports
chosen by the caller. Persistent: reuse ``$CHORUS_DATABASE_URL`` if set, else PostgreSQL with
its data in ``<state>/pg`` on ``$CHORUS_DEVSTACK_PG_PORT`` (55432); reuse
``$CHORUS_KAFKA_BOOTSTRAP`` if set, else tansu on ``$CHORUS_DEVSTACK_KAFKA_PORT`` (19092);
reuse the SMTP server ``$CHORUS_SMTP_HOST`` / ``$CHORUS_SMTP_PORT`` if the host is set, else
the in-process mail catcher on SMTP ``$CHORUS_SMTP_PORT`` (1025) and HTTP
``$CHORUS_DEVSTACK_MAIL_HTTP_PORT`` (8025). :meth:`Infrastructure.stop` stops only what
:meth:`Infrastructure.start` started, and is safe after a partial start.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path

from chorus_devstack.broker import KafkaBroker
from chorus_devstack.console import Console
from chorus_devstack.mailcatcher import MailCatcher
from chorus_devstack.ports import LOCALHOST
from chorus_devstack.postgres import PostgresServer

DEFAULT_PG_PORT = 55432
DEFAULT_KAFKA_PORT = 19092
DEFAULT_SMTP_PORT = 1025
DEFAULT_MAIL_HTTP_PORT = 8025

PortChooser = Callable[[str, int], int]
"""``port(variable, default)``: the port to use for what ``variable`` would set."""


async def in_thread(function: Callable[[], None]) -> None:
    """Run a blocking start/stop in a thread; if cancelled, let it finish before re-raising
    so that nothing is left half-started behind our back."""
    task = asyncio.ensure_future(asyncio.to_thread(function))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


class Infrastructure:
    """PostgreSQL, the broker and the SMTP server of one stack (see the module docstring).

    After :meth:`start`: :attr:`postgres`, :attr:`broker`, :attr:`mail_catcher` (``None`` for
    an external one) and :attr:`mail_api_url` (``None`` with an external SMTP server).
    """

    def __init__(
        self, *, ephemeral: bool, environ: Mapping[str, str], logs_dir: Path, console: Console
    ) -> None:
        self.ephemeral = ephemeral
        self.environ = environ
        self.logs_dir = logs_dir
        self.console = console
        self.postgres: PostgresServer | None = None
        self.broker: KafkaBroker | None = None
        self.mail_catcher: MailCatcher | None = None
        self.mail_api_url: str | None = None

    async def start(self, port: PortChooser, state_dir: Callable[[], Path]) -> dict[str, str]:
        """Starts (or finds) the three; the variables telling the services where they are
        (``CHORUS_DATABASE_URL``, ``CHORUS_KAFKA_BOOTSTRAP``, ``CHORUS_SMTP_HOST`` and
        ``_PORT``). ``state_dir()`` is where persistent data goes (created on demand)."""
        env = self.environ
        exported: dict[str, str] = {}
        if not self.ephemeral and env.get("CHORUS_DATABASE_URL"):
            exported["CHORUS_DATABASE_URL"] = env["CHORUS_DATABASE_URL"]
        else:
            pg_port = port("CHORUS_DEVSTACK_PG_PORT", DEFAULT_PG_PORT)
            data_dir = None if self.ephemeral else state_dir() / "pg"
            self.postgres = PostgresServer(data_dir, pg_port, ephemeral=self.ephemeral)
            self.console.say(f"starting PostgreSQL on {LOCALHOST}:{pg_port}")
            await in_thread(self.postgres.start)
            exported["CHORUS_DATABASE_URL"] = self.postgres.url

        if not self.ephemeral and env.get("CHORUS_KAFKA_BOOTSTRAP"):
            exported["CHORUS_KAFKA_BOOTSTRAP"] = env["CHORUS_KAFKA_BOOTSTRAP"]
        else:
            broker_port = port("CHORUS_DEVSTACK_KAFKA_PORT", DEFAULT_KAFKA_PORT)
            self.broker = KafkaBroker(broker_port, log_file=self.logs_dir / "broker.log")
            self.console.say(
                f"starting the Kafka-protocol broker (tansu) on {LOCALHOST}:{broker_port}"
            )
            self.broker.start()  # ~50 ms; in this thread so that it dies with this process
            exported["CHORUS_KAFKA_BOOTSTRAP"] = self.broker.bootstrap

        if not self.ephemeral and env.get("CHORUS_SMTP_HOST"):
            exported["CHORUS_SMTP_HOST"] = env["CHORUS_SMTP_HOST"]
            exported["CHORUS_SMTP_PORT"] = env.get("CHORUS_SMTP_PORT") or str(DEFAULT_SMTP_PORT)
        else:
            smtp_port = port("CHORUS_SMTP_PORT", DEFAULT_SMTP_PORT)
            http_port = port("CHORUS_DEVSTACK_MAIL_HTTP_PORT", DEFAULT_MAIL_HTTP_PORT)
            self.mail_catcher = MailCatcher(LOCALHOST, smtp_port, http_port)
            await self.mail_catcher.start()
            self.mail_api_url = self.mail_catcher.api_url
            exported["CHORUS_SMTP_HOST"] = LOCALHOST
            exported["CHORUS_SMTP_PORT"] = str(self.mail_catcher.smtp_port)
        return exported

    async def stop(self) -> None:
        """Stops the mail catcher, the broker and PostgreSQL, those started here only."""
        if self.mail_catcher is not None:
            await self.mail_catcher.stop()
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            await in_thread(self.postgres.stop)
