"""Run the whole Chorus stack locally: infrastructure, migrations, services, readiness.

:class:`Stack` is the one implementation behind ``python -m chorus_devstack run`` (persistent
settings, ``ephemeral=False``) and the end-to-end tests (``ephemeral=True``).

Contract of ``await Stack(...).start()``, in order:

1. Infrastructure. Ephemeral: a throwaway PostgreSQL in ``/tmp``, a tansu broker and the mail
   catcher, every port (theirs and the services') freshly chosen. Persistent: reuse
   ``$CHORUS_DATABASE_URL`` if set, else PostgreSQL with its data in ``<state>/pg`` on
   ``$CHORUS_DEVSTACK_PG_PORT`` (55432); reuse ``$CHORUS_KAFKA_BOOTSTRAP`` if set, else tansu on
   ``$CHORUS_DEVSTACK_KAFKA_PORT`` (19092); reuse the SMTP server ``$CHORUS_SMTP_HOST`` /
   ``$CHORUS_SMTP_PORT`` if the host is set, else the in-process mail catcher on SMTP
   ``$CHORUS_SMTP_PORT`` (1025) and HTTP ``$CHORUS_DEVSTACK_MAIL_HTTP_PORT`` (8025). Service
   ports come from ``$CHORUS_<SVC>_ADDR`` and ``$CHORUS_HTTP_PORT`` (defaults in
   :data:`SERVICES`). ``<state>`` is ``$CHORUS_DEVSTACK_DIR`` or ``<repo>/.devstack``.
2. Every service's ``<script> migrate`` (for services with ``migrate=True``), then
   :data:`SETUP_STEPS` (``chorus-structures seed-demo``), one after the other; a failure raises
   :class:`StackError` naming the command and showing the end of its output.
3. Every service's ``<script> serve``, each in its own session, output lines prefixed with the
   service name (coloured on a terminal when ``echo=True``) and appended to
   ``<logs_dir>/<name>.log``.
4. Readiness: gRPC services answer ``grpc.health.v1.Health/Check("")`` with SERVING, HTTP
   services answer ``GET /readyz`` with 200. A child that exits, or ``ready_timeout`` seconds
   without readiness, raises :class:`StackError` naming the culprit(s) (the stack is stopped).

Children get the base environment plus :attr:`Stack.env` (database, broker, SMTP, every
``CHORUS_<SVC>_ADDR``, ``CHORUS_HTTP_PORT``, ``CHORUS_PORTAL_URL``) and, for gRPC services,
their own ``CHORUS_GRPC_PORT``; ``extra_env`` is applied last. Console scripts are looked up
next to the running interpreter (``$CHORUS_DEVSTACK_BIN_DIR`` or ``bin_dir`` overrides).

``await stop()`` SIGTERMs the services' process groups, waits up to ``stop_timeout`` (10 s),
SIGKILLs stragglers, then stops the mail catcher, the broker and PostgreSQL (only those it
started). It is idempotent and safe after a partial start. A service exiting on its own is
reported by :meth:`Stack.wait_for_failure` / :meth:`Stack.check`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

import aiohttp

from chorus_devstack.broker import KafkaBroker
from chorus_devstack.mailcatcher import MailCatcher
from chorus_devstack.ports import LOCALHOST, free_ports, port_is_open
from chorus_devstack.postgres import PostgresServer
from chorus_devstack.processes import die_with_parent, signal_group


@dataclass(frozen=True)
class Service:
    """One Chorus process the stack runs.

    ``kind="grpc"``: ``env`` is the ``CHORUS_<SVC>_ADDR`` variable (``host:port``) the others
    use to reach it; it gets ``CHORUS_GRPC_PORT`` and is ready when gRPC health says SERVING.
    ``kind="http"``: ``env`` is the port variable; ready when ``GET /readyz`` returns 200.
    """

    name: str
    script: str
    kind: Literal["grpc", "http"]
    env: str
    default_port: int
    migrate: bool = True


#: The services, in start order. Adding a service is one line here.
SERVICES: tuple[Service, ...] = (
    Service("identity", "chorus-identity", "grpc", "CHORUS_IDENTITY_ADDR", 50051),
    Service("structures", "chorus-structures", "grpc", "CHORUS_STRUCTURES_ADDR", 50052),
    Service("invoices", "chorus-invoices", "grpc", "CHORUS_INVOICES_ADDR", 50053),
    Service("notifications", "chorus-notifications", "grpc", "CHORUS_NOTIFICATIONS_ADDR", 50054),
    Service("gateway", "chorus-gateway", "http", "CHORUS_HTTP_PORT", 8080, migrate=False),
)

#: Commands run once after all migrations: (service name, arguments of its script).
SETUP_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (("structures", ("seed-demo",)),)

DEFAULT_PG_PORT = 55432
DEFAULT_KAFKA_PORT = 19092
DEFAULT_SMTP_PORT = 1025
DEFAULT_MAIL_HTTP_PORT = 8025


class StackError(RuntimeError):
    """The stack could not start, or a service failed."""


async def _in_thread(function: Callable[[], None]) -> None:
    """Run a blocking start/stop in a thread; if cancelled, let it finish before re-raising
    so that nothing is left half-started behind our back."""
    task = asyncio.ensure_future(asyncio.to_thread(function))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await task
        raise


def find_repo_root(start: Path | None = None) -> Path:
    """The workspace root: first directory upwards holding ``.devstack`` or a ``pyproject.toml``
    with ``[tool.uv.workspace]``; searched from this package's location, then from ``start``
    (default: the current directory)."""
    origins = [Path(__file__).resolve().parent, (start or Path.cwd()).resolve()]
    for origin in origins:
        for directory in (origin, *origin.parents):
            if (directory / ".devstack").is_dir():
                return directory
            pyproject = directory / "pyproject.toml"
            if pyproject.is_file() and "[tool.uv.workspace]" in pyproject.read_text():
                return directory
    raise StackError("cannot find the Chorus repository root; set CHORUS_DEVSTACK_DIR")


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$CHORUS_DEVSTACK_DIR`` or ``<repo>/.devstack``."""
    environ = os.environ if environ is None else environ
    override = environ.get("CHORUS_DEVSTACK_DIR")
    return Path(override).absolute() if override else find_repo_root() / ".devstack"


