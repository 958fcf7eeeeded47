"""A local PostgreSQL server run from the Debian/Ubuntu server binaries.

Contract:

* ``PostgresServer(data_dir, port, ephemeral=...)``. :meth:`start` creates the cluster with
  ``initdb`` when ``data_dir`` holds none yet (trust auth, superuser ``postgres``, UTF-8, C.UTF-8
  locale), then starts it with ``pg_ctl -w`` listening on ``127.0.0.1:<port>`` only; it returns
  once the server accepts connections. :meth:`stop` does a fast shutdown. Both are idempotent and
  block for about half a second; call them through ``asyncio.to_thread`` inside a loop if that
  matters.
* ``ephemeral=True`` is for tests: flushing to disk is switched off (``fsync``,
  ``full_page_writes``; commits still reach the OS before they are acknowledged, so a killed
  server loses nothing acknowledged) and the data lives in a fresh temporary directory (or in
  ``data_dir`` if given, which must then be empty or absent) that :meth:`stop` deletes.
  Temporary directories go in ``$CHORUS_DEVSTACK_TMP`` if set, else in ``/dev/shm`` (RAM) when
  usable, else in ``/tmp``.
  The cluster is a copy of a template made by ``initdb`` once per machine
  (``<tmp>/chorus-pg-template-*``): copying takes ~0.2 s where ``initdb`` takes ~2 s.
  Throwaway clusters left by a process that died without :meth:`stop` (a killed test run) are
  stopped and deleted by the next ephemeral :meth:`start` (:func:`reap_orphaned_clusters`).
  ``ephemeral=False`` keeps ``data_dir`` across runs.
* Running as root, ``initdb``/``pg_ctl`` run as the ``postgres`` system user through ``runuser``
  and the data directory is handed to that user. The Unix socket goes in the data directory
  (or a temporary one if that path is too long for a socket).
* :meth:`kill` crashes the server (SIGKILL to the postmaster and its processes, data kept) and
  :meth:`recover` starts it again on the same data through crash recovery (chaos tests).
* A ``postmaster.pid`` left by a killed server is removed when its process is gone; if the
  server of that data directory is still running, :meth:`start` raises :class:`PostgresError`
  saying how to stop it.
* :attr:`url` is ``postgresql://postgres@127.0.0.1:<port>/postgres``; :meth:`url_for` names
  another database on the same server.
* Binaries: ``$CHORUS_DEVSTACK_PG_BIN`` if set, else the highest ``/usr/lib/postgresql/*/bin``,
  else ``initdb``/``pg_ctl`` on ``PATH``; none found raises :class:`PostgresError` telling to
  ``apt-get install postgresql``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from chorus_devstack.ports import LOCALHOST, port_is_open

PG_SYSTEM_USER = "postgres"
_DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
_OWNER_FILE = "chorus-devstack-owner"  # pid of the process that made a throwaway cluster
# Nothing is flushed to disk, but every commit is written to the OS before it is acknowledged
# (synchronous_commit stays on): a killed server (chaos tests) loses nothing it acknowledged;
# only a crash of the machine could.
_DURABILITY_OFF = ("-c fsync=off", "-c full_page_writes=off")


class PostgresError(RuntimeError):
    """PostgreSQL could not be found, initialised, started or stopped."""


def find_postgres_bin() -> Path:
    """Directory holding ``initdb`` and ``pg_ctl`` (see the module docstring for the order)."""
    override = os.environ.get("CHORUS_DEVSTACK_PG_BIN")
    if override:
        candidates = [Path(override)]
    else:

        def version(bin_dir: Path) -> tuple[int, ...]:
            name = bin_dir.parent.name
            return tuple(int(part) for part in name.split(".") if part.isdigit())

        candidates = sorted(_DEBIAN_PG_ROOT.glob("*/bin"), key=version, reverse=True)
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for bin_dir in candidates:
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir
    raise PostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin "
        "nor on PATH: install them with `apt-get install postgresql` "
        "(or point CHORUS_DEVSTACK_PG_BIN at their directory)."
    )


def ephemeral_root() -> Path:
    """Where throwaway clusters live: ``$CHORUS_DEVSTACK_TMP``, else ``/dev/shm``, else ``/tmp``."""
    override = os.environ.get("CHORUS_DEVSTACK_TMP")
    if override:
        return Path(override)
    shm = Path("/dev/shm")  # noqa: S108 - entries are mkdtemp'd; the template's owner is checked
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) and shm.stat().st_mode & 0o001:
        return shm
    return Path(tempfile.gettempdir())


def reap_orphaned_clusters() -> None:
    """Stop and delete throwaway clusters whose creating process is gone (a test run that was
    killed before its teardown), so they do not hold RAM in ``/dev/shm`` forever."""
    for data_dir in ephemeral_root().glob("chorus-pg-*"):
        try:
            owner = int((data_dir / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # a template, or a cluster being created
        if _pid_alive(owner):
            continue
        try:
            pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        if pid > 0 and _pid_alive(pid) and _is_postgres_process(pid):
            command = [
                str(find_postgres_bin() / "pg_ctl"),
                "-D",
                str(data_dir),
                "stop",
                "-m",
                "immediate",
            ]
            if _running_as_root():
                command = ["runuser", "-u", PG_SYSTEM_USER, "--", *command]
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                command, capture_output=True, timeout=30, check=False, cwd="/"
            )
        shutil.rmtree(data_dir, ignore_errors=True)


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (Linux /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                children.append(int(entry.name))
    return children


def _is_postgres_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _pid_alive(pid)
    return b"postgres" in cmdline or b"postmaster" in cmdline


class PostgresServer:
    """One PostgreSQL cluster on ``127.0.0.1:<port>``; see the module docstring."""

    def __init__(self, data_dir: Path | None, port: int, *, ephemeral: bool) -> None:
        if data_dir is None and not ephemeral:
            raise ValueError("a persistent PostgresServer needs a data_dir")
        self.port = port
        self.host = LOCALHOST
        self.ephemeral = ephemeral
        self._requested_dir = Path(data_dir).absolute() if data_dir is not None else None
        self.data_dir: Path | None = None if ephemeral else self._requested_dir
        self._socket_dir: Path | None = None
        self._bin: Path | None = None
        self._running = False
        self._options: list[str] = []

    # -- public API -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """DSN of the ``postgres`` database as the ``postgres`` superuser (trust auth)."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """DSN of ``database`` on this server."""
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._running

    @property
    def log_file(self) -> Path | None:
        """The server's own log (inside the data directory)."""
        return self.data_dir / "server.log" if self.data_dir else None

    def start(self) -> None:
        """Initialise the cluster if needed and start it; return once it accepts connections."""
        if self._running:
            return
        self._bin = find_postgres_bin()
        data_dir = self._prepare_data_dir()
        try:
            initialised = (data_dir / "PG_VERSION").exists()
            if initialised:
                self._clear_stale_pid(data_dir)
            if port_is_open(self.host, self.port):
                raise PostgresError(
                    f"cannot start PostgreSQL on {self.host}:{self.port}: the port is already "
                    "in use (set CHORUS_DEVSTACK_PG_PORT to pick another one)"
                )
            if not initialised and self.ephemeral:
                self._copy_template(data_dir)
            elif not initialised:
                self._initdb(data_dir)
            self._socket_dir = self._make_socket_dir(data_dir)
            options = [
                f"-h {self.host}",
                f"-p {self.port}",
                f"-k {self._socket_dir}",
                "-c max_connections=300",
            ]
            if self.ephemeral:
                options.extend(_DURABILITY_OFF)
            self._options = options
            self._pg_ctl(
                "start", "-w", "-t", "60", "-l", str(data_dir / "server.log"),
                "-o", " ".join(options),
            )  # fmt: skip
        except BaseException:
            self._cleanup()
            raise
        self._running = True

    def kill(self) -> None:
        """Crash the server: SIGKILL to the postmaster and every process it started, as a
        machine losing power would. The data directory stays, so :meth:`recover` starts it
        again through PostgreSQL's crash recovery."""
        if not self._running or self.data_dir is None:
            return
        pid = self._postmaster_pid()
        if pid is not None:
            for victim in [pid, *_children_of(pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while (_pid_alive(pid) or _children_of(pid)) and time.monotonic() < deadline:
                time.sleep(0.02)
        self._running = False

    def recover(self) -> None:
        """Start again on the same data after :meth:`kill` (crash recovery replays the WAL)."""
        if self._running:
            return
        assert self.data_dir is not None, "recover() follows kill(), not stop()"
        self._clear_stale_pid(self.data_dir)
        self._pg_ctl(
            "start", "-w", "-t", "60", "-l", str(self.data_dir / "server.log"),
            "-o", " ".join(self._options),
        )  # fmt: skip
        self._running = True

    def stop(self) -> None:
        """Fast shutdown (``pg_ctl stop -m fast``); ephemeral data is then deleted."""
        try:
            if self._running and self.data_dir is not None:
                self._pg_ctl("stop", "-w", "-m", "fast")
        finally:
            self._running = False
            self._cleanup()

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"PostgresServer({self.url!r}, data_dir={self.data_dir}, ephemeral={self.ephemeral})"

    # -- internals --------------------------------------------------------------------------

    def _prepare_data_dir(self) -> Path:
        if self.ephemeral and self._requested_dir is None:
            reap_orphaned_clusters()
            data_dir = Path(tempfile.mkdtemp(prefix="chorus-pg-", dir=ephemeral_root()))
            (data_dir / _OWNER_FILE).write_text(str(os.getpid()))
        else:
            assert self._requested_dir is not None
            data_dir = self._requested_dir
            if self.ephemeral and data_dir.exists() and any(data_dir.iterdir()):
                raise PostgresError(f"ephemeral data dir {data_dir} must be empty or absent")
            data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        data_dir.chmod(0o700)
        if _running_as_root():
            self._check_reachable_by_postgres(data_dir)
        self._give_to_postgres(data_dir)
        return data_dir

    def _initdb(self, data_dir: Path) -> None:
        leftovers = [p.name for p in data_dir.iterdir() if p.name != _OWNER_FILE]
        if leftovers:
            raise PostgresError(
                f"{data_dir} holds no PostgreSQL cluster (no PG_VERSION) but is not empty "
                f"({', '.join(sorted(leftovers)[:5])}): remove it to start afresh"
            )
        assert self._bin is not None
        self._run(
            [str(self._bin / "initdb"), "-D", str(data_dir), "-N", "--auth=trust",
             "-U", "postgres", "--encoding=UTF8", "--locale=C.UTF-8"],
            what="initdb",
        )  # fmt: skip

    def _copy_template(self, data_dir: Path) -> None:
        """Fill ``data_dir`` from a cached, never-started cluster (``initdb`` once per machine)."""
        assert self._bin is not None
        version = self._bin.parent.name
        template = ephemeral_root() / f"chorus-pg-template-{version}-v1-{os.geteuid()}"
        if not (template / "PG_VERSION").exists():
            with open(f"{template}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (template / "PG_VERSION").exists():
                    building = Path(
                        tempfile.mkdtemp(prefix=f"{template.name}.", dir=template.parent)
                    )
                    try:
                        building.chmod(0o700)
                        self._give_to_postgres(building)
                        self._initdb(building)
                        shutil.rmtree(template, ignore_errors=True)
                        building.rename(template)
                    finally:
                        shutil.rmtree(building, ignore_errors=True)
        owners = {os.geteuid()}
        if _running_as_root():
            owners.add(pwd.getpwnam(PG_SYSTEM_USER).pw_uid)
        if template.stat().st_uid not in owners:
            raise PostgresError(f"{template} belongs to someone else: remove it")
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["cp", "-a", f"{template}/.", str(data_dir)],  # noqa: S607 - coreutils
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresError(f"copying {template} failed: {result.stderr.strip()}")

    def _clear_stale_pid(self, data_dir: Path) -> None:
        pid_file = data_dir / "postmaster.pid"
        try:
            first_line = pid_file.read_text().splitlines()[0]
            pid = int(first_line.strip())
        except (OSError, IndexError, ValueError):
            pid_file.unlink(missing_ok=True)
            return
        if pid > 0 and _pid_alive(pid) and _is_postgres_process(pid):
            prefix = f"runuser -u {PG_SYSTEM_USER} -- " if _running_as_root() else ""
            raise PostgresError(
                f"a PostgreSQL server (pid {pid}) is already running on {data_dir}, probably "
                f"from another or a killed run; stop it with: "
                f"{prefix}{self._bin}/pg_ctl -D {data_dir} stop -m fast"
            )
        pid_file.unlink(missing_ok=True)

    def _postmaster_pid(self) -> int | None:
        assert self.data_dir is not None
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0].strip())
        except (OSError, IndexError, ValueError):
            return None

    def _pg_ctl(self, *args: str) -> None:
        assert self._bin is not None and self.data_dir is not None
        self._run([str(self._bin / "pg_ctl"), "-D", str(self.data_dir), *args], what="pg_ctl")

    def _run(self, command: list[str], *, what: str) -> None:
        if _running_as_root():
            command = ["runuser", "-u", PG_SYSTEM_USER, "--", *command]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                command,
                cwd=self.data_dir or "/",
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                start_new_session=True,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresError(f"{what} failed: {exc}") from exc
        if result.returncode != 0:
            details = (result.stdout + result.stderr).strip()
            log = self.log_file
            if log is not None and log.exists():
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                details += f"\n--- {log} (tail) ---\n{tail}"
            raise PostgresError(f"{what} failed (exit {result.returncode}):\n{details}")

    def _give_to_postgres(self, path: Path) -> None:
        if not _running_as_root():
            return
        try:
            user = pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            raise PostgresError(
                f"running as root but there is no '{PG_SYSTEM_USER}' system user to run "
                "PostgreSQL as: `apt-get install postgresql` creates it"
            ) from None
        os.chown(path, user.pw_uid, user.pw_gid)

    @staticmethod
    def _check_reachable_by_postgres(data_dir: Path) -> None:
        for parent in data_dir.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                raise PostgresError(
                    f"the '{PG_SYSTEM_USER}' system user cannot reach {data_dir}: {parent} is "
                    "not searchable by others (chmod o+x it, or set CHORUS_DEVSTACK_DIR to a "
                    "directory under /tmp)"
                )

    def _make_socket_dir(self, data_dir: Path) -> Path:
        """The data directory itself when its path is short enough for a Unix socket (nothing
        to clean up), else a private temporary directory."""
        if len(str(data_dir)) <= 80:
            return data_dir
        socket_dir = Path(tempfile.mkdtemp(prefix="chorus-pg-sock-"))
        self._give_to_postgres(socket_dir)
        return socket_dir

    def _cleanup(self) -> None:
        if self._socket_dir is not None and self._socket_dir != self.data_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        self._socket_dir = None
        if self.ephemeral and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
