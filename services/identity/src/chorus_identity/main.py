"""Wiring of the identity service: ``chorus-identity serve | migrate | rotate-keys |
rewrap-keys | grant-admin <email> | purge-records [--dry-run]``."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc
from chorus_platform import checks, grpc_client, grpc_server, key_encryption
from chorus_platform.auth import AuthInterceptor, TokenVerifier
from chorus_platform.cli import run_cli
from chorus_platform.db import create_pool
from chorus_platform.metrics import serve_metrics
from chorus_platform.migrations import migrate_database
from chorus_platform.outbox import OutboxRelay
from chorus_platform.request_hygiene import RequestHygieneInterceptor
from chorus_platform.retention import purge_records_command
from chorus_platform.revocation import RevocationFeed, RevokedSession, RevokedSessionsSource
from chorus_platform.unit_of_work import UnitOfWork

from chorus_identity.api.errors import STATUS_CODES
from chorus_identity.api.servicer import PUBLIC_METHODS, SERVICE_NAME, IdentityServicer
from chorus_identity.clients.sealing import KeySource, TokenSealer, notifications_key_source
from chorus_identity.clients.structures import StructuresClient
from chorus_identity.config import IdentitySettings
from chorus_identity.domain.errors import UserNotFound
from chorus_identity.domain.hashing import SecretHasher
from chorus_identity.domain.lockout import LockoutPolicy
from chorus_identity.events import outgoing
from chorus_identity.store import signing_keys, two_factor
from chorus_identity.store.retention import purge_rules
from chorus_identity.usecases.accounts import Accounts
from chorus_identity.usecases.admin import Admin, grant_admin
from chorus_identity.usecases.api_clients import ApiClients
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.legacy_emails import convert_legacy_emails
from chorus_identity.usecases.login_guard import LoginGuard
from chorus_identity.usecases.logins import Logins
from chorus_identity.usecases.my_account import MyAccount
from chorus_identity.usecases.password_resets import PasswordResets
from chorus_identity.usecases.reauth import Reauthenticator
from chorus_identity.usecases.revocations import RevokedSessions
from chorus_identity.usecases.rules import Rules
from chorus_identity.usecases.sessions import Sessions
from chorus_identity.usecases.signing_keys import KeyRing
from chorus_identity.usecases.technical_accounts import TechnicalAccounts
from chorus_identity.usecases.two_factor import TwoFactor

log = logging.getLogger("chorus_identity")
PROGRAM = "chorus-identity"


def unit_of_work(pool: asyncpg.Pool) -> UnitOfWork:
    """Begins the use cases' transactions; their events go to ``chorus.identity.events.v1``."""
    return UnitOfWork(pool, service=outgoing.SERVICE, encode=outgoing.encode)


SECRETS_AT_REST = [signing_keys.PRIVATE_KEY, two_factor.TOTP_SECRET]
"""identity's columns of secrets encrypted under CHORUS_KEK (what ``rewrap-keys`` goes over)."""


def key_ring(
    settings: IdentitySettings, uow: UnitOfWork, kek: key_encryption.KekRing | None = None
) -> KeyRing:
    """The signing keys, their private halves under ``kek`` (default: CHORUS_KEK's ring)."""
    return KeyRing(
        uow,
        kek=kek or key_encryption.ring_from_settings(settings),
        access_token_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        longest_token_ttl=timedelta(seconds=settings.client_token_ttl_seconds),
    )


def rules_of(settings: IdentitySettings) -> Rules:
    return Rules(
        activation_ttl=timedelta(minutes=settings.activation_ttl_minutes),
        access_token_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        password_reset_ttl=timedelta(minutes=settings.password_reset_ttl_minutes),
        email_change_ttl=timedelta(minutes=settings.email_change_ttl_minutes),
        refresh_token_ttl=timedelta(days=settings.refresh_token_ttl_days),
        password_profile=settings.password_policy,
        lockout=LockoutPolicy(
            max_failures=settings.login_max_failures,
            duration=timedelta(seconds=settings.login_lockout_seconds),
        ),
        terms_version=settings.terms_of_use_version,
        mfa_challenge_ttl=timedelta(seconds=settings.mfa_challenge_ttl_seconds),
        totp_issuer=settings.totp_issuer,
        anonymous_answer_min=timedelta(milliseconds=settings.anonymous_answer_min_ms),
        client_token_ttl=timedelta(seconds=settings.client_token_ttl_seconds),
        technical_token_ttl=timedelta(seconds=settings.technical_token_ttl_seconds),
        technical_password_days=settings.technical_password_days,
    )


