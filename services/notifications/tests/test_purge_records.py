"""``chorus-notifications purge-records``, run as the command it is, on a real migrated
database: feed items, e-mails and digest entries past their retention go, what is still to
send stays whatever its age; ``--dry-run`` only counts; bad settings are refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from chorus_notifications.config import NotificationsSettings
from chorus_platform.migrations import migrate_database

COMMAND = str(Path(sys.executable).with_name("chorus-notifications"))
COUNT = re.compile(r"^\s+(\w+)\s+(\d+) (?:deleted|would delete)\b", re.MULTILINE)


@pytest.fixture
async def dsn(make_database) -> str:
    dsn = await make_database("notifications_purge")
    await migrate_database(dsn, "notifications", NotificationsSettings.source_migrations)
    return dsn


@pytest.fixture
async def db(dsn):
    conn = await asyncpg.connect(dsn)
    yield conn
    await conn.close()


def run(dsn: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
    environment |= {
        "CHORUS_DATABASE_URL": dsn,
        "CHORUS_DATABASE_NAME": dsn.rsplit("/", 1)[1],
        **env,
    }
    return subprocess.run(
        [COMMAND, "purge-records", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def printed_counts(stdout: str) -> dict[str, int]:
    return {name: int(rows) for name, rows in COUNT.findall(stdout)}


async def add_feed_item(db, *, days_ago: int) -> str:
    event_id = str(uuid.uuid4())
    await db.execute(
        "INSERT INTO feed_items (id, user_id, event_id, kind, title, body, created_at)"
        " VALUES ($1, $2, $3, 'INVOICE_RECEIVED', 'Titre', 'Corps',"
        " now() - $4 * interval '1 day')",
        uuid.uuid4(),
        uuid.uuid4(),
        event_id,
        days_ago,
    )
    return event_id


async def add_email(db, *, status: str, days_ago: int) -> str:
    email_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO emails (id, event_id, recipient_address, kind, subject, text_body,"
        " html_body, status, created_at, sent_at) VALUES ($1, $2, 'a@exemple.fr', 'K', 'S',"
        " 'T', 'H', $3, now() - $4 * interval '1 day',"
        " CASE WHEN $3 = 'SENT' THEN now() - $4 * interval '1 day' END)",
        email_id,
        str(uuid.uuid4()),
        status,
        days_ago,
    )
    await db.execute(
        "INSERT INTO email_attempts (email_id, at, ok) VALUES ($1, now() - $2 * interval '1 day',"
        " $3)",
        email_id,
        days_ago,
        status == "SENT",
    )
    return f"{status}-{days_ago}"


async def add_digest_entry(db, *, days_ago: int, digested: bool) -> str:
    event_id = str(uuid.uuid4())
    await db.execute(
        "INSERT INTO digest_entries (user_id, event_id, kind, invoice_id, number, status,"
        " queued_at, digest_event_id) VALUES ($1, $2, 'K', 'i', 'F-1', 'DEPOSEE',"
        " now() - $3 * interval '1 day', $4)",
        uuid.uuid4(),
        event_id,
        days_ago,
        str(uuid.uuid4()) if digested else None,
    )
    return event_id


async def arrange(db) -> dict[str, set[str]]:
    """Old and recent rows of every kind; returns what must be left after a purge."""
    await add_feed_item(db, days_ago=400)
    recent_item = await add_feed_item(db, days_ago=10)
    for status in ("SENT", "FAILED"):
        await add_email(db, status=status, days_ago=200)
    kept_emails = {
        await add_email(db, status="PENDING", days_ago=200),
        await add_email(db, status="SENDING", days_ago=200),
        await add_email(db, status="SENT", days_ago=10),
    }
    await add_digest_entry(db, days_ago=200, digested=True)
    kept_entries = {
        await add_digest_entry(db, days_ago=200, digested=False),
        await add_digest_entry(db, days_ago=10, digested=True),
    }
    await db.execute(
        "INSERT INTO inbox (consumer, event_id, handled_at) VALUES"
        " ('notifications', 'old', now() - interval '20 days'),"
        " ('notifications', 'recent', now() - interval '1 day')"
    )
    return {
        "feed_items": {recent_item},
        "emails": kept_emails,
        "digest_entries": kept_entries,
        "inbox": {"recent"},
    }


async def left(db) -> dict[str, set[str]]:
    return {
        "feed_items": {r[0] for r in await db.fetch("SELECT event_id FROM feed_items")},
        "emails": {
            f"{r['status']}-{r['days']}"
            for r in await db.fetch(
                "SELECT status, round(extract(epoch FROM now() - created_at) / 86400)::int"
                " AS days FROM emails"
            )
        },
        "digest_entries": {r[0] for r in await db.fetch("SELECT event_id FROM digest_entries")},
        "inbox": {r[0] for r in await db.fetch("SELECT event_id FROM inbox")},
    }


async def test_the_command_purges_old_records_and_keeps_what_is_still_to_send(dsn, db):
    expected = await arrange(db)
    before = await left(db)

    dry = run(dsn, "--dry-run")

    assert dry.returncode == 0, dry.stderr
    assert "(dry run)" in dry.stdout
    assert await left(db) == before
    wanted = {"feed_items": 1, "emails": 2, "digest_entries": 1, "inbox": 1, "outbox": 0}
    assert {k: printed_counts(dry.stdout)[k] for k in wanted} == wanted
    assert printed_counts(dry.stdout)["total"] == 5

    done = run(dsn)

    assert done.returncode == 0, done.stderr
    assert {k: printed_counts(done.stdout)[k] for k in wanted} == wanted
    assert printed_counts(done.stdout)["total"] == 5
    assert await left(db) == expected
    # The purged e-mails' attempts went with them; the kept ones' stayed.
    assert await db.fetchval("SELECT count(*) FROM email_attempts") == 3

    again = run(dsn)
    assert again.returncode == 0, again.stderr
    assert printed_counts(again.stdout)["total"] == 0


async def test_the_retentions_are_settings(dsn, db):
    await arrange(db)

    done = run(dsn, CHORUS_RETENTION_FEED_DAYS="5", CHORUS_RETENTION_EMAIL_DAYS="5")

    assert done.returncode == 0, done.stderr
    counts = printed_counts(done.stdout)
    assert (counts["feed_items"], counts["emails"], counts["digest_entries"]) == (2, 3, 2)
    # Still to send, whatever its age and the setting.
    assert await db.fetchval("SELECT count(*) FROM emails") == 2


async def test_an_inbox_kept_no_longer_than_the_replay_window_is_refused(dsn, db):
    await arrange(db)
    before = await left(db)

    refused = run(dsn, CHORUS_RETENTION_INBOX_DAYS="1", CHORUS_OUTBOX_REPLAY_SECONDS=str(2 * 86400))

    assert refused.returncode == 2
    assert "CHORUS_RETENTION_INBOX_DAYS" in refused.stderr
    assert "handled twice" in refused.stderr
    assert await left(db) == before
