"""Command line: ``python -m chorus_devstack {run,infra,mail}`` (also ``chorus-devstack``).

* ``run``: the whole stack with persistent settings (what ``make run`` calls); see
  :mod:`chorus_devstack.supervisor`. Exits 0 after Ctrl-C/SIGTERM, 1 if something fails.
* ``infra [--ephemeral]``: only PostgreSQL, the broker and the mail catcher; prints the
  ``export`` lines for running one service by hand, then waits for Ctrl-C.
* ``mail [--host H] [--smtp-port P] [--http-port P]``: only the mail catcher.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import sys

from chorus_devstack.broker import BrokerError
from chorus_devstack.infrastructure import DEFAULT_MAIL_HTTP_PORT, DEFAULT_SMTP_PORT
from chorus_devstack.mailcatcher import MailCatcher
from chorus_devstack.postgres import PostgresError
from chorus_devstack.services import SETUP_STEPS
from chorus_devstack.supervisor import Stack, StackError, default_state_dir

_EXPECTED_ERRORS = (StackError, PostgresError, BrokerError, OSError)


def _stop_event() -> asyncio.Event:
    """An event set by the first SIGINT/SIGTERM; later ones are ignored while stopping."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if event.is_set():
            print("devstack | arrêt en cours / still stopping…", flush=True)
        event.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    return event


def _error(stack: Stack, exc: BaseException) -> None:
    message = f"error / erreur: {exc}"
    if stack.console.colour:
        message = f"\033[31m{message}\033[0m"
    stack.console.say(message)


async def _start_or_stop(stack: Stack, stop: asyncio.Event) -> int | None:
    """Start ``stack`` unless a signal comes first. ``None`` once it is up, else the exit code
    (0: interrupted, 1: failed; the stack is stopped either way)."""
    starting = asyncio.create_task(stack.start())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        stack.console.say("arrêt / stopping…")
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, *_EXPECTED_ERRORS):
            await starting
        await stack.stop()
        return 0
    stopping.cancel()
    try:
        starting.result()
    except _EXPECTED_ERRORS as exc:
        _error(stack, exc)
        return 1
    return None


async def run(ready_timeout: float, seed: bool) -> int:
    stack = Stack(
        ephemeral=False,
        echo=True,
        ready_timeout=ready_timeout,
        setup_steps=SETUP_STEPS if seed else (),
    )
    stop = _stop_event()
    if (code := await _start_or_stop(stack, stop)) is not None:
        return code
    stack.console.say(stack.banner())
    failure = asyncio.create_task(stack.wait_for_failure())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({failure, stopping}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if failure.done():
        _error(stack, StackError(stack.exit_message(*failure.result())))
        code = 1
    failure.cancel()
    stopping.cancel()
    stack.console.say("arrêt / stopping…")
    await stack.stop()
    return code


async def infra(ephemeral: bool) -> int:
    logs_dir = default_state_dir() / "logs"  # the broker's log; not a throwaway directory
    stack = Stack(ephemeral=ephemeral, services=(), echo=True, logs_dir=logs_dir)
    stop = _stop_event()
    if (code := await _start_or_stop(stack, stop)) is not None:
        return code
    print("# Infrastructure prête / infrastructure ready. Copy these into your shell:")
    for name, value in stack.env.items():
        print(f"export {name}={shlex.quote(value)}")
    if stack.mail_api_url:
        print(f"# mail catcher API: {stack.mail_api_url}/messages")
    print("# Ctrl-C pour arrêter / Ctrl-C to stop", flush=True)
    await stop.wait()
    await stack.stop()
    return 0


async def mail(host: str, smtp_port: int, http_port: int) -> int:
    catcher = MailCatcher(host, smtp_port, http_port)
    stop = _stop_event()
    await catcher.start()
    print(f"SMTP {host}:{catcher.smtp_port}, API {catcher.api_url}/messages (Ctrl-C to stop)")
    sys.stdout.flush()
    await stop.wait()
    await catcher.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chorus_devstack", description="Run Chorus locally without Docker."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser("run", help="infrastructure, migrations, seed, all services")
    run_cmd.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("CHORUS_DEVSTACK_READY_TIMEOUT") or 90),
        help="seconds to wait for every service to be ready (default 90)",
    )
    run_cmd.add_argument("--no-seed", action="store_true", help="skip the demo data")
    infra_cmd = commands.add_parser("infra", help="only PostgreSQL, broker and mail catcher")
    infra_cmd.add_argument(
        "--ephemeral", action="store_true", help="throwaway database and free ports"
    )
    mail_cmd = commands.add_parser("mail", help="only the mail catcher")
    mail_cmd.add_argument("--host", default="127.0.0.1")
    mail_cmd.add_argument("--smtp-port", type=int, default=DEFAULT_SMTP_PORT)
    mail_cmd.add_argument("--http-port", type=int, default=DEFAULT_MAIL_HTTP_PORT)
    args = parser.parse_args(argv)

    if args.command == "run":
        return asyncio.run(run(args.timeout, seed=not args.no_seed))
    if args.command == "infra":
        return asyncio.run(infra(args.ephemeral))
    return asyncio.run(mail(args.host, args.smtp_port, args.http_port))


if __name__ == "__main__":
    sys.exit(main())
