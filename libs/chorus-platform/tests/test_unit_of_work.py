"""The unit of work: state and events commit together, in order, or not at all."""

import asyncio
from dataclasses import dataclass

import asyncpg
import pytest
from chorus.identity.events.v1 import identity_events_pb2 as ev
from chorus_platform.db import create_pool
from chorus_platform.migrations import apply_migrations, platform_migrations
from chorus_platform.outbox import topic_of
from chorus_platform.unit_of_work import OutgoingEvent, UnitOfWork, ambient_transaction


@dataclass(frozen=True)
class UserRenamed:
    """A domain event of the test service."""

    user_id: str
    first_name: str


@dataclass(frozen=True)
class NotAnEvent:
    user_id: str


def encode(event: object) -> OutgoingEvent:
    if isinstance(event, UserRenamed):
        return OutgoingEvent(
            event.user_id, ev.UserProfileUpdated(user_id=event.user_id, first_name=event.first_name)
        )
    raise TypeError(f"not an event of this service: {type(event).__name__}")


@pytest.fixture
async def pool(platform_settings):
    conn = await asyncpg.connect(platform_settings.database_dsn)
    await apply_migrations(conn, platform_migrations())
    await conn.execute("CREATE TABLE users (id text PRIMARY KEY, first_name text NOT NULL)")
    await conn.close()
    pool = await create_pool(platform_settings.database_dsn)
    yield pool
    await pool.close()


@pytest.fixture
def uow(pool):
    return UnitOfWork(pool, service="uowtest", encode=encode)


async def outbox_rows(pool):
    return await pool.fetch("SELECT topic, key, ce_type, payload FROM outbox ORDER BY seq")


async def test_events_are_written_with_the_change_in_the_order_emitted(uow, pool):
    async with uow.transaction() as tx:
        await tx.conn.execute("INSERT INTO users VALUES ('u1', 'Ana')")
        tx.emit(UserRenamed("u1", "Ana"))
        tx.emit(UserRenamed("u2", "Bob"))
        assert [e.key for e in tx.events] == ["u1", "u2"]
        # Nothing reaches the outbox before the block ends.
        assert await tx.conn.fetchval("SELECT count(*) FROM outbox") == 0

    rows = await outbox_rows(pool)
    assert [(r["topic"], r["key"], r["ce_type"]) for r in rows] == [
        (topic_of("uowtest"), "u1", "chorus.identity.events.v1.UserProfileUpdated"),
        (topic_of("uowtest"), "u2", "chorus.identity.events.v1.UserProfileUpdated"),
    ]
    names = [ev.UserProfileUpdated.FromString(r["payload"]).first_name for r in rows]
    assert names == ["Ana", "Bob"]
    assert await pool.fetchval("SELECT first_name FROM users WHERE id = 'u1'") == "Ana"


async def test_an_exception_rolls_back_the_change_and_its_events(uow, pool):
    with pytest.raises(RuntimeError):
        async with uow.transaction() as tx:
            await tx.conn.execute("INSERT INTO users VALUES ('u1', 'Ana')")
            tx.emit(UserRenamed("u1", "Ana"))
            raise RuntimeError("the use case failed after emitting")
    assert await outbox_rows(pool) == []
    assert await pool.fetchval("SELECT count(*) FROM users") == 0


async def test_an_event_without_a_mapping_fails_where_it_is_emitted(uow, pool):
    with pytest.raises(TypeError, match="NotAnEvent"):
        async with uow.transaction() as tx:
            await tx.conn.execute("INSERT INTO users VALUES ('u1', 'Ana')")
            tx.emit(NotAnEvent("u1"))
    assert await pool.fetchval("SELECT count(*) FROM users") == 0


async def test_a_service_without_events_refuses_to_emit(pool):
    uow = UnitOfWork(pool, service="silent")
    with pytest.raises(TypeError, match="publishes no events"):
        async with uow.transaction() as tx:
            tx.emit(UserRenamed("u1", "Ana"))
    assert await outbox_rows(pool) == []


async def test_a_snapshot_read_sees_one_state_and_cannot_write(uow, pool):
    await pool.execute("INSERT INTO users VALUES ('u1', 'Ana')")
    async with uow.reading(snapshot=True) as conn:
        before = await conn.fetchval("SELECT count(*) FROM users")
        await pool.execute("INSERT INTO users VALUES ('u2', 'Bob')")  # another connection
        assert await conn.fetchval("SELECT count(*) FROM users") == before == 1
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await conn.execute("INSERT INTO users VALUES ('u3', 'Cy')")


async def test_a_plain_read_sees_each_statement_fresh(uow, pool):
    async with uow.reading() as conn:
        assert await conn.fetchval("SELECT count(*) FROM users") == 0
        await pool.execute("INSERT INTO users VALUES ('u1', 'Ana')")
        assert await conn.fetchval("SELECT count(*) FROM users") == 1


