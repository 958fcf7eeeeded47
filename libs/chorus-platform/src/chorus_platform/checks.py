"""Readiness checks for :class:`~chorus_platform.grpc_server.GrpcApp`."""

from __future__ import annotations

import asyncio

import asyncpg

from chorus_platform.settings import ChorusSettings


def database_check(pool: asyncpg.Pool):
    """Ready when a pooled connection answers ``SELECT 1``."""

    async def check() -> None:
        async with pool.acquire(timeout=3) as conn:
            await conn.fetchval("SELECT 1")

    return check


def broker_check(settings: ChorusSettings):
    """Ready when a bootstrap server accepts a TCP connection."""

    async def check() -> None:
        errors = []
        for server in settings.kafka_bootstrap.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                async with asyncio.timeout(3):
                    _, writer = await asyncio.open_connection(host, int(port))
                writer.close()
                await writer.wait_closed()
                return
            except OSError as exc:
                errors.append(f"{server}: {exc}")
        raise ConnectionError("broker unreachable: " + "; ".join(errors))

    return check
