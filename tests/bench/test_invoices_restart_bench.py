"""Benchmark of the invoices service's restart (`make bench`): process start → health SERVING.

A throwaway PostgreSQL (migrated ``chorus_invoices``) and the embedded broker are started
once; ``chorus-invoices serve`` is then started ``RESTARTS`` times as a real process with its
default settings (one document worker), and for each start the test measures, from the spawn:

1. when ``grpc.health.v1`` answers SERVING for the whole server ("");
2. when the document worker is warm (its log line ``document workers ready``): from then on a
   structured deposit is validated at once; before, it waits for the worker (bounded by
   ``CHORUS_DOCUMENT_STARTUP_WAIT_SECONDS``), then gets UNAVAILABLE.

Each run ends with SIGTERM. It prints a table and asserts only that the service got to
SERVING (no timing assertions). To compare with another version of the service in the same
run (absolute figures drift on shared machines), point ``CHORUS_BENCH_BASELINE_SRC`` at that
version's ``services/invoices/src`` (e.g. from ``git archive <commit> services/invoices/src``):
starts then alternate between the two.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import grpc
import pytest
from chorus_devstack.ports import free_port
from chorus_invoices.config import InvoicesSettings
from chorus_platform.migrations import migrate_database
from grpc_health.v1 import health_pb2, health_pb2_grpc

RESTARTS = 5
TIMEOUT = 120

pytestmark = pytest.mark.timeout(900)


async def _database(server_url: str) -> str:
    name = f"invoices_restart_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = server_url.rsplit("/", 1)[0] + f"/{name}"
    await migrate_database(dsn, "invoices", InvoicesSettings().migrations_path)
    return dsn


async def _serving(port: int) -> bool:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            answer = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=0.5)
        except grpc.aio.AioRpcError:
            return False
        return answer.status == health_pb2.HealthCheckResponse.SERVING


async def _one_start(env: dict[str, str], port: int, log: Path) -> tuple[float, float | None]:
    """(seconds to SERVING, seconds to warm workers or None if not seen) for one start."""
    with log.open("wb") as out:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "chorus-invoices"),
            "serve",
            env=env,
            stdout=out,
            stderr=out,
        )
        try:
            while not await _serving(port):
                assert process.returncode is None, log.read_text()[-2000:]
                assert time.monotonic() - started < TIMEOUT, "not SERVING in time"
                await asyncio.sleep(0.02)
            serving = time.monotonic() - started
            warm = None
            while warm is None and time.monotonic() - started < TIMEOUT:
                if b"document workers ready" in log.read_bytes():
                    warm = time.monotonic() - started
                else:
                    await asyncio.sleep(0.02)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)
    return serving, warm


async def test_invoices_restart_to_serving(postgres_server, kafka_broker, tmp_path):
    dsn = await _database(postgres_server.url)
    port = free_port()
    env = {
        **os.environ,
        "CHORUS_DATABASE_URL": dsn.rsplit("/", 1)[0] + "/postgres",
        "CHORUS_DATABASE_NAME": dsn.rsplit("/", 1)[1],
        "CHORUS_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
        "CHORUS_GRPC_PORT": str(port),
        "CHORUS_IDENTITY_ADDR": f"127.0.0.1:{free_port()}",
        "CHORUS_STRUCTURES_ADDR": f"127.0.0.1:{free_port()}",
        "OTEL_SDK_DISABLED": "true",
    }
    baseline = os.environ.get("CHORUS_BENCH_BASELINE_SRC")
    versions = {"this tree": env}
    if baseline:
        versions["baseline"] = {**env, "PYTHONPATH": baseline}
    runs: dict[str, list[tuple[float, float | None]]] = {name: [] for name in versions}
    for i in range(RESTARTS):
        for name, version_env in versions.items():
            log = tmp_path / f"{name.replace(' ', '-')}-{i}.log"
            runs[name].append(await _one_start(version_env, port, log))
    print(f"\ninvoices: process start → health SERVING, {RESTARTS} starts each")
    print(f"({platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    print("| version | SERVING median / max | workers warm median / max |")
    for name, measured in runs.items():
        serving = [s for s, _ in measured]
        warm = [w for _, w in measured if w is not None]
        warm_text = f"{statistics.median(warm):.2f} / {max(warm):.2f} s" if warm else "(not logged)"
        print(f"| {name} | {statistics.median(serving):.2f} / {max(serving):.2f} s | {warm_text} |")
        print(json.dumps({name: [(round(s, 2), w and round(w, 2)) for s, w in measured]}))
