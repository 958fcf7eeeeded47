"""Wiring of the identity service: ``chorus-identity serve | migrate | rotate-keys``."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import asyncpg
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc
from chorus_platform import checks, grpc_server
from chorus_platform.auth import AuthInterceptor, TokenVerifier
from chorus_platform.cli import run_cli
from chorus_platform.db import create_pool
from chorus_platform.outbox import OutboxRelay

from chorus_identity.api.servicer import PUBLIC_METHODS, SERVICE_NAME, IdentityServicer
from chorus_identity.config import IdentitySettings
from chorus_identity.domain.hashing import SecretHasher
from chorus_identity.usecases.accounts import Accounts
from chorus_identity.usecases.sessions import Sessions
from chorus_identity.usecases.signing_keys import KeyRing

log = logging.getLogger("chorus_identity")


def key_ring(settings: IdentitySettings, pool: asyncpg.Pool) -> KeyRing:
    return KeyRing(pool, access_token_ttl=timedelta(seconds=settings.access_token_ttl_seconds))


async def create_app(settings: IdentitySettings, pool: asyncpg.Pool) -> grpc_server.GrpcApp:
    """The gRPC application on ``pool``; makes sure a signing key exists first."""
    keys = key_ring(settings, pool)
    await keys.ensure_active_key()
    hasher = SecretHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
    # Computes the throwaway hash now, so the first unknown-login attempt is not slower.
    await asyncio.to_thread(hasher.spend_comparable_work, "")
    servicer = IdentityServicer(
        Accounts(pool, hasher, activation_ttl=timedelta(minutes=settings.activation_ttl_minutes)),
        Sessions(
            pool, hasher, keys, refresh_token_ttl=timedelta(days=settings.refresh_token_ttl_days)
        ),
        keys,
    )
    # identity verifies its own tokens from its own database, not through gRPC to itself.
    verifier = TokenVerifier(
        keys.public_keys,
        ttl_seconds=settings.token_key_cache_seconds,
        min_refetch_seconds=settings.token_key_refetch_seconds,
    )

    def register(server):
        pb_grpc.add_IdentityServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    return grpc_server.GrpcApp(
        name=settings.service_name,
        port=settings.grpc_port,
        register=register,
        interceptors=[AuthInterceptor(verifier, public_methods=PUBLIC_METHODS)],
        readiness_checks=[checks.database_check(pool), checks.broker_check(settings)],
        background=[OutboxRelay(settings.database_dsn, settings).run],
        reflection=settings.env == "dev",
    )


async def serve(settings: IdentitySettings) -> None:
    pool = await create_pool(settings.database_dsn, max_size=settings.database_pool_max)
    try:
        await grpc_server.serve(await create_app(settings, pool))
    finally:
        await pool.close()


async def rotate_keys(settings: IdentitySettings) -> None:
    """Creates a new signing key and retires the previous one (still verifying until its
    tokens expire). Running replicas sign with the new key from their next login on."""
    pool = await create_pool(settings.database_dsn, max_size=1)
    try:
        rotation = await key_ring(settings, pool).rotate()
    finally:
        await pool.close()
    print(f"new signing key: {rotation.new_kid} (retired: {rotation.retired_kid or '-'})")


def main() -> None:
    settings = IdentitySettings()
    run_cli(
        settings,
        serve=serve,
        migrations_dir=settings.migrations_path,
        extra={"rotate-keys": ("create a new token signing key, retire the previous", rotate_keys)},
    )


if __name__ == "__main__":
    main()
