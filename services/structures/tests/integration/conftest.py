"""Fixtures: the service on a free port over one migrated database (emptied before each test)
and the real broker, with tokens from a TestSigner."""

from __future__ import annotations

import secrets
import uuid

import grpc
import pytest
import pytest_asyncio
from chorus.common.v1 import common_pb2
from chorus.identity.v1 import identity_service_pb2 as identity_pb
from chorus.identity.v1 import identity_service_pb2_grpc as identity_grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2_grpc as pb_grpc
from chorus_platform import grpc_server
from chorus_platform.db import create_pool
from chorus_platform.migrations import migrate_database
from chorus_platform.testing.tokens import TestSigner
from chorus_structures.config import StructuresSettings
from chorus_structures.main import build_app
from stdnum import luhn

TABLES = (
    "structures, structure_services, memberships, membership_services, spaces, subscriptions,"
    " attachment_requests, manager_actions, sollicitations, sollicitation_messages,"
    " sollicitation_attachments,"
    " outbox, inbox, idempotency_keys"
)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def service_settings(postgres_server, kafka_broker) -> StructuresSettings:
    """One migrated database for the session; each test starts from empty tables."""
    name = f"structures_{uuid.uuid4().hex[:12]}"
    settings = StructuresSettings(
        database_url=postgres_server.url_for(name),
        database_name=name,
        kafka_bootstrap=kafka_broker.bootstrap,
        grpc_port=0,
        outbox_poll_seconds=0.2,
    )
    await migrate_database(settings.database_dsn, "structures", settings.migrations_path)
    return settings


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pool(service_settings):
    pool = await create_pool(service_settings.database_dsn, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def signer() -> TestSigner:
    return _SIGNER


_SIGNER = TestSigner()


class FakeIdentity(identity_grpc.IdentityServiceServicer):
    """identity as structures uses it: accounts by id and by login e-mail, kept in memory.

    The real identity needs its own database and keys; these tests are about structures.
    ``calls`` records the metadata of each call (the caller's token must be forwarded).
    """

    def __init__(self) -> None:
        self.users: dict[str, identity_pb.User] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []

    def add(self, first_name="Pierre", last_name="Martin", status=None) -> identity_pb.User:
        user_id = str(uuid.uuid4())
        user = identity_pb.User(
            id=user_id,
            login_email=f"{first_name.lower()}.{user_id[:8]}@exemple.fr",
            contact_email=f"contact.{user_id[:8]}@exemple.fr",
            first_name=first_name,
            last_name=last_name,
            status=status or identity_pb.USER_STATUS_ACTIF,
        )
        self.users[user_id] = user
        return user

    def _record(self, method, context):
        self.calls.append((method, dict(context.invocation_metadata() or ())))

    async def BatchGetUsers(self, request, context):
        self._record("BatchGetUsers", context)
        return identity_pb.BatchGetUsersResponse(
            users=[self.users[i] for i in request.user_ids if i in self.users]
        )

    async def FindUserByLoginEmail(self, request, context):
        self._record("FindUserByLoginEmail", context)
        for user in self.users.values():
            if user.login_email == request.login_email.lower():
                return identity_pb.FindUserByLoginEmailResponse(user=user)
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such user")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def fake_identity_server():
    fake = FakeIdentity()
    server = grpc.aio.server()
    identity_grpc.add_IdentityServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield fake, channel
    await channel.close()
    await server.stop(None)


@pytest.fixture
def identity(fake_identity_server) -> FakeIdentity:
    fake, _ = fake_identity_server
    fake.calls.clear()
    return fake


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def server(service_settings, pool, fake_identity_server):
    _, identity_channel = fake_identity_server
    app = build_app(service_settings, pool, _SIGNER.verifier(), identity_channel)
    app.host = "127.0.0.1"
    app.grace_seconds = 1.0
    running = await grpc_server.start(app)
    yield running
    await running.stop()


@pytest.fixture(autouse=True)
async def empty_tables(pool):
    await pool.execute(f"TRUNCATE {TABLES}")


@pytest.fixture
def settings(service_settings) -> StructuresSettings:
    """The running service's settings; the servicer reads them on each call, so a test may
    change one with ``monkeypatch.setattr`` and have it restored afterwards."""
    return service_settings


@pytest.fixture
async def stub(server):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.StructuresServiceStub(channel)


@pytest.fixture
def user_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def as_user(signer, user_id):
    """Metadata authenticating the test's user."""
    return signer.metadata(user_id)


def random_siret() -> str:
    """A fresh SIRET with valid SIREN and SIRET check digits."""
    siren = str(secrets.randbelow(9 * 10**7) + 10**7)
    siren += luhn.calc_check_digit(siren)
    base = siren + f"{secrets.randbelow(10**4):04d}"
    return base + luhn.calc_check_digit(base)


@pytest.fixture
def create_request():
    """Builds a valid CreateStructureRequest (a private company, fresh SIRET) with overrides."""
    return _create_request


def _create_request(**fields) -> pb.CreateStructureRequest:
    values = {
        "identifier_type": pb.IDENTIFIER_TYPE_SIRET,
        "identifier": random_siret(),
        "raison_sociale": "Boulangerie Dupont",
        "address": common_pb2.Address(
            line1="3 rue des Lilas", postal_code="69003", city="Lyon", country="FR"
        ),
        **fields,
    }
    return pb.CreateStructureRequest(**values)
