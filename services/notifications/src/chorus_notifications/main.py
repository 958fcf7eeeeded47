"""Wiring of the notifications service: ``chorus-notifications serve | migrate``."""

from __future__ import annotations

import asyncpg
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform import checks, grpc_client, grpc_server
from chorus_platform.auth import AuthInterceptor, TokenVerifier
from chorus_platform.cli import run_cli
from chorus_platform.db import create_pool

from chorus_notifications.api.errors import STATUS_CODES
from chorus_notifications.api.feed import PUBLIC_METHODS, SERVICE_NAME, NotificationsServicer
from chorus_notifications.clients.smtp import SmtpMailer
from chorus_notifications.config import NotificationsSettings
from chorus_notifications.events.consumer import build_consumer
from chorus_notifications.events.email_sender import EmailSender, Mailer
from chorus_notifications.events.sealing import SealingKeyRing


def build_app(
    settings: NotificationsSettings,
    pool: asyncpg.Pool,
    verifier: TokenVerifier,
    *,
    mailer: Mailer | None = None,
) -> grpc_server.GrpcApp:
    """The gRPC app with its background jobs: the event consumer and the e-mail sender.

    Readiness is database + broker only: with SMTP down, e-mails wait in the outbox.
    """
    keys = SealingKeyRing(pool)
    servicer = NotificationsServicer(pool, keys)
    consumer = build_consumer(pool, settings)
    sender = EmailSender(pool, settings, mailer or SmtpMailer(settings), keys)

    def register(server) -> list[str]:
        pb_grpc.add_NotificationsServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    return grpc_server.GrpcApp(
        name=settings.service_name,
        port=settings.grpc_port,
        register=register,
        error_status_codes=STATUS_CODES,
        interceptors=[AuthInterceptor(verifier, public_methods=PUBLIC_METHODS)],
        readiness_checks=[checks.database_check(pool), checks.broker_check(settings)],
        background=[consumer.run, sender.run],
        reflection=settings.env == "dev",
    )


async def serve(settings: NotificationsSettings) -> None:
    pool = await create_pool(settings.database_dsn, max_size=settings.database_pool_max)
    try:
        async with grpc_client.identity_token_verifier(settings) as verifier:
            await grpc_server.serve(build_app(settings, pool, verifier))
    finally:
        await pool.close()


def main() -> None:
    settings = NotificationsSettings()
    run_cli(settings, serve=serve, migrations_dir=settings.migrations_path)


if __name__ == "__main__":
    main()
