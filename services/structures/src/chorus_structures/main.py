"""Wiring of the structures service: ``chorus-structures serve | migrate | seed-demo |
purge-records [--dry-run]``."""

from __future__ import annotations

import sys

import asyncpg
import grpc
from chorus.structures.v1 import structures_service_pb2_grpc as pb_grpc
from chorus_platform import checks, grpc_client, grpc_server
from chorus_platform.auth import AuthInterceptor, TokenVerifier
from chorus_platform.cli import run_cli
from chorus_platform.db import create_pool
from chorus_platform.idempotency import IdempotencyInterceptor
from chorus_platform.metrics import serve_metrics
from chorus_platform.outbox import OutboxRelay
from chorus_platform.request_hygiene import RequestHygieneInterceptor
from chorus_platform.retention import purge_records_command
from chorus_platform.revocation import RevocationFeed
from chorus_platform.unit_of_work import UnitOfWork

from chorus_structures.api.errors import STATUS_CODES
from chorus_structures.api.handlers import UseCases
from chorus_structures.api.servicer import SERVICE_NAME, StructuresServicer
from chorus_structures.clients.identity import IdentityDirectory
from chorus_structures.config import StructuresSettings
from chorus_structures.events import outgoing
from chorus_structures.seed import cli as directory_cli
from chorus_structures.seed.demo import seed_demo_structures
from chorus_structures.seed.directory import import_default_directory
from chorus_structures.store.retention import purge_rules
from chorus_structures.usecases.access import AccessChecks
from chorus_structures.usecases.attachments import Attachments
from chorus_structures.usecases.directory import Directory
from chorus_structures.usecases.membership import Members
from chorus_structures.usecases.my_memberships import MyMemberships
from chorus_structures.usecases.pending_requests import PendingRequestsSummary
from chorus_structures.usecases.registration import Registration
from chorus_structures.usecases.sollicitations import Sollicitations
from chorus_structures.usecases.spaces import Spaces
from chorus_structures.usecases.structures import StructureManagement

# RPCs behind the gateway's creating POSTs: a retry with the same Idempotency-Key replays them.
IDEMPOTENT_METHODS = {
    f"/{SERVICE_NAME}/{method}"
    for method in (
        "CreateStructure",
        "CreateService",
        "AttachMemberByEmail",
        "RequestAttachment",
        "RequestSubscription",
    )
}

# RPCs a caller without a token may make: the directory look-ups of a public recipient
# (invoices' flow worker checks an archive's files after the depositor's token is gone). The
# use cases answer an anonymous caller public structures only; a token sent must be valid.
PUBLIC_METHODS = {
    f"/{SERVICE_NAME}/{method}" for method in ("GetStructure", "FindStructureByIdentifier")
}


def build_app(
    settings: StructuresSettings,
    pool: asyncpg.Pool,
    verifier: TokenVerifier,
    identity_channel: grpc.aio.Channel | None = None,
    revocations: RevocationFeed | None = None,
) -> grpc_server.GrpcApp:
    """The gRPC app; tests inject their own pool, token verifier and identity channel
    (without one, member names are not shown and direct attachment is unavailable).
    ``revocations`` (the verifier's deny-list feed) runs in the background and gates
    readiness."""
    uow = UnitOfWork(pool, service=outgoing.SERVICE, encode=outgoing.encode)
    identity = IdentityDirectory(identity_channel)
    servicer = StructuresServicer(
        UseCases(
            registration=Registration(uow, settings),
            directory=Directory(uow),
            access=AccessChecks(uow),
            my_memberships=MyMemberships(uow),
            management=StructureManagement(uow),
            members=Members(uow, identity),
            attachments=Attachments(uow, identity, settings),
            spaces=Spaces(uow, identity),
            pending_requests=PendingRequestsSummary(uow),
            sollicitations=Sollicitations(uow, identity, settings),
        )
    )

    def register(server):
        pb_grpc.add_StructuresServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    relay = OutboxRelay(settings.database_dsn, settings)
    return grpc_server.GrpcApp(
        name=settings.service_name,
        port=settings.grpc_port,
        register=register,
        error_status_codes=STATUS_CODES,
        interceptors=[
            AuthInterceptor(verifier, public_methods=PUBLIC_METHODS),
            RequestHygieneInterceptor(),
            IdempotencyInterceptor(pool, IDEMPOTENT_METHODS),
        ],
        readiness_checks=[
            checks.database_check(pool),
            *([revocations.ready] if revocations else []),
        ],
        background=[relay.run, *([revocations.run] if revocations else [])],
        reflection=settings.env == "dev",
        max_connection_age_seconds=settings.grpc_max_connection_age_seconds,
        shutdown_delay_seconds=settings.shutdown_delay_seconds,
    )


async def serve(settings: StructuresSettings) -> None:
    pool = await create_pool(settings.database_dsn, max_size=settings.database_pool_max)
    identity_channel = grpc_client.channel_for(settings, "identity")
    try:
        revocations = grpc_client.identity_revocation_feed(settings)
        async with (
            grpc_client.identity_token_verifier(settings, revoked=revocations.revoked) as verifier,
            serve_metrics(settings),
        ):
            await grpc_server.serve(
                build_app(settings, pool, verifier, identity_channel, revocations)
            )
    finally:
        await identity_channel.close()
        await pool.close()


async def seed_demo(settings: StructuresSettings) -> None:
    pool = await create_pool(settings.database_dsn, max_size=2)
    try:
        await seed_demo_structures(pool)
        await import_default_directory(pool)
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> None:
    settings = StructuresSettings()
    args = sys.argv[1:] if argv is None else argv
    args, purge_records = purge_records_command(purge_rules, args)
    if args and args[0] in directory_cli.COMMANDS:
        raise SystemExit(directory_cli.run(settings, args))
    run_cli(
        settings,
        serve=serve,
        migrations_dir=settings.migrations_path,
        extra={
            "seed-demo": (
                "register the demo public structures and the small default directory "
                "(idempotent); see also: import-directory FILE, "
                "generate-directory --count N --out FILE",
                seed_demo,
            ),
            **purge_records,
        },
        argv=args,
    )
