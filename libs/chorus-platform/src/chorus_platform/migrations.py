"""Migrations runner: plain numbered SQL files, applied once, in order, under an advisory lock.

Files are named ``NNNN_description.sql``. The platform's own tables (outbox, inbox) are
component ``platform``; each service's files are component ``<service>``. Applied files are
recorded in ``schema_migrations`` with a checksum; editing an applied file is an error.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

_LOCK_KEY = 0x43484F52  # "CHOR": one migration run at a time per database.
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """A migration file is malformed, out of sequence, or was edited after being applied."""


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(component: str, directory: Path) -> list[Migration]:
    """Reads ``directory``'s migration files, sorted, checking names and numbering."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: expected NNNN_lowercase_words.sql")
        found.append(Migration(component, int(match.group(1)), path.name, path.read_text()))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"{component}: {migration.name} should be number {expected:04d}")
    return found


def platform_migrations() -> list[Migration]:
    """The platform's own tables (outbox, inbox), shipped inside this package."""
    directory = Path(str(resources.files("chorus_platform") / "sql"))
    return load_migrations("platform", directory)


async def apply_migrations(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    """Applies the migrations not yet applied, each in its own transaction; returns their names.

    Raises MigrationError when an applied file changed since it was applied.
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   component text NOT NULL,
                   version integer NOT NULL,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now(),
                   PRIMARY KEY (component, version))"""
        )
        rows = await conn.fetch("SELECT component, version, checksum FROM schema_migrations")
        applied = {(r["component"], r["version"]): r["checksum"] for r in rows}
        done: list[str] = []
        for migration in migrations:
            key = (migration.component, migration.version)
            if key in applied:
                if applied[key] != migration.checksum:
                    raise MigrationError(f"{migration.component}/{migration.name} was edited")
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (component, version, name, checksum)"
                    " VALUES ($1, $2, $3, $4)",
                    migration.component,
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            log.info("migration applied", extra={"migration": f"{key[0]}/{migration.name}"})
            done.append(f"{migration.component}/{migration.name}")
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def migrate_database(dsn: str, component: str, directory: Path) -> list[str]:
    """Creates the database if needed, then applies platform and ``component`` migrations."""
    from chorus_platform.db import ensure_database

    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        return await apply_migrations(
            conn, platform_migrations() + load_migrations(component, directory)
        )
    finally:
        await conn.close()