def own_revoked_sessions(revoked: RevokedSessions) -> RevokedSessionsSource:
    """identity's deny-list is primed from its own database, not through gRPC to itself."""

    async def fetch(since: float | None) -> list[RevokedSession]:
        moment = None if since is None else datetime.fromtimestamp(since, UTC)
        return [
            RevokedSession(s.id, s.tokens_valid_until.timestamp())
            for s in await revoked.all(revoked_since=moment)
        ]

    return fetch


async def create_app(
    settings: IdentitySettings,
    pool: asyncpg.Pool,
    *,
    sealing_key_source: KeySource,
    structures: grpc.aio.Channel,
    clock: Clock = utc_now,
) -> grpc_server.GrpcApp:
    """The gRPC application on ``pool``; makes sure a signing key exists first.

    ``sealing_key_source`` gives notifications' public sealing key (over gRPC in ``serve``);
    ``structures`` is a channel to the structures service (who manages a structure);
    ``clock`` is the time technical accounts' expiry is judged by (tests move it).

    Secrets at rest first: what an older release left in clear is encrypted under the first
    KEK, and a stored secret under a KEK that CHORUS_KEK lacks stops the start
    (KeyEncryptionError naming it), as does a signing key the ring cannot open.
    """
    uow = unit_of_work(pool)
    kek = key_encryption.ring_from_settings(settings)
    await key_encryption.prepare_secrets(uow, kek, SECRETS_AT_REST)
    keys = key_ring(settings, uow, kek)
    await keys.ensure_active_key()
    hasher = SecretHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
    # Computes the throwaway hash now, so the first unknown-login attempt is not slower.
    await asyncio.to_thread(hasher.spend_comparable_work, "")
    rules = rules_of(settings)
    sealer = TokenSealer(sealing_key_source, cache_seconds=settings.sealing_key_cache_seconds)
    sessions = Sessions(uow, keys, rules)
    revoked_sessions = RevokedSessions(uow, rules)
    my_account = MyAccount(uow, hasher, sealer, sessions, rules)
    reauth = Reauthenticator(uow, hasher, LoginGuard(uow, rules.lockout, utc_now))
    technical = TechnicalAccounts(
        uow, keys, sessions, StructuresClient(structures), rules, clock=clock
    )
    servicer = IdentityServicer(
        accounts=Accounts(uow, hasher, sealer, rules),
        logins=Logins(uow, hasher, keys, rules, kek=kek),
        sessions=sessions,
        keys=keys,
        resets=PasswordResets(uow, hasher, sealer, rules),
        my_account=my_account,
        two_factor=TwoFactor(uow, my_account, reauth, rules, kek=kek),
        admin=Admin(uow, sessions, rules),
        revoked=revoked_sessions,
        api_clients=ApiClients(uow, keys, sessions, rules),
        technical=technical,
        clock=clock,
    )
    # "Mon compte" checks its session in the database (require_live); the deny-list covers
    # every other authenticated RPC (GetUser, BatchGetUsers…) as in the other services.
    revocations = RevocationFeed(settings, own_revoked_sessions(revoked_sessions))
    # identity verifies its own tokens from its own database, not through gRPC to itself.
    verifier = TokenVerifier(
        keys.public_keys,
        ttl_seconds=settings.token_key_cache_seconds,
        min_refetch_seconds=settings.token_key_refetch_seconds,
        revoked=revocations.revoked,
    )

    def register(server):
        pb_grpc.add_IdentityServiceServicer_to_server(servicer, server)
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
            revocations.ready,
        ],
        background=[
            OutboxRelay(settings.database_dsn, settings).run,
            revocations.run,
            lambda: keys.rotate_on_schedule(
                max_age=timedelta(hours=settings.signing_key_max_age_hours),
                check_every=settings.key_rotation_check_seconds,
            ),
            lambda: technical.remind_on_schedule(
                every_seconds=settings.technical_expiry_scan_seconds
            ),
        ],
        reflection=settings.env == "dev",
        max_connection_age_seconds=settings.grpc_max_connection_age_seconds,
        shutdown_delay_seconds=settings.shutdown_delay_seconds,
    )


