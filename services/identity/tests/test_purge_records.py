"""identity's retention rules on a real migrated database (store/retention.py), and
``chorus-identity purge-records`` run as the command it is."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from chorus_identity.config import IdentitySettings
from chorus_identity.store.retention import purge_rules
from chorus_platform.migrations import migrate_database
from chorus_platform.retention import purge

COMMAND = str(Path(sys.executable).with_name("chorus-identity"))
COUNT = re.compile(r"^\s+(\w+)\s+(\d+) (?:deleted|would delete)\b", re.MULTILINE)


@pytest.fixture
async def dsn(make_database) -> str:
    dsn = await make_database("identity_purge")
    await migrate_database(dsn, "identity", IdentitySettings.source_migrations)
    return dsn


@pytest.fixture
async def db(dsn):
    conn = await asyncpg.connect(dsn)
    yield conn
    await conn.close()


def ago(days: float) -> str:
    return f"now() - interval '{days * 86400:.0f} seconds'"


async def add_user(db, kind: str = "PERSONNE") -> uuid.UUID:
    user_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO users (id, login_email, contact_email, first_name, last_name, status,"
        " created_at, updated_at, kind) VALUES ($1, $2, $2, 'A', 'B', 'ACTIF', now(), now(), $3)",
        user_id,
        f"{user_id.hex}@exemple.fr",
        kind,
    )
    return user_id


async def add_session(
    db, user_id, *, last_used: float, revoked: float | None = None, tokens: tuple = ()
) -> str:
    """A session last used ``last_used`` days ago, revoked ``revoked`` days ago (or live), with
    refresh tokens expiring ``tokens`` days from now (negative: expired)."""
    session_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, revoked_at, revoked_reason)"
        f" VALUES ($1, $2, {ago(last_used + 1)}, {ago(last_used)},"
        f" CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() - $3 * interval '1 day' END,"
        " CASE WHEN $3::float8 IS NULL THEN NULL ELSE 'LOGOUT' END)",
        session_id,
        user_id,
        revoked,
    )
    for generation, expires_in in enumerate(tokens, start=1):
        await db.execute(
            "INSERT INTO refresh_tokens (token_hash, session_id, generation, created_at,"
            " expires_at) VALUES ($1, $2, $3, now() - interval '200 days',"
            " now() + $4 * interval '1 day')",
            uuid.uuid4().hex,
            session_id,
            generation,
            expires_in,
        )
    return str(session_id)


async def ids(db, table: str, column: str = "id") -> set[str]:
    return {str(row[0]) for row in await db.fetch(f"SELECT {column} FROM {table}")}


async def arrange(db) -> dict[str, set[str]]:
    """Rows of every kind, old and recent; returns what must be left after a purge."""
    user = await add_user(db)
    await add_session(db, user, last_used=100, revoked=100, tokens=(-70,))
    await add_session(db, user, last_used=130, tokens=(-100,))
    revoked_lately = await add_session(db, user, last_used=10, revoked=10, tokens=(20,))
    live = await add_session(db, user, last_used=1, tokens=(-100, 29))
    technical = await add_user(db, "TECHNIQUE")
    technical_session = await add_session(db, technical, last_used=200)
    await db.execute(
        "INSERT INTO technical_accounts (user_id, structure_id, login, password_sha256,"
        " session_id, created_at, created_by, password_changed_at, expires_at)"
        " VALUES ($1, $2, 'TECH_1@cpro.chorus.local', 'x', $3, now(), $2, now(),"
        " now() + interval '100 days')",
        technical,
        uuid.uuid4(),
        uuid.UUID(technical_session),
    )
    kept_links = set()
    for expires_in in (-100, -10, 1):
        link = uuid.uuid4()
        await db.execute(
            "INSERT INTO account_tokens (id, user_id, purpose, token_hash, created_at, expires_at)"
            " VALUES ($1, $2, 'PASSWORD_RESET', $3, now() - interval '200 days',"
            " now() + $4 * interval '1 day')",
            link,
            user,
            link.hex,
            expires_in,
        )
        if expires_in > -90:
            kept_links.add(str(link))
    kept_challenges = set()
    for expires_in in (-100, -1):
        challenge = uuid.uuid4()
        await db.execute(
            "INSERT INTO mfa_challenges (id, user_id, created_at, expires_at)"
            " VALUES ($1, $2, now() - interval '200 days', now() + $3 * interval '1 day')",
            challenge,
            user,
            expires_in,
        )
        if expires_in > -90:
            kept_challenges.add(str(challenge))
    await db.execute(
        "INSERT INTO login_throttle (login_email, failures, last_failure_at, locked_until) VALUES"
        f" ('old@exemple.fr', 3, {ago(100)}, NULL),"
        f" ('old-locked@exemple.fr', 5, {ago(100)}, {ago(99.9)}),"
        f" ('recent@exemple.fr', 2, {ago(5)}, NULL)"
    )
    kept_events = set()
    for days_ago in (400, 10):
        event = uuid.uuid4()
        await db.execute(
            "INSERT INTO security_events (id, kind, user_id, occurred_at)"
            " VALUES ($1, 'LOGIN_SUCCEEDED', $2, now() - $3 * interval '1 day')",
            event,
            user,
            days_ago,
        )
        if days_ago < 365:
            kept_events.add(str(event))
    return {
        "sessions": {revoked_lately, live, technical_session},
        "refresh_tokens": 2,  # revoked_lately's and live's unexpired ones
        "account_tokens": kept_links,
        "mfa_challenges": kept_challenges,
        "login_throttle": {"recent@exemple.fr"},
        "security_events": kept_events,
    }


async def state(db) -> dict[str, object]:
    return {
        "sessions": await ids(db, "sessions"),
        "refresh_tokens": await db.fetchval("SELECT count(*) FROM refresh_tokens"),
        "account_tokens": await ids(db, "account_tokens"),
        "mfa_challenges": await ids(db, "mfa_challenges"),
        "login_throttle": await ids(db, "login_throttle", "login_email"),
        "security_events": await ids(db, "security_events"),
    }


def settings_for(dsn: str, **overrides) -> IdentitySettings:
    return IdentitySettings(database_url=dsn, database_name=dsn.rsplit("/", 1)[1], **overrides)


async def test_ended_sessions_and_expired_secrets_go_live_ones_and_accounts_stay(dsn, db):
    expected = await arrange(db)
    users = await ids(db, "users")

    results = await purge(db, purge_rules(settings_for(dsn)))

    counts = {result.name: result.rows for result in results}
    assert counts["sessions"] == 2  # one revoked, one expired, 100 days ago
    assert counts["refresh_tokens"] == 1  # the live session's expired one (the others cascaded)
    assert counts["account_tokens"] == 1
    assert counts["mfa_challenges"] == 1
    assert counts["login_throttle"] == 2
    assert counts["security_events"] == 1
    assert await state(db) == expected
    assert await ids(db, "users") == users


async def test_a_revoked_session_stays_while_its_access_tokens_may_be_valid(dsn, db):
    user = await add_user(db)
    inside = await add_session(db, user, last_used=2, revoked=2)
    await add_session(db, user, last_used=4, revoked=4)
    # Kept 1 day, but access tokens live 3 days: a session revoked 2 days ago stays listed.
    settings = settings_for(dsn, retention_sessions_days=1, access_token_ttl_seconds=3 * 86400)

    results = await purge(db, purge_rules(settings))

    assert {result.name: result.rows for result in results}["sessions"] == 1
    assert await ids(db, "sessions") == {inside}


async def test_security_events_kept_forever_with_zero(dsn, db):
    await arrange(db)
    settings = settings_for(dsn, retention_security_events_days=0)

    results = await purge(db, purge_rules(settings))

    assert "security_events" not in {result.name for result in results}
    assert await db.fetchval("SELECT count(*) FROM security_events") == 2


async def test_the_command_prints_its_counts_and_exits_zero(dsn, db):
    expected = await arrange(db)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
    environment |= {"CHORUS_DATABASE_URL": dsn, "CHORUS_DATABASE_NAME": dsn.rsplit("/", 1)[1]}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [COMMAND, "purge-records", *args],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    dry = run("--dry-run")
    assert dry.returncode == 0, dry.stderr
    # Each rule counted alone: the expired session's refresh token is counted by its rule too,
    # where the real run deletes it with its session.
    assert dict(COUNT.findall(dry.stdout))["total"] == "9"
    assert await state(db) != expected

    done = run()
    assert done.returncode == 0, done.stderr
    printed = {name: int(rows) for name, rows in COUNT.findall(done.stdout)}
    assert printed["sessions"] == 2
    assert printed["security_events"] == 1
    assert printed["total"] == 8
    assert await state(db) == expected
