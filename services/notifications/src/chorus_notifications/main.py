"""Wiring of the notifications service: ``chorus-notifications serve | migrate |
rewrap-keys | purge-records [--dry-run]``."""

from __future__ import annotations

import asyncpg
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform import checks, grpc_client, grpc_server, key_encryption
from chorus_platform.auth import AuthInterceptor, TokenVerifier
from chorus_platform.cli import run_cli
from chorus_platform.db import create_pool
from chorus_platform.metrics import serve_metrics
from chorus_platform.request_hygiene import RequestHygieneInterceptor
from chorus_platform.retention import purge_records_command
from chorus_platform.revocation import RevocationFeed
from chorus_platform.unit_of_work import UnitOfWork

from chorus_notifications.api.errors import STATUS_CODES
from chorus_notifications.api.feed import PUBLIC_METHODS, SERVICE_NAME, NotificationsServicer
from chorus_notifications.clients.smtp import SmtpMailer, message_id_domain
from chorus_notifications.config import NotificationsSettings
from chorus_notifications.domain.delivery import RetryPolicy
from chorus_notifications.events.consumer import build_consumer
from chorus_notifications.events.identity import IdentityEvents
from chorus_notifications.events.invoices import InvoiceEvents
from chorus_notifications.events.structures import StructureEvents
from chorus_notifications.store import sealing_keys
from chorus_notifications.store.retention import purge_rules
from chorus_notifications.usecases.account_notices import AccountNotices
from chorus_notifications.usecases.credential_notices import CredentialNotices
from chorus_notifications.usecases.digests import Clock, DigestJob, InvoiceDigests, system_clock
from chorus_notifications.usecases.email_delivery import EmailDelivery, Mailer
from chorus_notifications.usecases.feed import Feed
from chorus_notifications.usecases.invoice_notices import InvoiceNotices
from chorus_notifications.usecases.membership_notices import MembershipNotices
from chorus_notifications.usecases.preferences import Preferences
from chorus_notifications.usecases.recipients import RecipientsProjection
from chorus_notifications.usecases.sealing_keys import SealingKeyRing
from chorus_notifications.usecases.sollicitation_notices import SollicitationNotices
from chorus_notifications.usecases.structure_members import StructureMembersProjection
from chorus_notifications.usecases.structure_names import StructureNames
from chorus_notifications.usecases.subscription_notices import SubscriptionNotices

PROGRAM = "chorus-notifications"
SECRETS_AT_REST = [sealing_keys.PRIVATE_KEY]
"""notifications' columns of secrets encrypted under CHORUS_KEK (what ``rewrap-keys`` goes
over)."""


def email_delivery(
    settings: NotificationsSettings, uow: UnitOfWork, mailer: Mailer, keys: SealingKeyRing
) -> EmailDelivery:
    """The delivery job with the settings' retry policy and polling."""
    return EmailDelivery(
        uow,
        mailer,
        keys,
        RetryPolicy(
            max_attempts=settings.email_max_attempts,
            base_seconds=settings.email_backoff_seconds,
            cap_seconds=settings.email_backoff_max_seconds,
        ),
        listen_dsn=settings.database_dsn,
        poll_seconds=settings.email_poll_seconds,
        message_id_domain=message_id_domain(settings.mail_from),
        takeover_seconds=settings.email_takeover_seconds,
        batch_size=settings.email_batch_size,
    )


