"""Wiring of the structures service: ``chorus-structures serve | migrate | seed-demo``."""

from __future__ import annotations

import asyncpg
from chorus.structures.v1 import structures_service_pb2_grpc as pb_grpc
from chorus_platform import checks, grpc_client, grpc_server
from chorus_platform.auth import AuthInterceptor, TokenVerifier
from chorus_platform.cli import run_cli
from chorus_platform.db import create_pool
from chorus_platform.outbox import OutboxRelay

from chorus_structures.api.servicer import SERVICE_NAME, StructuresServicer
from chorus_structures.config import StructuresSettings
from chorus_structures.seed.demo import seed_demo_structures


def build_app(
    settings: StructuresSettings, pool: asyncpg.Pool, verifier: TokenVerifier
) -> grpc_server.GrpcApp:
    """The gRPC app; tests inject their own pool and token verifier."""
    servicer = StructuresServicer(pool, settings)

    def register(server):
        pb_grpc.add_StructuresServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    relay = OutboxRelay(settings.database_dsn, settings)
    return grpc_server.GrpcApp(
        name=settings.service_name,
        port=settings.grpc_port,
        register=register,
        interceptors=[AuthInterceptor(verifier, public_methods=set())],
        readiness_checks=[checks.database_check(pool), checks.broker_check(settings)],
        background=[relay.run],
        reflection=settings.env == "dev",
    )


async def serve(settings: StructuresSettings) -> None:
    pool = await create_pool(settings.database_dsn, max_size=settings.database_pool_max)
    try:
        async with grpc_client.identity_token_verifier(settings) as verifier:
            await grpc_server.serve(build_app(settings, pool, verifier))
    finally:
        await pool.close()


async def seed_demo(settings: StructuresSettings) -> None:
    pool = await create_pool(settings.database_dsn, max_size=2)
    try:
        await seed_demo_structures(pool)
    finally:
        await pool.close()


def main() -> None:
    settings = StructuresSettings()
    run_cli(
        settings,
        serve=serve,
        migrations_dir=settings.migrations_path,
        extra={"seed-demo": ("register the demo public structures (idempotent)", seed_demo)},
    )
