"""PostgreSQL stopped under the invoices service, then started again (a real server of its
own, stopped with ``pg_ctl stop -m fast`` as a restart does): calls answer UNAVAILABLE
DATABASE_UNAVAILABLE with a retry hint instead of INTERNAL, the service serves again as soon
as the database is back, and a keyed deposit cut off by the outage leaves its key free."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import asyncpg
import grpc
import pytest
import pytest_asyncio
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc
from chorus_devstack.ports import free_port
from chorus_devstack.postgres import PostgresServer
from chorus_invoices.config import InvoicesSettings
from chorus_invoices.main import build_app
from chorus_platform import grpc_server
from chorus_platform.db import create_pool
from chorus_platform.grpc_client import channel_for
from chorus_platform.migrations import migrate_database
from chorus_platform.rpc_status import RemoteError, from_rpc_error


class Service:
    """The invoices service on the outage's database, called as a user."""

    def __init__(self, stub: pb_grpc.InvoicesServiceStub, signer, dsn: str) -> None:
        self.stub = stub
        self._signer = signer
        self._dsn = dsn

    def as_user(self, user_id: str) -> tuple:
        return self._signer.metadata(user_id)

    async def count_invoices(self) -> int:
        conn = await asyncpg.connect(self._dsn)
        try:
            return await conn.fetchval("SELECT count(*) FROM invoices")
        finally:
            await conn.close()


class HeldBeforeTheHandler(grpc.aio.ServerInterceptor):
    """Holds CreateInvoice just before its handler, once the Idempotency-Key's transaction
    is open (its connection taken, the key locked)."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if not handler_call_details.method.endswith("/CreateInvoice"):
            return handler
        inner = handler.unary_unary

        async def held(request, context):
            self.reached.set()
            await self.release.wait()
            return await inner(request, context)

        return handler._replace(unary_unary=held)


@pytest_asyncio.fixture
async def database_server():
    """A PostgreSQL server of this test's own, which keeps its data when stopped."""
    root = Path(tempfile.mkdtemp(prefix="chorus-outage-"))
    root.chmod(0o755)  # the postgres system user runs the server
    server = PostgresServer(root / "data", free_port(), ephemeral=False)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture
async def outage(database_server, kafka_broker, fake_structures, signer, document_workers):
    """(the invoices API on ``database_server``, the interceptor holding CreateInvoice)."""
    dsn = database_server.url_for("invoices")
    settings = InvoicesSettings(
        database_url=dsn,
        database_name="invoices",
        kafka_bootstrap=kafka_broker.bootstrap,
        grpc_port=0,
        structures_addr=f"127.0.0.1:{fake_structures.port}",
    )
    await migrate_database(dsn, "invoices", settings.migrations_path)
    pool = await create_pool(dsn, max_size=4)
    structures_channel = channel_for(settings, "structures")
    held = HeldBeforeTheHandler()
    app = build_app(
        settings,
        pool=pool,
        verifier=signer.verifier(),
        structures_channel=structures_channel,
        background=False,
        workers=document_workers,
    )
    app.interceptors.append(held)
    running = await grpc_server.start(app)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Service(pb_grpc.InvoicesServiceStub(channel), signer, dsn), held
    finally:
        await channel.close()
        await running.stop()
        await structures_channel.close()
        pool.terminate()


async def failure(call) -> RemoteError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return from_rpc_error(caught.value)


def assert_database_unavailable(error: RemoteError) -> None:
    assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE")
    assert error.metadata["retry_after_seconds"] == "5"
    assert error.metadata["correlation_id"]


async def test_a_stopped_database_is_unavailable_not_internal_then_serves_again(
    outage, database_server, parties, make_request
):
    api, _ = outage
    keyed = (*api.as_user(parties.user), ("idempotency-key", "k-1"))
    mine = api.as_user(parties.user)
    first = (await api.stub.CreateInvoice(make_request(parties), metadata=mine)).invoice
    request = make_request(parties)

    await asyncio.to_thread(database_server.stop)
    get_first = pb.GetInvoiceRequest(invoice_id=first.id)
    read = await failure(api.stub.GetInvoice(get_first, metadata=mine))
    deposit = await failure(api.stub.CreateInvoice(request, metadata=keyed))
    await asyncio.to_thread(database_server.start)

    assert_database_unavailable(read)
    assert_database_unavailable(deposit)
    assert (await api.stub.GetInvoice(get_first, metadata=mine)).invoice.id == first.id
    deposited = (await api.stub.CreateInvoice(request, metadata=keyed)).invoice
    assert (await api.stub.CreateInvoice(request, metadata=keyed)).invoice == deposited
    assert await api.count_invoices() == 2


async def test_a_keyed_deposit_whose_connection_is_lost_midway_is_retried_at_once(
    outage, database_server, parties, make_request
):
    api, held = outage
    keyed = (*api.as_user(parties.user), ("idempotency-key", "k-1"))
    request = make_request(parties)
    held.release.clear()
    cut_off = asyncio.ensure_future(api.stub.CreateInvoice(request, metadata=keyed))
    async with asyncio.timeout(10):
        await held.reached.wait()

    await asyncio.to_thread(database_server.stop)  # terminates the call's connection
    held.release.set()
    lost = await failure(cut_off)
    await asyncio.to_thread(database_server.start)

    assert_database_unavailable(lost)
    deposited = (await api.stub.CreateInvoice(request, metadata=keyed)).invoice  # no 409
    assert deposited.number == request.number
    assert await api.count_invoices() == 1