def build_app(
    settings: NotificationsSettings,
    pool: asyncpg.Pool,
    verifier: TokenVerifier,
    *,
    mailer: Mailer | None = None,
    revocations: RevocationFeed | None = None,
    clock: Clock = system_clock,
    kek: key_encryption.KekRing | None = None,
) -> grpc_server.GrpcApp:
    """The gRPC app with its background jobs: the event consumer, the e-mail delivery, the
    invoice digests (on ``clock``), and ``revocations`` (the verifier's deny-list feed) when
    given. The sealing private keys are stored under ``kek`` (default: CHORUS_KEK's ring);
    :func:`prepare_secrets` runs first in ``serve``.

    Readiness is database + broker (+ the deny-list loaded) only: with SMTP down, e-mails
    wait in the outbox.
    """
    uow = UnitOfWork(pool, service=settings.service_name)  # publishes no events
    keys = SealingKeyRing(uow, kek or key_encryption.ring_from_settings(settings))
    servicer = NotificationsServicer(Feed(uow), Preferences(uow), keys)
    portal = {"portal_url": settings.portal_url}
    consumer = build_consumer(
        uow,
        settings,
        identity_events=IdentityEvents(
            AccountNotices(**portal), RecipientsProjection(), CredentialNotices(**portal)
        ),
        invoice_events=InvoiceEvents(InvoiceNotices(**portal, digests=InvoiceDigests(clock))),
        structure_events=StructureEvents(
            StructureNames(),
            StructureMembersProjection(),
            MembershipNotices(**portal),
            SubscriptionNotices(**portal),
            SollicitationNotices(**portal),
        ),
    )
    delivery = email_delivery(settings, uow, mailer or SmtpMailer(settings), keys)
    digests = DigestJob(uow, **portal, clock=clock, poll_seconds=settings.digest_poll_seconds)

    def register(server) -> list[str]:
        pb_grpc.add_NotificationsServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    return grpc_server.GrpcApp(
        name=settings.service_name,
        port=settings.grpc_port,
        register=register,
        error_status_codes=STATUS_CODES,
        interceptors=[
            AuthInterceptor(verifier, public_methods=PUBLIC_METHODS),
            RequestHygieneInterceptor(),
        ],
        readiness_checks=[
            checks.database_check(pool),
            *([revocations.ready] if revocations else []),
        ],
        background=[
            consumer.run,
            delivery.run,
            digests.run,
            *([revocations.run] if revocations else []),
        ],
        reflection=settings.env == "dev",
        max_connection_age_seconds=settings.grpc_max_connection_age_seconds,
        shutdown_delay_seconds=settings.shutdown_delay_seconds,
    )


async def prepare_secrets(
    settings: NotificationsSettings, pool: asyncpg.Pool
) -> key_encryption.KekRing:
    """The start-up step of the secrets at rest: what an older release left in clear is
    encrypted under the first KEK, then the sealing keys are loaded (created on a new
    database). KeyEncryptionError (naming the KEK) when CHORUS_KEK cannot open them."""
    kek = key_encryption.ring_from_settings(settings)
    uow = UnitOfWork(pool, service=settings.service_name)
    await key_encryption.prepare_secrets(uow, kek, SECRETS_AT_REST)
    await SealingKeyRing(uow, kek).load()
    return kek


async def serve(settings: NotificationsSettings) -> None:
    key_encryption.ring_or_exit(settings, PROGRAM)  # CHORUS_KEK checked before anything
    pool = await create_pool(settings.database_dsn, max_size=settings.database_pool_max)
    try:
        try:
            kek = await prepare_secrets(settings, pool)
        except key_encryption.KeyEncryptionError as error:
            raise SystemExit(f"{PROGRAM}: {error}") from None
        revocations = grpc_client.identity_revocation_feed(settings)
        async with (
            grpc_client.identity_token_verifier(settings, revoked=revocations.revoked) as verifier,
            serve_metrics(settings),
        ):
            await grpc_server.serve(
                build_app(settings, pool, verifier, revocations=revocations, kek=kek)
            )
    finally:
        await pool.close()


async def rewrap_keys(settings: NotificationsSettings) -> None:
    """Re-encrypts every stored secret (the sealing private keys) under the first KEK of
    CHORUS_KEK, clear leftovers included; batched, idempotent. Prints the counts per column
    and, afterwards, per KEK: once every count names the first KEK only, the others can go."""
    kek = key_encryption.ring_or_exit(settings, PROGRAM)
    pool = await create_pool(settings.database_dsn, max_size=1)
    try:
        counts = await key_encryption.rewrap_all(
            UnitOfWork(pool, service=settings.service_name), kek, SECRETS_AT_REST
        )
    except key_encryption.KeyEncryptionError as error:
        raise SystemExit(f"{PROGRAM} rewrap-keys: {error}") from None
    finally:
        await pool.close()
    for line in key_encryption.report_lines(counts, kek):
        print(line)


def main(argv: list[str] | None = None) -> None:
    settings = NotificationsSettings()
    args, purge_records = purge_records_command(purge_rules, argv)
    run_cli(
        settings,
        serve=serve,
        migrations_dir=settings.migrations_path,
        extra={
            **purge_records,
            "rewrap-keys": (
                "re-encrypt every stored secret under the first key of CHORUS_KEK",
                rewrap_keys,
            ),
        },
        argv=args,
    )


if __name__ == "__main__":
    main()
