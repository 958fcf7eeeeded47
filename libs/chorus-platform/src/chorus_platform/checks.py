"""Readiness checks for :class:`~chorus_platform.grpc_server.GrpcApp`.

A gRPC service is ready when it can serve its synchronous API: its database answers (and,
for the services that verify tokens, the revoked sessions are loaded). The broker is not a
readiness check: nothing a request does waits for Kafka (events go through the outbox), so
a broker outage made every pod unready, and the whole portal unavailable, for no reason. It
shows instead in ``chorus.broker.up`` (:mod:`chorus_platform.broker_connections`), the
outbox's age and the publish failures, and their alerts.
"""

from __future__ import annotations

import asyncpg


def database_check(pool: asyncpg.Pool):
    """Ready when a pooled connection answers ``SELECT 1``."""

    async def check() -> None:
        async with pool.acquire(timeout=3) as conn:
            await conn.fetchval("SELECT 1")

    return check
