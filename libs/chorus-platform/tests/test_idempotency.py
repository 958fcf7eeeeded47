"""Idempotency-Key: a retried creating RPC gets the first answer, on a real PostgreSQL; the
key and the effect it guards commit together (a killed process leaves neither)."""

import asyncio
import hashlib
import json
import os
import sys
import uuid
from pathlib import Path

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
from chorus_platform.unit_of_work import UnitOfWork
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SERVICE = pb.DESCRIPTOR.services_by_name["NotificationsService"].full_name
CREATING = f"/{SERVICE}/ListFeed"
PROBE = Path(__file__).parent / "probes" / "idempotency_probe.py"
EFFECTS = "CREATE TABLE effects (n serial PRIMARY KEY, owner text NOT NULL, note text)"


class Counter(pb_grpc.NotificationsServiceServicer):
    """ListFeed stands for a creating RPC: each run writes an effect row through the unit of
    work, then 'creates' the next number."""

    def __init__(self, uow: UnitOfWork):
        self.uow = uow
        self.runs = 0
        self.started = asyncio.Event()
        """Set once a call has written its effect (its key is then held)."""
        self.release = asyncio.Event()
        self.release.set()

    async def ListFeed(self, request, context):
        user = current_principal().user_id
        if request.page_token == "refused":
            raise InvalidArgument("REFUSED", "Refusé.")
        if request.page_token == "refused-after-cleanup":
            async with self.uow.transaction() as tx:  # what a refusal path does (drop files)
                await tx.conn.execute(
                    "INSERT INTO effects (owner, note) VALUES ($1, 'cleanup')", user
                )
            raise InvalidArgument("REFUSED", "Refusé.")
        async with self.uow.transaction() as tx:
            await tx.conn.execute("INSERT INTO effects (owner) VALUES ($1)", user)
        async with self.uow.reading() as conn:  # reads see the call's own writes
            assert await conn.fetchval("SELECT count(*) FROM effects WHERE owner = $1", user)
        self.started.set()
        await self.release.wait()
        if request.page_token == "boom":
            raise RuntimeError("an unexpected failure after the effect")
        self.runs += 1
        return pb.ListFeedResponse(next_page_token=f"{user}#{self.runs}")

    async def MarkFeedItemRead(self, request, context):
        self.runs += 1
        return pb.MarkFeedItemReadResponse()


@pytest.fixture
async def pool(make_database):
    dsn = await make_database("idem")
    conn = await asyncpg.connect(dsn)
    await apply_migrations(conn, platform_migrations())
    await conn.execute(EFFECTS)
    await conn.close()
    pool = await create_pool(dsn, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def served(pool):
    signer, servicer = TestSigner(), Counter(UnitOfWork(pool, service="idemtest"))
    interceptor = IdempotencyInterceptor(pool, {CREATING}, purge_probability=1.0)
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


async def effects(pool, note=None) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM effects WHERE note IS NOT DISTINCT FROM $1", note
    )


async def no_transaction_left(pool) -> None:
    """Until no other session holds a transaction open (a call's rollback has reached the
    server), so that what follows does not race it."""
    async with asyncio.timeout(10):
        while await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        ):
            await asyncio.sleep(0.02)


async def test_a_replay_during_the_first_call_is_told_to_wait(served, pool):
    call, servicer, _, _ = served
    servicer.release.clear()
    first = asyncio.create_task(call("u1", "k-1"))
    async with asyncio.timeout(5):
        await servicer.started.wait()

    assert await failure(call("u1", "k-1")) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "IDEMPOTENCY_REQUEST_IN_PROGRESS",
    )
    # Nothing of the running call is visible before it ends: neither its effect nor its key.
    assert await effects(pool) == 0
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    servicer.release.set()
    assert await first == "u1#1"
    assert await call("u1", "k-1") == "u1#1"
    assert servicer.runs == 1
    assert await effects(pool) == 1


async def test_the_effect_and_the_key_commit_together(served, pool):
    call, _, _, _ = served

    answer = await call("u1", "k-1")

    row = await pool.fetchrow("SELECT response, completed_at FROM idempotency_keys")
    assert pb.ListFeedResponse.FromString(row["response"]).next_page_token == answer
    assert row["completed_at"] is not None
    assert await effects(pool) == 1


async def test_a_call_cancelled_midway_commits_nothing_and_frees_its_key_at_once(served, pool):
    call, servicer, _, _ = served
    servicer.release.clear()
    first = asyncio.create_task(call("u1", "k-1"))
    async with asyncio.timeout(5):
        await servicer.started.wait()
    first.cancel()  # the client gives up: the server cancels the call, which rolls back
    await no_transaction_left(pool)
    servicer.release.set()

    assert await effects(pool) == 0
    assert await call("u1", "k-1") == "u1#1"  # runs afresh, no IN_PROGRESS
    assert await effects(pool) == 1


