"""Run the whole Chorus stack locally: infrastructure, migrations, services, readiness.

:class:`Stack` is the one implementation behind ``python -m chorus_devstack run`` (persistent
settings, ``ephemeral=False``) and the end-to-end tests (``ephemeral=True``).

The parts it drives: :mod:`~chorus_devstack.services` (what runs),
:mod:`~chorus_devstack.infrastructure` (PostgreSQL, broker, SMTP),
:mod:`~chorus_devstack.children` (spawning, output, stopping), :mod:`~chorus_devstack.console`
(prefixed output) and :mod:`~chorus_devstack.readiness` (health probes).

Contract of ``await Stack(...).start()``, in order:

1. Infrastructure (:mod:`~chorus_devstack.infrastructure`): PostgreSQL, the broker and the
   mail catcher, started or, persistent, the ones the environment names. Ephemeral: every port
   (theirs and the services') freshly chosen. Persistent: service ports come from
   ``$CHORUS_<SVC>_ADDR`` and ``$CHORUS_HTTP_PORT`` (defaults in
   :data:`~chorus_devstack.services.SERVICES`), data lives in ``<state>``:
   ``$CHORUS_DEVSTACK_DIR`` or ``<repo>/.devstack``.
2. Every service's ``<script> migrate`` (for services with ``migrate=True``), then
   :data:`~chorus_devstack.services.SETUP_STEPS` (``chorus-structures seed-demo``), one after
   the other; a failure raises :class:`StackError` naming the command and showing the end of
   its output.
3. Every service's ``<script> serve``, each in its own session, output lines prefixed with the
   service name (coloured on a terminal when ``echo=True``) and appended to
   ``<logs_dir>/<name>.log``.
4. Readiness: gRPC services answer ``grpc.health.v1.Health/Check("")`` with SERVING, HTTP
   services answer ``GET /readyz`` with 200. A child that exits, or ``ready_timeout`` seconds
   without readiness, raises :class:`StackError` naming the culprit(s) (the stack is stopped).

Children get the base environment plus :attr:`Stack.env` (database, broker, SMTP, every
``CHORUS_<SVC>_ADDR``, the gateway's ``CHORUS_HTTP_PORT``, ``CHORUS_CPRO_API_URL`` and
``CHORUS_PORTAL_BACKEND_URL`` (what the gateway relays to), ``CHORUS_PORTAL_URL``) and their own
port: ``CHORUS_GRPC_PORT`` for gRPC services, ``CHORUS_HTTP_PORT`` for HTTP ones (the portal,
the gateway and cpro-api), a service's own ``env_defaults`` (the portal's
``CHORUS_TRUSTED_PROXY_HOPS=1``: it trusts the gateway's relay), and a free
``CHORUS_METRICS_PORT`` each (their admin endpoint, :attr:`Stack.metrics_urls`, printed in the
banner); ``extra_env`` is applied last.
Console scripts are looked up next to the running interpreter (``$CHORUS_DEVSTACK_BIN_DIR`` or
``bin_dir`` overrides).

``await stop()`` SIGTERMs the services' process groups, waits up to ``stop_timeout`` (10 s),
SIGKILLs stragglers, then stops the mail catcher, the broker and PostgreSQL (only those it
started). It is idempotent and safe after a partial start. A service exiting on its own is
reported by :meth:`Stack.wait_for_failure` / :meth:`Stack.check`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from chorus_devstack.broker import KafkaBroker
from chorus_devstack.children import Child, spawn
from chorus_devstack.console import Console
from chorus_devstack.infrastructure import Infrastructure
from chorus_devstack.mailcatcher import MailCatcher
from chorus_devstack.ports import LOCALHOST, free_ports, port_is_open
from chorus_devstack.postgres import PostgresServer
from chorus_devstack.processes import signal_group
from chorus_devstack.readiness import probe
from chorus_devstack.services import SERVICES, SETUP_STEPS, Service


class StackError(RuntimeError):
    """The stack could not start, or a service failed."""


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


def _http_port(value: str | None, default: int) -> int:
    """The port of an HTTP service's variable: a port, or a URL naming one (``http://h:p``)."""
    if not value:
        return default
    if "://" in value:
        port = urlsplit(value).port
        return port if port is not None else default
    return int(value)


# -- the stack --------------------------------------------------------------------------------