async def serve(settings: IdentitySettings) -> None:
    key_encryption.ring_or_exit(settings, PROGRAM)  # CHORUS_KEK checked before anything
    pool = await create_pool(settings.database_dsn, max_size=settings.database_pool_max)
    notifications = grpc_client.channel_for(settings, "notifications")
    structures = grpc_client.channel_for(settings, "structures")
    try:
        try:
            app = await create_app(
                settings,
                pool,
                sealing_key_source=notifications_key_source(notifications),
                structures=structures,
            )
        except key_encryption.KeyEncryptionError as error:
            raise SystemExit(f"{PROGRAM}: {error}") from None
        async with serve_metrics(settings):
            await grpc_server.serve(app)
    finally:
        await structures.close()
        await notifications.close()
        await pool.close()


async def rotate_keys(settings: IdentitySettings) -> None:
    """Creates a new signing key and retires the previous one (still verifying until its
    tokens expire). Running replicas sign with the new key from their next login on."""
    kek = key_encryption.ring_or_exit(settings, PROGRAM)
    pool = await create_pool(settings.database_dsn, max_size=1)
    try:
        rotation = await key_ring(settings, unit_of_work(pool), kek).rotate()
    finally:
        await pool.close()
    print(f"new signing key: {rotation.new_kid} (retired: {rotation.retired_kid or '-'})")


async def rewrap_keys(settings: IdentitySettings) -> None:
    """Re-encrypts every stored secret (signing keys, TOTP seeds) under the first KEK of
    CHORUS_KEK, clear leftovers included; batched, idempotent. Prints the counts per column
    and, afterwards, per KEK: once every count names the first KEK only, the others can go."""
    kek = key_encryption.ring_or_exit(settings, PROGRAM)
    pool = await create_pool(settings.database_dsn, max_size=1)
    try:
        counts = await key_encryption.rewrap_all(unit_of_work(pool), kek, SECRETS_AT_REST)
    except key_encryption.KeyEncryptionError as error:
        raise SystemExit(f"{PROGRAM} rewrap-keys: {error}") from None
    finally:
        await pool.close()
    for line in key_encryption.report_lines(counts, kek):
        print(line)


async def migrate(settings: IdentitySettings) -> None:
    """The SQL migrations (platform's and identity's), then the data step no SQL can do:
    addresses stored with a Unicode domain take their ASCII form (``legacy_emails``)."""
    applied = await migrate_database(
        settings.database_dsn, settings.service_name, settings.migrations_path
    )
    pool = await create_pool(settings.database_dsn, max_size=1)
    try:
        await convert_legacy_emails(unit_of_work(pool))
    finally:
        await pool.close()
    logging.getLogger("chorus.migrate").info("migrations up to date", extra={"applied": applied})


def grant_admin_to(login_email: str):
    """The ``grant-admin`` command for one login e-mail."""

    async def grant(settings: IdentitySettings) -> None:
        pool = await create_pool(settings.database_dsn, max_size=1)
        try:
            account = await grant_admin(unit_of_work(pool), login_email)
        except (UserNotFound, ValueError):
            raise SystemExit("no account with this login e-mail") from None
        finally:
            await pool.close()
        print(f"administrator: {account.id}")

    return grant


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    args, purge_records = purge_records_command(purge_rules, args)
    # The shared CLI takes no arguments per command: the e-mail is taken off here.
    login_email = args.pop() if args[:1] == ["grant-admin"] and len(args) == 2 else ""
    settings = IdentitySettings()
    run_cli(
        settings,
        serve=serve,
        # identity's own ``migrate`` (below) adds a data step after the shared SQL runner.
        migrations_dir=None,
        extra={
            "migrate": ("create the database, apply migrations, convert legacy e-mails", migrate),
            "rotate-keys": ("create a new token signing key, retire the previous", rotate_keys),
            "rewrap-keys": (
                "re-encrypt every stored secret under the first key of CHORUS_KEK",
                rewrap_keys,
            ),
            "grant-admin": (
                "grant-admin <login e-mail>: flag that account as an administrator",
                grant_admin_to(login_email),
            ),
            **purge_records,
        },
        argv=args,
    )


if __name__ == "__main__":
    main()