# -- console output ---------------------------------------------------------------------------

_COLOURS = ("36", "35", "33", "32", "34", "96", "95", "93", "92", "94")


class Console:
    """Prints child output as ``name | line``, coloured per name when stdout is a terminal."""

    def __init__(self, names: Sequence[str], *, enabled: bool, stream: IO[str] | None = None):
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self.width = max((len(n) for n in (*names, "devstack")), default=8)
        self.colour = enabled and self.stream.isatty() and not os.environ.get("NO_COLOR")
        self._codes = {name: _COLOURS[i % len(_COLOURS)] for i, name in enumerate(names)}
        self._codes["devstack"] = "1"

    def line(self, name: str, text: str) -> None:
        if not self.enabled:
            return
        prefix = f"{name:<{self.width}} |"
        if self.colour:
            prefix = f"\033[{self._codes.get(name, '0')}m{prefix}\033[0m"
        try:
            self.stream.write(f"{prefix} {text}\n")
            self.stream.flush()
        except (OSError, ValueError):  # terminal gone: keep the log files going
            self.enabled = False

    def say(self, text: str) -> None:
        for part in text.splitlines() or [""]:
            self.line("devstack", part)


# -- children ---------------------------------------------------------------------------------


class _Child:
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


# -- the stack --------------------------------------------------------------------------------


