"""The stack's child processes: spawned in their own session, set to die with the supervisor
(:mod:`chorus_devstack.processes`), their output pumped line by line to their log file and the
console, stopped by process group (SIGTERM, then SIGKILL after a timeout)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import datetime
from pathlib import Path
from typing import IO

from chorus_devstack.console import Console
from chorus_devstack.processes import die_with_parent, signal_group


class Child:
    """A spawned process whose output is pumped to a log file and the console."""

    def __init__(self, name: str, argv: list[str], process: asyncio.subprocess.Process,
                 log: IO[bytes], console: Console) -> None:  # fmt: skip
        self.name = name
        self.argv = argv
        self.process = process
        self._log = log
        self._console = console
        self.pump = asyncio.create_task(self._pump(), name=f"pump-{name}")

    @property
    def command(self) -> str:
        return " ".join([Path(self.argv[0]).name, *self.argv[1:]])

    async def _pump(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            try:
                chunk = await stream.readline()
            except ValueError:  # a line longer than the reader's limit
                chunk = await stream.read(1 << 16)
            if not chunk:
                break
            with contextlib.suppress(ValueError, OSError):  # log closed while stopping
                self._log.write(chunk if chunk.endswith(b"\n") else chunk + b"\n")
                self._log.flush()
            self._console.line(self.name, chunk.decode("utf-8", "replace").rstrip("\r\n"))

    async def wait(self) -> int:
        code = await self.process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.pump), 5)
        return code

    async def terminate(self, stop_timeout: float) -> None:
        """SIGTERM to the process group, SIGKILL to whatever is left after ``stop_timeout`` seconds
        (the leader and anything it left behind), then wait for the output to be pumped."""
        pid = self.process.pid
        if self.process.returncode is None:
            signal_group(pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), stop_timeout)
            except TimeoutError:
                self._console.say(f"{self.name} did not stop in {stop_timeout}s: killing it")
        signal_group(pid, signal.SIGKILL)  # the leader and anything it left behind
        await self.wait()


async def spawn(
    name: str, argv: list[str], env: dict[str, str], log: IO[bytes], console: Console
) -> Child:
    """Starts ``argv`` in its own session, stdout and stderr together, a header line with the
    time and command first in ``log``."""
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    log.write(f"=== {stamp} {Path(argv[0]).name} {' '.join(argv[1:])}\n".encode())
    log.flush()
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        start_new_session=True,
        preexec_fn=die_with_parent,
        limit=1 << 20,
    )
    return Child(name, argv, process, log, console)