class Stack:
    """Infrastructure plus services, started and stopped together (see the module docstring).

    Attributes after :meth:`start`: :attr:`env` (the variables exported to the children),
    :attr:`gateway_url`, :attr:`mail_api_url` (``None`` with an external SMTP server),
    :attr:`broker` (``None`` with an external broker), :attr:`postgres`, :attr:`mail_catcher`,
    :attr:`logs_dir`, :attr:`metrics_urls` (each service's ``GET /metrics`` URL, by name).

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

        self.infrastructure = Infrastructure(
            ephemeral=ephemeral, environ=self.environ, logs_dir=self.logs_dir, console=self.console
        )

        self.env: dict[str, str] = {}
        self.gateway_url: str | None = None
        self.addresses: dict[str, str] = {}
        self._ports: dict[str, int] = {}
        #: Each service's admin port (``CHORUS_METRICS_PORT``), always a free one.
        self.metrics_ports: dict[str, int] = {}
        self._children: dict[str, Child] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self._watchers: list[asyncio.Task[None]] = []
        self._failure: asyncio.Future[tuple[str, int]] | None = None
        self._stopping = False
        self._started = False

    @property
    def postgres(self) -> PostgresServer | None:
        return self.infrastructure.postgres

    @property
    def broker(self) -> KafkaBroker | None:
        return self.infrastructure.broker

    @property
    def mail_catcher(self) -> MailCatcher | None:
        return self.infrastructure.mail_catcher

    @property
    def mail_api_url(self) -> str | None:
        return self.infrastructure.mail_api_url

    @property
    def metrics_urls(self) -> dict[str, str]:
        """``http://127.0.0.1:<port>/metrics`` of each service, by name (Prometheus text)."""
        return {
            name: f"http://{LOCALHOST}:{port}/metrics" for name, port in self.metrics_ports.items()
        }

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
        await self.infrastructure.stop()
        self._started = False

    async def start_infrastructure(self) -> None:
        """Step 1 only: PostgreSQL, broker and mail catcher (or the external ones); fills
        :attr:`env`. ``start()`` calls it; ``infra`` uses it alone."""
        env = self.environ
        count = len(self.services)
        ports = iter(free_ports(4 + 2 * count)) if self.ephemeral else None

        def port(variable: str, default: int) -> int:
            return next(ports) if ports is not None else int(env.get(variable) or default)

        exported = await self.infrastructure.start(port, self._require_state_dir)
        metrics_ports = [next(ports) for _ in range(count)] if ports else free_ports(count)
        self.metrics_ports = dict(zip([s.name for s in self.services], metrics_ports, strict=True))
        for service in self.services:
            if ports is not None:
                self._ports[service.name] = next(ports)
                self.addresses[service.name] = f"{LOCALHOST}:{self._ports[service.name]}"
            elif service.kind == "grpc":
                address = env.get(service.env) or f"{LOCALHOST}:{service.default_port}"
                self._ports[service.name] = int(address.rsplit(":", 1)[1])
                self.addresses[service.name] = address
            else:
                self._ports[service.name] = _http_port(env.get(service.env), service.default_port)
                self.addresses[service.name] = f"{LOCALHOST}:{self._ports[service.name]}"
            if service.kind == "grpc":
                exported[service.env] = self.addresses[service.name]
            elif service.env.endswith("_URL"):
                exported[service.env] = f"http://{self.addresses[service.name]}"
            else:
                exported[service.env] = str(self._ports[service.name])
        http = next((s for s in self.services if s.name == "gateway"), None) or next(
            (s for s in self.services if s.kind == "http"), None
        )
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
        env.pop("CHORUS_METRICS_PORT", None)
        if service is not None and service.name in self.metrics_ports:
            env["CHORUS_METRICS_PORT"] = str(self.metrics_ports[service.name])
        if service is not None and service.kind == "grpc":
            env["CHORUS_GRPC_PORT"] = str(self._ports[service.name])
        if service is not None and service.kind == "http":
            env["CHORUS_HTTP_PORT"] = str(self._ports[service.name])
        if service is not None:
            env.update(service.env_defaults)
        env.update(self.extra_env)
        return env

    def service_pids(self) -> dict[str, int]:
        """The process id of each service running now, by name. Each service leads its own
        session, so its worker processes are those whose session id is that pid (the
        benchmarks add up their CPU time)."""
        names = {s.name for s in self.services}
        return {
            name: child.process.pid
            for name, child in self._children.items()
            if name in names and child.process.returncode is None
        }

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

    async def kill_service(self, name: str) -> None:
        """Crash one service: SIGKILL to its process group, no drain, no clean-up (chaos
        tests); :meth:`start_service` brings it back."""
        child = self._children.pop(name, None)
        if child is not None:
            signal_group(child.process.pid, signal.SIGKILL)
            await child.wait()

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
            if "portal" in self.addresses:
                rows.append(
                    ("Portail direct / Portal (direct)", f"http://{self.addresses['portal']}")
                )
            if any(s.name == "cpro-api" for s in self.services):
                rows += [
                    ("Jeton Chorus Pro / Token URL", f"{self.gateway_url}/api/oauth/token"),
                    ("API Chorus Pro / Chorus Pro API", f"{self.gateway_url}/cpro"),
                ]
        if self.mail_api_url:
            rows.append(("Courriels / Mail catcher", f"{self.mail_api_url}/messages"))
        rows += [
            ("SMTP", f"{self.env.get('CHORUS_SMTP_HOST')}:{self.env.get('CHORUS_SMTP_PORT')}"),
            ("Base de données / Database", self.env.get("CHORUS_DATABASE_URL", "")),
            ("Courtier Kafka / Broker", self.env.get("CHORUS_KAFKA_BOOTSTRAP", "")),
            ("Journaux / Logs", str(self.logs_dir)),
        ]
        rows += [(f"Métriques / Metrics {name}", url) for name, url in self.metrics_urls.items()]
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

    async def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        return await spawn(name, argv, env, self._log(name), self.console)

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

    async def _watch(self, name: str, child: Child) -> None:
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

    async def _terminate(self, child: Child) -> None:
        await child.terminate(self.stop_timeout)

    async def _wait_ready(self, services: Sequence[Service]) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last_error: dict[str, str] = {s.name: "no answer yet" for s in services}
        probes = {
            asyncio.create_task(probe(s, self.addresses[s.name], last_error)): s.name
            for s in services
        }
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