# -- the ambient transaction (what an Idempotency-Key wraps a whole RPC in) -------------------


async def test_inside_an_ambient_transaction_nothing_commits_before_it_does(uow, pool):
    async with ambient_transaction(pool) as conn:
        async with uow.transaction() as tx:
            assert tx.conn is conn
            await tx.conn.execute("INSERT INTO users VALUES ('u1', 'Ana')")
            tx.emit(UserRenamed("u1", "Ana"))
        async with uow.reading() as read:
            assert read is conn
            assert await read.fetchval("SELECT count(*) FROM users") == 1  # its own writes
        assert await pool.fetchval("SELECT count(*) FROM users") == 0  # others see nothing
        assert await outbox_rows(pool) == []

    assert await pool.fetchval("SELECT count(*) FROM users") == 1
    assert [r["key"] for r in await outbox_rows(pool)] == ["u1"]


async def test_an_ambient_transaction_that_fails_rolls_back_every_block_inside(uow, pool):
    with pytest.raises(RuntimeError):
        async with ambient_transaction(pool):
            async with uow.transaction() as tx:
                await tx.conn.execute("INSERT INTO users VALUES ('u1', 'Ana')")
                tx.emit(UserRenamed("u1", "Ana"))
            raise RuntimeError("the RPC failed after its use case's block had ended")

    assert await pool.fetchval("SELECT count(*) FROM users") == 0
    assert await outbox_rows(pool) == []


async def test_a_failed_block_inside_rolls_back_to_its_savepoint_only(uow, pool):
    async with ambient_transaction(pool):
        async with uow.transaction() as tx:
            await tx.conn.execute("INSERT INTO users VALUES ('u1', 'Ana')")
        with pytest.raises(asyncpg.UniqueViolationError):
            async with uow.transaction() as tx:
                await tx.conn.execute("INSERT INTO users VALUES ('u2', 'Bob')")
                tx.emit(UserRenamed("u2", "Bob"))
                await tx.conn.execute("INSERT INTO users VALUES ('u1', 'Ana again')")
        with pytest.raises(asyncpg.InvalidTextRepresentationError):
            async with uow.reading() as conn:  # a failed read does not abort the transaction
                await conn.fetchval("SELECT 'not a number'::int")

    assert [r["id"] for r in await pool.fetch("SELECT id FROM users")] == ["u1"]
    assert await outbox_rows(pool) == []


async def test_another_pool_and_tasks_outliving_the_block_do_not_join_it(
    uow, pool, platform_settings
):
    other_pool = await create_pool(platform_settings.database_dsn, max_size=2)
    other = UnitOfWork(other_pool, service="uowtest", encode=encode)
    try:
        started, finish = asyncio.Event(), asyncio.Event()

        async def later() -> None:
            started.set()
            await finish.wait()
            async with uow.transaction() as tx:  # the ambient block has ended by now
                await tx.conn.execute("INSERT INTO users VALUES ('u3', 'Cy')")

        async with ambient_transaction(pool) as conn:
            async with other.transaction() as tx:
                assert tx.conn is not conn  # another pool: its own transaction, committed
                await tx.conn.execute("INSERT INTO users VALUES ('u2', 'Bob')")
            task = asyncio.create_task(later())
            await started.wait()
        finish.set()
        await task
    finally:
        await other_pool.close()

    assert sorted(r["id"] for r in await pool.fetch("SELECT id FROM users")) == ["u2", "u3"]


async def test_a_stronger_isolation_cannot_be_had_inside_an_ambient_transaction(uow, pool):
    async with ambient_transaction(pool):
        with pytest.raises(RuntimeError, match="serializable"):
            async with uow.transaction(isolation="serializable"):
                pass


@pytest.mark.parametrize("ambient", [False, True], ids=["own", "ambient"])
async def test_a_connection_the_server_closes_midway_is_a_connection_error(uow, pool, ambient):
    """asyncpg's pool detaches a connection the server closed ("released back to the
    pool"); the unit of work says what happened, so the caller answers UNAVAILABLE."""

    async def block() -> None:
        async with uow.transaction() as tx:
            pid = await tx.conn.fetchval("SELECT pg_backend_pid()")
            await pool.execute("SELECT pg_terminate_backend($1)", pid)
            async with asyncio.timeout(5):  # until the server has closed it
                while await pool.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid):
                    await asyncio.sleep(0.01)
            await tx.conn.execute("INSERT INTO users VALUES ('u1', 'Ana')")

    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        if ambient:
            async with ambient_transaction(pool):
                await block()
        else:
            await block()
    assert await pool.fetchval("SELECT count(*) FROM users") == 0
