"""Retention of the platform's technical tables (chorus_platform.retention) on real PostgreSQL:
what is purged, what is kept whatever its age, batches, dry run, locked rows, settings."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from datetime import timedelta

import asyncpg
import pytest
from chorus_platform.idempotency import IdempotencyInterceptor
from chorus_platform.migrations import apply_migrations, platform_migrations
from chorus_platform.retention import (
    IDEMPOTENCY_KEYS_KEPT,
    PurgeRule,
    RetentionSettingsError,
    platform_rules,
    purge,
)
from chorus_platform.settings import ChorusSettings

DAY = 86400.0


@pytest.fixture
async def dsn(make_database) -> str:
    return await make_database("retention")


@pytest.fixture
async def db(dsn):
    conn = await asyncpg.connect(dsn)
    await apply_migrations(conn, platform_migrations())
    yield conn
    await conn.close()


def settings(**overrides) -> ChorusSettings:
    return ChorusSettings(service_name="retentiontest", **overrides)


async def add_outbox(db, *, published_days_ago: float | None, created_days_ago: float = 0) -> int:
    """An outbox row created and (unless None) published that many days ago; its seq."""
    return await db.fetchval(
        "INSERT INTO outbox (id, topic, key, ce_type, ce_source, ce_time, payload, published_at)"
        " VALUES ($1, 't', 'k', 'type', '/src', now() - $2 * interval '1 day', '\\x00',"
        " now() - $3 * interval '1 day') RETURNING seq",
        uuid.uuid4(),
        max(created_days_ago, published_days_ago or 0),
        published_days_ago,
    )


async def add_inbox(db, *, days_ago: float, count: int = 1) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    await db.execute(
        "INSERT INTO inbox (consumer, event_id, handled_at)"
        " SELECT 'c', id, now() - $2 * interval '1 day' FROM unnest($1::text[]) AS id",
        ids,
        days_ago,
    )
    return ids


async def outbox_seqs(db) -> set[int]:
    return {row["seq"] for row in await db.fetch("SELECT seq FROM outbox")}


async def inbox_ids(db) -> set[str]:
    return {row["event_id"] for row in await db.fetch("SELECT event_id FROM inbox")}


def counts(results) -> dict[str, int]:
    return {result.name: result.rows for result in results}


async def test_old_published_outbox_rows_go_unpublished_ones_stay_whatever_their_age(db):
    old = await add_outbox(db, published_days_ago=10)
    recent = await add_outbox(db, published_days_ago=3)
    stuck = await add_outbox(db, published_days_ago=None, created_days_ago=30)

    results = await purge(db, platform_rules(settings(retention_outbox_days=7)))

    assert counts(results)["outbox"] == 1
    assert await outbox_seqs(db) == {recent, stuck}
    assert old not in await outbox_seqs(db)


async def test_published_rows_inside_the_replay_window_stay_whatever_the_retention(db):
    # Retention 1 day, replay window 3 days: the relay may still publish the 2-day-old row
    # again after a broker loss, so it stays; the 4-day-old one is past both.
    inside = await add_outbox(db, published_days_ago=2)
    past = await add_outbox(db, published_days_ago=4)
    rules = platform_rules(settings(retention_outbox_days=1, outbox_replay_seconds=3 * DAY))

    results = await purge(db, rules)

    assert counts(results)["outbox"] == 1
    assert await outbox_seqs(db) == {inside}
    assert past not in await outbox_seqs(db)


async def test_inbox_rows_older_than_the_retention_go_recent_ones_stay(db):
    await add_inbox(db, days_ago=20, count=3)
    recent = await add_inbox(db, days_ago=5, count=2)

    results = await purge(db, platform_rules(settings(retention_inbox_days=14)))

    assert counts(results)["inbox"] == 3
    assert await inbox_ids(db) == set(recent)


@pytest.mark.parametrize("inbox_days", [1, 2])
def test_an_inbox_retention_not_longer_than_the_replay_window_is_refused(inbox_days):
    too_short = settings(retention_inbox_days=inbox_days, outbox_replay_seconds=2 * DAY)

    with pytest.raises(RetentionSettingsError) as refused:
        platform_rules(too_short)

    message = str(refused.value)
    assert "CHORUS_RETENTION_INBOX_DAYS" in message
    assert "CHORUS_OUTBOX_REPLAY_SECONDS" in message
    assert "handled twice" in message
    assert platform_rules(settings(retention_inbox_days=3, outbox_replay_seconds=2 * DAY))


def test_retention_settings_refuse_nonsense():
    from pydantic import ValidationError

    for bad in (
        {"retention_outbox_days": 0},
        {"retention_inbox_days": -1},
        {"retention_batch_size": 0},
    ):
        with pytest.raises(ValidationError):
            settings(**bad)


async def test_a_dry_run_counts_and_changes_nothing(db):
    await add_outbox(db, published_days_ago=10)
    await add_outbox(db, published_days_ago=None, created_days_ago=10)
    await add_inbox(db, days_ago=30, count=4)
    await add_inbox(db, days_ago=1)
    before = (await outbox_seqs(db), await inbox_ids(db))
    rules = platform_rules(settings())

    dry = await purge(db, rules, dry_run=True)

    assert counts(dry)["outbox"] == 1
    assert counts(dry)["inbox"] == 4
    assert (await outbox_seqs(db), await inbox_ids(db)) == before
    assert counts(await purge(db, rules)) == counts(dry)


async def test_more_rows_than_a_batch_are_all_purged_in_batches_and_a_rerun_finds_nothing(db):
    await add_inbox(db, days_ago=30, count=2500)
    recent = await add_inbox(db, days_ago=1, count=3)
    rules = platform_rules(settings(retention_batch_size=1000))

    results = await purge(db, rules)

    inbox = next(result for result in results if result.name == "inbox")
    assert inbox.rows == 2500
    assert inbox.batches == 3
    assert await inbox_ids(db) == set(recent)
    assert counts(await purge(db, rules)) == dict.fromkeys(counts(results), 0)


async def test_idempotency_keys_and_replayed_dead_letters_past_their_time_go(db):
    for principal, hours_ago in (("old", 30), ("fresh", 1)):
        await db.execute(
            "INSERT INTO idempotency_keys (principal, method, key, request_hash, created_at)"
            " VALUES ($1, 'm', 'k', '\\x00', now() - $2 * interval '1 hour')",
            principal,
            hours_ago,
        )
    for event_id, parked_days_ago, replayed_days_ago in (
        ("replayed-long-ago", 200, 100),
        ("replayed-lately", 200, 10),
        ("pending-for-ages", 200, None),
    ):
        await db.execute(
            'INSERT INTO dead_letters (consumer, topic, partition, "offset", header_keys,'
            " header_values, event_id, error, attempts, parked_at, replayed_at)"
            " VALUES ('c', 't', 0, 0, '{}', '{}', $1, 'boom', 6,"
            " now() - $2 * interval '1 day', now() - $3 * interval '1 day')",
            event_id,
            parked_days_ago,
            replayed_days_ago,
        )

    results = await purge(db, platform_rules(settings(retention_dead_letters_days=90)))

    assert counts(results)["idempotency_keys"] == 1
    assert counts(results)["dead_letters"] == 1
    assert await db.fetchval("SELECT array_agg(principal) FROM idempotency_keys") == ["fresh"]
    left = await db.fetchval("SELECT array_agg(event_id ORDER BY event_id) FROM dead_letters")
    assert left == ["pending-for-ages", "replayed-lately"]


def test_idempotency_keys_are_kept_at_least_as_long_as_the_interceptor_answers_them():
    interceptor_default = inspect.signature(IdempotencyInterceptor).parameters["retention"]
    assert interceptor_default.default <= IDEMPOTENCY_KEYS_KEPT


async def test_a_row_the_service_holds_locked_is_skipped_not_waited_for(db, dsn):
    await add_inbox(db, days_ago=30, count=5)
    locked_id = sorted(await inbox_ids(db))[0]
    service = await asyncpg.connect(dsn)
    try:
        holding = service.transaction()
        await holding.start()
        await service.execute("SELECT 1 FROM inbox WHERE event_id = $1 FOR UPDATE", locked_id)

        async with asyncio.timeout(60):  # a purge that waited would hang here
            results = await purge(db, platform_rules(settings()))

        assert counts(results)["inbox"] == 4
        assert await inbox_ids(db) == {locked_id}
        await holding.rollback()
    finally:
        await service.close()
    assert counts(await purge(db, platform_rules(settings())))["inbox"] == 1


async def test_a_missing_table_is_skipped_and_identifiers_are_checked(db):
    results = await purge(db, [PurgeRule("not_there", "created_at", timedelta(days=1))])

    assert results[0].skipped
    assert results[0].rows == 0
    with pytest.raises(ValueError, match="identifier"):
        PurgeRule("inbox; DROP TABLE inbox", "handled_at", timedelta(days=1))
    with pytest.raises(ValueError, match="identifier"):
        PurgeRule("inbox", "handled_at < now() OR true", timedelta(days=1))


async def test_purge_refuses_to_run_inside_a_transaction(db):
    async with db.transaction():
        with pytest.raises(RuntimeError, match="own short transactions"):
            await purge(db, platform_rules(settings()))
