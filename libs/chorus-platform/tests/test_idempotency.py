"""Idempotency-Key: a retried creating RPC gets the first answer, on a real PostgreSQL."""

import asyncio
from datetime import timedelta

import asyncpg
import grpc
import pytest
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform import grpc_server
from chorus_platform.auth import AuthInterceptor, current_principal
from chorus_platform.db import create_pool
from chorus_platform.errors import InvalidArgument
from chorus_platform.grpc_client import open_channel
from chorus_platform.idempotency import IdempotencyInterceptor
from chorus_platform.migrations import apply_migrations, platform_migrations
from chorus_platform.rpc_status import from_rpc_error
from chorus_platform.testing.tokens import TestSigner

SERVICE = pb.DESCRIPTOR.services_by_name["NotificationsService"].full_name
CREATING = f"/{SERVICE}/ListFeed"


class Counter(pb_grpc.NotificationsServiceServicer):
    """ListFeed stands for a creating RPC: each run 'creates' the next number."""

    def __init__(self):
        self.runs = 0
        self.release = asyncio.Event()
        self.release.set()
        self.gates: list[asyncio.Event] = []
        """When set, each call in turn waits for its own gate instead of ``release``."""

    async def ListFeed(self, request, context):
        if request.page_token == "refused":
            raise InvalidArgument("REFUSED", "Refusé.")
        await (self.gates.pop(0) if self.gates else self.release).wait()
        self.runs += 1
        return pb.ListFeedResponse(next_page_token=f"{current_principal().user_id}#{self.runs}")

    async def MarkFeedItemRead(self, request, context):
        self.runs += 1
        return pb.MarkFeedItemReadResponse()


@pytest.fixture
async def pool(make_database):
    dsn = await make_database("idem")
    conn = await asyncpg.connect(dsn)
    await apply_migrations(conn, platform_migrations())
    await conn.close()
    pool = await create_pool(dsn, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def served(pool):
    signer, servicer = TestSigner(), Counter()
    interceptor = IdempotencyInterceptor(
        pool, {CREATING}, stale_after=timedelta(seconds=1), purge_probability=1.0
    )
    app = grpc_server.GrpcApp(
        name="test",
        port=0,
        host="127.0.0.1",
        register=lambda s: (pb_grpc.add_NotificationsServiceServicer_to_server(servicer, s), [])[1],
        interceptors=[AuthInterceptor(signer.verifier(), public_methods=set()), interceptor],
        check_interval_seconds=0.1,
        grace_seconds=1,
    )
    running = await grpc_server.start(app)
    channel = open_channel(f"127.0.0.1:{running.port}", deadline_seconds=5)
    stub = pb_grpc.NotificationsServiceStub(channel)

    async def call(user: str, key: str | None, token: str = "") -> str:
        metadata = signer.metadata(user) + ((("idempotency-key", key),) if key is not None else ())
        response = await stub.ListFeed(pb.ListFeedRequest(page_token=token), metadata=metadata)
        return response.next_page_token

    yield call, servicer, stub, signer
    await channel.close()
    await running.stop()


async def failure(call):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason


async def test_a_replay_returns_the_first_answer_without_running_again(served):
    call, servicer, _, _ = served

    first = await call("u1", "k-1")
    again = await call("u1", "k-1")

    assert first == again == "u1#1"
    assert servicer.runs == 1
    assert await call("u1", "k-2") == "u1#2"  # another key is another operation


async def test_without_a_key_every_call_runs(served):
    call, _, _, _ = served

    assert [await call("u1", None) for _ in range(2)] == ["u1#1", "u1#2"]


async def test_keys_belong_to_their_caller(served):
    call, _, _, _ = served

    assert await call("u1", "shared") == "u1#1"
    assert await call("u2", "shared") == "u2#2"


async def test_the_same_key_for_another_request_is_refused(served):
    call, servicer, _, _ = served
    await call("u1", "k-1")

    assert await failure(call("u1", "k-1", token="autre")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "IDEMPOTENCY_KEY_REUSED",
    )
    assert servicer.runs == 1


async def test_a_refused_request_releases_its_key(served):
    call, _, _, _ = served

    assert await failure(call("u1", "k-1", token="refused")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "REFUSED",
    )
    # Corrected and sent again with the same key: it runs.
    assert await call("u1", "k-1") == "u1#1"


async def test_a_replay_during_the_first_call_is_told_to_wait(served, pool):
    call, servicer, _, _ = served
    servicer.release.clear()
    first = asyncio.create_task(call("u1", "k-1"))
    async with asyncio.timeout(5):
        while not await pool.fetchval("SELECT count(*) FROM idempotency_keys"):
            await asyncio.sleep(0.02)

    assert await failure(call("u1", "k-1")) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "IDEMPOTENCY_REQUEST_IN_PROGRESS",
    )
    servicer.release.set()
    assert await first == "u1#1"
    assert await call("u1", "k-1") == "u1#1"
    assert servicer.runs == 1


async def test_an_abandoned_reservation_is_taken_over(served, pool):
    call, servicer, _, _ = served
    servicer.release.clear()
    first = asyncio.create_task(call("u1", "k-1"))
    async with asyncio.timeout(5):
        while not await pool.fetchval("SELECT count(*) FROM idempotency_keys"):
            await asyncio.sleep(0.02)
    first.cancel()  # the client gives up; the server-side call stays pending
    await pool.execute("UPDATE idempotency_keys SET created_at = now() - interval '2 seconds'")
    servicer.release.set()

    assert (await call("u1", "k-1")).startswith("u1#")


async def test_expired_keys_are_forgotten(served, pool):
    call, _, _, _ = served
    await call("u1", "k-1")
    await pool.execute("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")

    assert await call("u1", "k-2") == "u1#2"  # the purge ran (probability 1 here)
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'k-1'") == 0
    assert await call("u1", "k-1") == "u1#3"


@pytest.mark.parametrize("key", ["a" * 201, "avec espace", ""])
async def test_unreadable_keys_are_refused(served, key):
    call, servicer, _, _ = served

    assert await failure(call("u1", key)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "IDEMPOTENCY_KEY_INVALID",
    )
    assert servicer.runs == 0


async def test_other_methods_ignore_the_key(served):
    _, servicer, stub, signer = served
    metadata = (*signer.metadata("u1"), ("idempotency-key", "k-1"))

    for _ in range(2):
        await stub.MarkFeedItemRead(pb.MarkFeedItemReadRequest(), metadata=metadata)

    assert servicer.runs == 2


async def test_a_holder_taken_over_never_overwrites_the_answer_of_the_one_that_took_it(
    served, pool
):
    call, servicer, _, _ = served
    first_gate, second_gate = asyncio.Event(), asyncio.Event()
    servicer.gates = [first_gate, second_gate]
    first = asyncio.create_task(call("u1", "k-1"))
    async with asyncio.timeout(5):
        while not await pool.fetchval("SELECT count(*) FROM idempotency_keys"):
            await asyncio.sleep(0.02)
    await pool.execute("UPDATE idempotency_keys SET created_at = now() - interval '2 seconds'")
    second = asyncio.create_task(call("u1", "k-1"))  # takes the stale reservation over
    async with asyncio.timeout(5):
        while servicer.gates:
            await asyncio.sleep(0.02)

    second_gate.set()  # the new holder finishes first...
    assert await second == "u1#1"
    first_gate.set()  # ...then the call it took over from, whose answer must not replace it
    assert await first == "u1#2"

    assert await call("u1", "k-1") == "u1#1"
