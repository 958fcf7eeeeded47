import asyncio

import asyncpg
import pytest
from chorus_platform.migrations import (
    MigrationError,
    apply_migrations,
    load_migrations,
    migrate_database,
    platform_migrations,
)


def write(directory, name, sql):
    (directory / name).write_text(sql)


async def test_migrations_apply_once_in_order(tmp_path, make_database):
    dsn = await make_database("migr")
    write(tmp_path, "0001_create_things.sql", "CREATE TABLE things (id int PRIMARY KEY);")
    write(tmp_path, "0002_add_name.sql", "ALTER TABLE things ADD COLUMN name text;")

    first = await migrate_database(dsn, "demo", tmp_path)
    second = await migrate_database(dsn, "demo", tmp_path)

    assert first == [
        "platform/0001_outbox_inbox.sql",
        "platform/0002_idempotency_keys.sql",
        "platform/0003_broker_loss_and_dead_letters.sql",
        "demo/0001_create_things.sql",
        "demo/0002_add_name.sql",
    ]
    assert second == []
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO things (id, name) VALUES (1, 'x')")
        rows = await conn.fetch("SELECT component, version FROM schema_migrations ORDER BY 1, 2")
        assert [(r["component"], r["version"]) for r in rows] == [
            ("demo", 1),
            ("demo", 2),
            ("platform", 1),
            ("platform", 2),
            ("platform", 3),
        ]
    finally:
        await conn.close()


async def test_editing_an_applied_migration_is_refused(tmp_path, make_database):
    dsn = await make_database("migr")
    write(tmp_path, "0001_create_things.sql", "CREATE TABLE things (id int);")
    await migrate_database(dsn, "demo", tmp_path)
    write(tmp_path, "0001_create_things.sql", "CREATE TABLE things (id bigint);")

    with pytest.raises(MigrationError, match="edited"):
        await migrate_database(dsn, "demo", tmp_path)


async def test_a_failing_migration_leaves_nothing_half_applied(tmp_path, make_database):
    dsn = await make_database("migr")
    write(tmp_path, "0001_ok.sql", "CREATE TABLE a (id int);")
    write(tmp_path, "0002_broken.sql", "CREATE TABLE b (id int); SELECT no_such_function();")

    with pytest.raises(asyncpg.UndefinedFunctionError):
        await migrate_database(dsn, "demo", tmp_path)

    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT to_regclass('a') IS NOT NULL")
        assert await conn.fetchval("SELECT to_regclass('b') IS NULL")
        assert (
            await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE component='demo'")
            == 1
        )
    finally:
        await conn.close()


async def test_concurrent_runners_apply_each_file_once(tmp_path, make_database):
    dsn = await make_database("migr")
    write(tmp_path, "0001_slow.sql", "SELECT pg_sleep(0.3); CREATE TABLE slow (id int);")
    conns = [await asyncpg.connect(dsn) for _ in range(3)]
    try:
        migrations = platform_migrations() + load_migrations("demo", tmp_path)
        results = await asyncio.gather(*(apply_migrations(c, migrations) for c in conns))
    finally:
        for c in conns:
            await c.close()
    applied = [name for result in results for name in result]
    assert sorted(applied) == [
        "demo/0001_slow.sql",
        "platform/0001_outbox_inbox.sql",
        "platform/0002_idempotency_keys.sql",
        "platform/0003_broker_loss_and_dead_letters.sql",
    ]


def test_badly_named_or_numbered_files_are_rejected(tmp_path):
    write(tmp_path, "0002_gap.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="0001"):
        load_migrations("demo", tmp_path)
    (tmp_path / "0002_gap.sql").unlink()
    write(tmp_path, "1_bad name.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN"):
        load_migrations("demo", tmp_path)
