import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from chorus_devstack.ports import free_port, port_is_open
from chorus_devstack.postgres import PostgresError, PostgresServer, ephemeral_root


async def test_ephemeral_server_runs_queries_and_vanishes_on_stop() -> None:
    server = PostgresServer(None, free_port(), ephemeral=True)
    server.start()
    data_dir = server.data_dir
    try:
        assert data_dir is not None and (data_dir / "PG_VERSION").exists()
        connection = await asyncpg.connect(server.url)
        try:
            assert await connection.fetchval("SELECT 40 + 2") == 42
            assert await connection.fetchval("SHOW fsync") == "off"
            assert await connection.fetchval("SHOW max_connections") == "300"
            assert await connection.fetchval("SHOW server_encoding") == "UTF8"
        finally:
            await connection.close()
        with pytest.raises(PostgresError, match="already in use"):
            PostgresServer(None, server.port, ephemeral=True).start()
    finally:
        server.stop()
    assert not data_dir.exists()
    assert not port_is_open("127.0.0.1", server.port)
    server.stop()  # idempotent


@pytest.fixture
def reachable_dir() -> Iterator[Path]:
    """A directory under /tmp that the postgres system user can traverse (pytest's is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="chorus-devstack-test-", dir=ephemeral_root()))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_persistent_server_keeps_data_and_survives_a_killed_run(reachable_dir: Path) -> None:
    data_dir = reachable_dir / "pg"
    port = free_port()
    server = PostgresServer(data_dir, port, ephemeral=False)
    server.start()
    connection = await asyncpg.connect(server.url)
    await connection.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('é')")
    await connection.close()
    assert await _fetch(server, "SHOW fsync") == "on"

    # Simulate a hard crash: SIGKILL the postmaster, leaving a stale postmaster.pid behind.
    pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if not Path(f"/proc/{pid}").exists() and not port_is_open("127.0.0.1", port):
            break
        await asyncio.sleep(0.05)
    assert (data_dir / "postmaster.pid").exists()

    again = PostgresServer(data_dir, port, ephemeral=False)
    again.start()
    try:
        assert await _fetch(again, "SELECT v FROM kept") == "é"
        # A third start while it runs is refused with a clear message.
        with pytest.raises(PostgresError, match="already running"):
            PostgresServer(data_dir, free_port(), ephemeral=False).start()
    finally:
        again.stop()
    assert data_dir.exists()


async def test_make_database_fixture_creates_fresh_databases(make_database) -> None:
    first = await make_database("Invoices-Tests")
    second = await make_database("invoices tests")
    assert first != second
    assert "/invoices_tests_" in first
    connection = await asyncpg.connect(first)
    try:
        assert await connection.fetchval("SELECT current_database()") == first.rsplit("/", 1)[1]
    finally:
        await connection.close()


async def _fetch(server: PostgresServer, query: str) -> object:
    connection = await asyncpg.connect(server.url)
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def test_clusters_of_killed_processes_are_reaped() -> None:
    """A process that dies without stop() leaves a running cluster; the next start removes it."""
    script = (
        "import sys, time\n"
        "from chorus_devstack.postgres import PostgresServer\n"
        "from chorus_devstack.ports import free_port\n"
        "s = PostgresServer(None, free_port(), ephemeral=True); s.start()\n"
        "print(s.data_dir, s.port, flush=True); time.sleep(60)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    data_dir, port = owner.stdout.readline().split()
    assert port_is_open("127.0.0.1", int(port))
    owner.kill()
    owner.wait()
    assert port_is_open("127.0.0.1", int(port))  # orphaned, still running

    with PostgresServer(None, free_port(), ephemeral=True):
        assert not Path(data_dir).exists()
        assert not port_is_open("127.0.0.1", int(port))


async def test_a_killed_ephemeral_server_recovers_its_committed_data() -> None:
    server = PostgresServer(None, free_port(), ephemeral=True)
    server.start()
    try:
        connection = await asyncpg.connect(server.url)
        await connection.execute("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('avant')")
        server.kill()
        assert not server.running
        assert not port_is_open("127.0.0.1", server.port)
        with pytest.raises((OSError, asyncpg.PostgresError, asyncpg.InterfaceError)):
            await connection.fetchval("SELECT 1")
        connection.terminate()

        server.recover()
        assert server.running
        assert await _fetch(server, "SELECT v FROM kept") == "avant"
    finally:
        server.stop()
