"""``chorus-structures purge-records``, run as the command it is on a real migrated database:
structures has only the platform's technical tables to purge (store/retention.py); its own
records stay."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
from chorus_platform.migrations import migrate_database
from chorus_structures.config import StructuresSettings

COMMAND = str(Path(sys.executable).with_name("chorus-structures"))
COUNT = re.compile(r"^\s+(\w+)\s+(\d+) (?:deleted|would delete)\b", re.MULTILINE)


async def test_the_command_purges_the_platform_tables_and_exits_zero(make_database):
    dsn = await make_database("structures_purge")
    await migrate_database(dsn, "structures", StructuresSettings.source_migrations)
    conn = await asyncpg.connect(dsn)
    try:
        for published_days_ago in (10, 1, None):
            await conn.execute(
                "INSERT INTO outbox (id, topic, key, ce_type, ce_source, payload, published_at)"
                " VALUES ($1, 't', 'k', 'type', '/src', '\\x00',"
                " now() - $2 * interval '1 day')",
                uuid.uuid4(),
                published_days_ago,
            )
        await conn.execute(
            "INSERT INTO inbox (consumer, event_id, handled_at) VALUES"
            " ('c', 'old', now() - interval '30 days'), ('c', 'recent', now())"
        )
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
        environment |= {"CHORUS_DATABASE_URL": dsn, "CHORUS_DATABASE_NAME": dsn.rsplit("/", 1)[1]}

        done = subprocess.run(
            [COMMAND, "purge-records"], env=environment, capture_output=True, text=True, timeout=120
        )

        assert done.returncode == 0, done.stderr
        printed = {name: int(rows) for name, rows in COUNT.findall(done.stdout)}
        assert printed == {
            "outbox": 1,
            "inbox": 1,
            "idempotency_keys": 0,
            "dead_letters": 0,
            "total": 2,
        }
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 2
        assert await conn.fetchval("SELECT array_agg(event_id) FROM inbox") == ["recent"]
    finally:
        await conn.close()
