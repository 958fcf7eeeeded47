"""A stand-in for a Chorus service's console script, used only by the supervisor tests.

Usage: ``service.py <name> <kind: grpc|http> {migrate,seed-demo,serve}``. Behaviour knobs
(environment): ``STANDIN_FAIL_MIGRATE=<name>`` (migrate exits 2),
``STANDIN_NOT_SERVING=<name>`` (health stays NOT_SERVING), ``STANDIN_IGNORE_TERM=<name>``
(ignores SIGTERM), ``STANDIN_CRASH_DIR=<dir>`` (serve exits 3 once ``<dir>/<name>`` exists).
"""

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import asyncpg


def flagged(variable: str, name: str) -> bool:
    return name in os.environ.get(variable, "").split(",")


async def migrate(name: str) -> int:
    if flagged("STANDIN_FAIL_MIGRATE", name):
        print(f"{name}: migration 0002 failed: relation does not exist", flush=True)
        return 2
    connection = await asyncpg.connect(os.environ["CHORUS_DATABASE_URL"])
    await connection.execute(f"CREATE TABLE IF NOT EXISTS {name}_migrated (id int)")
    await connection.close()
    print(f"{name}: migrated", flush=True)
    return 0


async def seed(name: str) -> int:
    connection = await asyncpg.connect(os.environ["CHORUS_DATABASE_URL"])
    await connection.execute(f"INSERT INTO {name}_migrated VALUES (1)")
    await connection.close()
    print(f"{name}: seeded démo", flush=True)
    return 0


async def serve(name: str, kind: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if flagged("STANDIN_IGNORE_TERM", name):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    if kind == "grpc":
        import grpc
        from grpc_health.v1 import health, health_pb2, health_pb2_grpc

        server = grpc.aio.server()
        servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        port = int(os.environ["CHORUS_GRPC_PORT"])
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        status = health_pb2.HealthCheckResponse.SERVING
        if flagged("STANDIN_NOT_SERVING", name):
            status = health_pb2.HealthCheckResponse.NOT_SERVING
        await servicer.set("", status)
    else:  # a minimal HTTP server: GET /readyz → 200 (aiohttp would be slow to import)

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            request = await reader.readuntil(b"\r\n\r\n")
            ok = request.startswith(b"GET /readyz ")
            body = b"ready" if ok else b"not found"
            status = b"200 OK" if ok else b"404 Not Found"
            if ok and flagged("STANDIN_NOT_SERVING", name):
                body, status = b"starting", b"503 Service Unavailable"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n" + body
            )  # fmt: skip
            await writer.drain()
            writer.close()

        port = int(os.environ["CHORUS_HTTP_PORT"])
        await asyncio.start_server(answer, "127.0.0.1", port)
    print(f"{name}: serving on {port}, db={os.environ['CHORUS_DATABASE_URL']}", flush=True)
    print(f"{name}: broker={os.environ['CHORUS_KAFKA_BOOTSTRAP']}", flush=True)
    crash_dir = os.environ.get("STANDIN_CRASH_DIR")
    while not stop.is_set():
        if crash_dir and (Path(crash_dir) / name).exists():
            print(f"{name}: crashing", flush=True)
            return 3
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)
    print(f"{name}: bye", flush=True)
    return 0


def main() -> int:
    name, kind, command = sys.argv[1], sys.argv[2], sys.argv[3]
    if command == "migrate":
        return asyncio.run(migrate(name))
    if command == "seed-demo":
        return asyncio.run(seed(name))
    if command == "serve":
        return asyncio.run(serve(name, kind))
    print(f"unknown command {command}", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
