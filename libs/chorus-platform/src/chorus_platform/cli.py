"""The command line every service shares: ``chorus-<svc> serve | migrate | <extra>``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TypeVar

from chorus_platform.logging import configure_logging
from chorus_platform.migrations import migrate_database
from chorus_platform.settings import ChorusSettings
from chorus_platform.telemetry import setup_telemetry

Command = Callable[[ChorusSettings], Awaitable[None]]
T = TypeVar("T")


def run_cli(
    settings: ChorusSettings,
    *,
    serve: Command,
    migrations_dir: Path | None,
    extra: dict[str, tuple[str, Command]] | None = None,
    argv: list[str] | None = None,
) -> None:
    """Parses the command line and runs one command on a fresh event loop (uvloop unless
    ``CHORUS_EVENT_LOOP=asyncio``: :func:`run_on_event_loop`).

    ``extra`` maps further command names to ``(help, coroutine function)``.
    """
    parser = argparse.ArgumentParser(prog=f"chorus-{settings.service_name}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the service until SIGTERM")
    handlers: dict[str, Command] = {"serve": serve}
    if migrations_dir is not None:
        commands.add_parser("migrate", help="create the database and apply migrations")

        async def migrate(s: ChorusSettings) -> None:
            applied = await migrate_database(s.database_dsn, s.service_name, migrations_dir)
            logging.getLogger("chorus.migrate").info(
                "migrations up to date", extra={"applied": applied}
            )

        handlers["migrate"] = migrate
    for name, (help_text, command) in (extra or {}).items():
        commands.add_parser(name, help=help_text)
        handlers[name] = command
    args = parser.parse_args(argv)
    configure_logging(settings.service_name, settings.log_level)
    if args.command == "serve":
        setup_telemetry(settings.service_name)
    run_on_event_loop(handlers[args.command](settings), settings.event_loop)


def run_on_event_loop(main: Coroutine[object, object, T], event_loop: str) -> T:
    """Runs ``main`` to completion on a new loop of the kind ``event_loop`` names: ``uvloop``
    (libuv: cheaper sockets and timers for gRPC, asyncpg, Kafka and HTTP) or ``asyncio``."""
    factory = None
    if event_loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