class Stack:
    """Infrastructure plus services, started and stopped together (see the module docstring).

    Attributes after :meth:`start`: :attr:`env` (the variables exported to the children),
    :attr:`gateway_url`, :attr:`mail_api_url` (``None`` with an external SMTP server),
    :attr:`broker` (``None`` with an external broker), :attr:`postgres`, :attr:`mail_catcher`,
    :attr:`logs_dir`.

    Logs go to ``<logs_dir>/<service>.log`` (appended). Ephemeral stacks default to a new
    ``/tmp/chorus-stack-logs-*`` directory that is kept for post-mortems; tests should pass
    ``logs_dir=tmp_path_factory.mktemp("logs")`` so that pytest prunes old ones.
    """

    def __init__(
        self,
        *,
        ephemeral: bool = True,
        services: Sequence[Service] = SERVICES,
        setup_steps: Sequence[tuple[str, Sequence[str]]] = SETUP_STEPS,
        extra_env: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
        state_dir: Path | None = None,
        logs_dir: Path | None = None,
        bin_dir: Path | None = None,
        ready_timeout: float = 90.0,
        stop_timeout: float = 10.0,
        echo: bool = False,
    ) -> None:
        self.ephemeral = ephemeral
        self.services = tuple(services)
        self.setup_steps = tuple((name, tuple(args)) for name, args in setup_steps)
        self.extra_env = dict(extra_env or {})
        self.environ = dict(os.environ if environ is None else environ)
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        bin_override = self.environ.get("CHORUS_DEVSTACK_BIN_DIR")
        self.bin_dir = bin_dir or (Path(bin_override) if bin_override else None)
        self.bin_dir = self.bin_dir or Path(sys.executable).parent
        if ephemeral:
            self.state_dir = state_dir
            self.logs_dir = logs_dir or Path(tempfile.mkdtemp(prefix="chorus-stack-logs-"))
        else:
            self.state_dir = state_dir or default_state_dir(self.environ)
            self.logs_dir = logs_dir or self.state_dir / "logs"
        self.console = Console([s.name for s in self.services], enabled=echo)

        self.env: dict[str, str] = {}
        self.postgres: PostgresServer | None = None
        self.broker: KafkaBroker | None = None
        self.mail_catcher: MailCatcher | None = None
        self.mail_api_url: str | None = None
        self.gateway_url: str | None = None
        self.addresses: dict[str, str] = {}
        self._ports: dict[str, int] = {}
        self._children: dict[str, _Child] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self._watchers: list[asyncio.Task[None]] = []
        self._failure: asyncio.Future[tuple[str, int]] | None = None
        self._stopping = False
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Stack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start infrastructure, migrate, seed, start services, wait until ready."""
        if self._started:
            return
        self._started = True
        self._stopping = False
        self._failure = asyncio.get_running_loop().create_future()
        try:
            self.logs_dir.mkdir(parents=True, exist_ok=True)
            self._check_scripts()
            await self.start_infrastructure()
            if self.services:
                self._check_ports_free()
                for service in self.services:
                    if service.migrate:
                        await self._run_step(service, ("migrate",))
                for name, args in self.setup_steps:
                    await self._run_step(self._service(name), args)
                for service in self.services:
                    await self._spawn_service(service)
                await self._wait_ready(self.services)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop services (SIGTERM, then SIGKILL after ``stop_timeout``), then infrastructure."""
        self._stopping = True
        children = list(self._children.values())
        await asyncio.gather(*(self._terminate(child) for child in children))
        self._children.clear()
        for watcher in self._watchers:
            watcher.cancel()
        self._watchers.clear()
        for log in self._logs.values():
            log.close()
        self._logs.clear()
        if self.mail_catcher is not None:
            await self.mail_catcher.stop()
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            await _in_thread(self.postgres.stop)
        self._started = False

    async def start_infrastructure(self) -> None:
        """Step 1 only: PostgreSQL, broker and mail catcher (or the external ones); fills
        :attr:`env`. ``start()`` calls it; ``infra`` uses it alone."""
        env = self.environ
        ports = iter(free_ports(4 + len(self.services))) if self.ephemeral else None

        def port(variable: str, default: int) -> int:
            return next(ports) if ports is not None else int(env.get(variable) or default)

        exported: dict[str, str] = {}
        if not self.ephemeral and env.get("CHORUS_DATABASE_URL"):
            exported["CHORUS_DATABASE_URL"] = env["CHORUS_DATABASE_URL"]
        else:
            pg_port = port("CHORUS_DEVSTACK_PG_PORT", DEFAULT_PG_PORT)
            data_dir = None if self.ephemeral else self._require_state_dir() / "pg"
            self.postgres = PostgresServer(data_dir, pg_port, ephemeral=self.ephemeral)
            self.console.say(f"starting PostgreSQL on {LOCALHOST}:{pg_port}")
            await _in_thread(self.postgres.start)
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

        for service in self.services:
            if ports is not None:
                self._ports[service.name] = next(ports)
                self.addresses[service.name] = f"{LOCALHOST}:{self._ports[service.name]}"
            elif service.kind == "grpc":
                address = env.get(service.env) or f"{LOCALHOST}:{service.default_port}"
                self._ports[service.name] = int(address.rsplit(":", 1)[1])
                self.addresses[service.name] = address
            else:
                self._ports[service.name] = int(env.get(service.env) or service.default_port)
                self.addresses[service.name] = f"{LOCALHOST}:{self._ports[service.name]}"
            if service.kind == "grpc":
                exported[service.env] = self.addresses[service.name]
            else:
                exported[service.env] = str(self._ports[service.name])
        http = next((s for s in self.services if s.kind == "http"), None)
        if http is not None:
            self.gateway_url = f"http://{self.addresses[http.name]}"
            portal = None if self.ephemeral else env.get("CHORUS_PORTAL_URL")
            exported["CHORUS_PORTAL_URL"] = portal or self.gateway_url
        self.env = exported

    # -- queries for the CLI and tests -------------------------------------------------------

    def child_env(self, service: Service | None = None) -> dict[str, str]:
        """Full environment of a child process (``service=None``: a generic one)."""
        env = {**self.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        env.pop("CHORUS_GRPC_PORT", None)
        if service is not None and service.kind == "grpc":
            env["CHORUS_GRPC_PORT"] = str(self._ports[service.name])
        env.update(self.extra_env)
        return env

    def log_path(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def log_tail(self, name: str, lines: int = 40) -> str:
        """Last ``lines`` lines of ``<logs_dir>/<name>.log`` (for error messages)."""
        path = self.log_path(name)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    async def wait_for_failure(self) -> tuple[str, int]:
        """Wait until a service exits on its own; return ``(name, exit code)``."""
        if self._failure is None:
            raise StackError("the stack is not started")
        return await asyncio.shield(self._failure)

    def check(self) -> None:
        """Raise :class:`StackError` if a service has exited on its own."""
        if self._failure is not None and self._failure.done():
            name, code = self._failure.result()
            raise StackError(self.exit_message(name, code))

    async def stop_service(self, name: str) -> None:
        """Stop one service (SIGTERM, SIGKILL after ``stop_timeout``) without failing the stack."""
        child = self._children.pop(name, None)
        if child is not None:
            await self._terminate(child)

    async def start_service(self, name: str) -> None:
        """(Re)start one service's ``serve`` and wait until it is ready."""
        service = self._service(name)
        if name not in self._children:
            await self._spawn_service(service)
        await self._wait_ready([service])

    def banner(self) -> str:
        """The French/English summary printed once everything is ready."""
        rows = []
        if self.gateway_url:
            rows += [
                ("Portail / Portal", self.gateway_url),
                ("Documentation API / API docs", f"{self.gateway_url}/api/v1/docs"),
            ]
        if self.mail_api_url:
            rows.append(("Courriels / Mail catcher", f"{self.mail_api_url}/messages"))
        rows += [
            ("SMTP", f"{self.env.get('CHORUS_SMTP_HOST')}:{self.env.get('CHORUS_SMTP_PORT')}"),
            ("Base de données / Database", self.env.get("CHORUS_DATABASE_URL", "")),
            ("Courtier Kafka / Broker", self.env.get("CHORUS_KAFKA_BOOTSTRAP", "")),
            ("Journaux / Logs", str(self.logs_dir)),
        ]
        width = max(len(label) for label, _ in rows)
        lines = ["Chorus est prêt / Chorus is ready", ""]
        lines += [f"  {label:<{width}}  {value}" for label, value in rows]
        lines += ["", "Ctrl-C pour arrêter / Ctrl-C to stop"]
        return "\n".join(lines)

    # -- internals ---------------------------------------------------------------------------

    def _require_state_dir(self) -> Path:
        assert self.state_dir is not None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return self.state_dir

    def _service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise StackError(f"unknown service {name!r}")

    def _script(self, service: Service) -> Path:
        return self.bin_dir / service.script

    def _check_scripts(self) -> None:
        missing = [s.script for s in self.services if not os.access(self._script(s), os.X_OK)]
        if missing:
            raise StackError(
                f"console script(s) {', '.join(missing)} not found in {self.bin_dir}: "
                "run `uv sync` in the repository root"
            )

    def _check_ports_free(self) -> None:
        busy = [
            f"{self.addresses[s.name]} ({s.name})"
            for s in self.services
            if port_is_open(LOCALHOST, self._ports[s.name])
        ]
        if busy:
            raise StackError(
                f"port(s) already in use: {', '.join(busy)}; is another Chorus running?"
            )

    def _log(self, name: str) -> IO[bytes]:
        if name not in self._logs:
            self._logs[name] = self.log_path(name).open("ab")
        return self._logs[name]

    async def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> _Child:
        log = self._log(name)
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
        return _Child(name, argv, process, log, self.console)

    async def _run_step(self, service: Service, args: Sequence[str]) -> None:
        argv = [str(self._script(service)), *args]
        self.console.say(f"running {service.script} {' '.join(args)}")
        child = await self._spawn(service.name, argv, self.child_env(service))
        key = f"{service.name}:{' '.join(args)}"
        self._children[key] = child
        code = await child.wait()
        self._children.pop(key, None)
        if code != 0:
            raise StackError(
                f"`{child.command}` failed with exit code {code} "
                f"(log: {self.log_path(service.name)}):\n{self.log_tail(service.name, 25)}"
            )

    async def _spawn_service(self, service: Service) -> None:
        argv = [str(self._script(service)), "serve"]
        child = await self._spawn(service.name, argv, self.child_env(service))
        self._children[service.name] = child
        self._watchers.append(asyncio.create_task(self._watch(service.name, child)))

    async def _watch(self, name: str, child: _Child) -> None:
        code = await child.wait()
        if self._stopping or self._children.get(name) is not child:
            return
        self._children.pop(name, None)
        self.console.say(f"{name} exited unexpectedly with code {code}")
        if self._failure is not None and not self._failure.done():
            self._failure.set_result((name, code))

    def exit_message(self, name: str, code: int) -> str:
        return (
            f"service {name} exited with code {code} (log: {self.log_path(name)}):\n"
            f"{self.log_tail(name, 25)}"
        )

    async def _terminate(self, child: _Child) -> None:
        pid = child.process.pid
        if child.process.returncode is None:
            signal_group(pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(child.process.wait(), self.stop_timeout)
            except TimeoutError:
                self.console.say(f"{child.name} did not stop in {self.stop_timeout}s: killing it")
        signal_group(pid, signal.SIGKILL)  # the leader and anything it left behind
        await child.wait()

    async def _wait_ready(self, services: Sequence[Service]) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last_error: dict[str, str] = {s.name: "no answer yet" for s in services}
        probes = {asyncio.create_task(self._probe(s, last_error)): s.name for s in services}
        assert self._failure is not None
        failure = asyncio.ensure_future(asyncio.shield(self._failure))
        try:
            pending = set(probes)
            while pending:
                done, _ = await asyncio.wait(
                    pending | {failure}, timeout=max(deadline - time.monotonic(), 0),
                    return_when=asyncio.FIRST_COMPLETED,
                )  # fmt: skip
                if failure in done:
                    raise StackError(self.exit_message(*failure.result()))
                if not done:
                    waiting = ", ".join(
                        f"{probes[t]} ({last_error[probes[t]]})" for t in sorted(
                            pending, key=lambda t: probes[t])
                    )  # fmt: skip
                    raise StackError(f"not ready after {self.ready_timeout:g}s: {waiting}")
                for task in done:
                    task.result()
                    self.console.say(f"{probes[task]} is ready")
                pending -= done
        finally:
            for task in (*probes, failure):
                task.cancel()

    async def _probe(self, service: Service, last: dict[str, str]) -> None:
        """Return once ``service`` is ready; keep the latest reason it is not in ``last``."""
        address = self.addresses[service.name]
        if service.kind == "grpc":
            import grpc  # only here: `infra` and `mail` do not pay for importing gRPC
            from grpc_health.v1 import health_pb2, health_pb2_grpc

            async with grpc.aio.insecure_channel(address) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                while True:
                    try:
                        reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                        if reply.status == health_pb2.HealthCheckResponse.SERVING:
                            return
                        status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
                        last[service.name] = f"health {status}"
                    except grpc.aio.AioRpcError as exc:
                        last[service.name] = f"gRPC {exc.code().name}"
                    await asyncio.sleep(0.2)
        url = f"http://{address}/readyz"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                        last[service.name] = f"GET /readyz → {response.status}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last[service.name] = f"GET /readyz: {type(exc).__name__}"
                await asyncio.sleep(0.2)