async def test_an_unexpected_failure_rolls_the_effect_back_and_frees_the_key(served, pool):
    call, _, _, _ = served

    assert await failure(call("u1", "k-1", token="boom")) == (
        grpc.StatusCode.INTERNAL,
        "INTERNAL_ERROR",
    )
    assert await effects(pool) == 0
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0


async def test_a_refusal_keeps_what_its_refusal_path_committed_but_not_the_key(served, pool):
    call, _, _, _ = served

    assert await failure(call("u1", "k-1", token="refused-after-cleanup")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "REFUSED",
    )
    assert await effects(pool, "cleanup") == 1
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0


async def test_a_reservation_of_the_previous_version_is_in_progress_then_taken_over(served, pool):
    call, servicer, _, _ = served
    request_hash = hashlib.sha256(
        pb.ListFeedRequest().SerializeToString(deterministic=True)
    ).digest()
    await pool.execute(
        "INSERT INTO idempotency_keys (principal, method, key, request_hash)"
        " VALUES ('u1', $1, 'k-1', $2)",
        CREATING,
        request_hash,
    )

    assert await failure(call("u1", "k-1")) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "IDEMPOTENCY_REQUEST_IN_PROGRESS",
    )
    await pool.execute("UPDATE idempotency_keys SET created_at = now() - interval '6 minutes'")
    assert await call("u1", "k-1") == "u1#1"
    assert await call("u1", "k-1") == "u1#1"
    assert servicer.runs == 1


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


# -- a process killed mid-call (SIGKILL), then the call retried on a fresh process ----------


class Probe:
    """The probe server (probes/idempotency_probe.py) in its own process."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port

    @classmethod
    async def start(cls, dsn: str, seed: bytes, dies: str = "") -> "Probe":
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(PROBE),
            dsn,
            seed.hex(),
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PROBE_DIES": dies, "OTEL_SDK_DISABLED": "true"},
        )
        async with asyncio.timeout(30):
            line = await process.stdout.readline()
        return cls(process, json.loads(line)["port"])

    async def call(self, signer: TestSigner, key: str) -> str:
        async with open_channel(f"127.0.0.1:{self.port}", deadline_seconds=10) as channel:
            response = await pb_grpc.NotificationsServiceStub(channel).ListFeed(
                pb.ListFeedRequest(), metadata=(*signer.metadata("u1"), ("idempotency-key", key))
            )
        return response.next_page_token

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


@pytest.fixture
async def killable(make_database):
    """(start a probe, a signer its tokens verify with, a pool on its database)."""
    dsn = await make_database("idemkill")
    conn = await asyncpg.connect(dsn)
    await apply_migrations(conn, platform_migrations())
    await conn.execute(EFFECTS)
    await conn.close()
    seed = os.urandom(32)
    signer = TestSigner()
    signer._key = Ed25519PrivateKey.from_private_bytes(seed)
    probes: list[Probe] = []

    async def start(dies: str = "") -> Probe:
        probes.append(await Probe.start(dsn, seed, dies))
        return probes[-1]

    pool = await create_pool(dsn, max_size=2)
    yield start, signer, pool
    await pool.close()
    for probe in probes:
        await probe.stop()


async def killed_during(probe: Probe, signer: TestSigner, key: str) -> None:
    """Sends the call that kills the probe; the client sees the connection drop."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe.call(signer, key)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert await probe.process.wait() == -9  # SIGKILL, not a clean exit


async def test_a_process_killed_before_the_effect_commits_leaves_the_key_free(killable):
    start, signer, pool = killable
    key = f"erp-{uuid.uuid4()}"
    await killed_during(await start(dies="before-commit"), signer, key)
    await no_transaction_left(pool)  # the server has noticed the dead connection

    assert await effects(pool) == 0  # the effect was written (savepoint), never committed
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    retried = await (await start()).call(signer, key)  # at once: no IN_PROGRESS

    assert retried == "effect #2"  # ran afresh (#1 was rolled back)
    assert await effects(pool) == 1


async def test_a_process_killed_after_the_effect_committed_replays_its_answer(killable):
    start, signer, pool = killable
    key = f"erp-{uuid.uuid4()}"
    await killed_during(await start(dies="after-commit"), signer, key)

    assert await effects(pool) == 1  # committed, its answer lost with the process
    retried = await (await start()).call(signer, key)

    assert retried == "effect #1"  # the first call's answer, not a second effect
    assert await effects(pool) == 1
