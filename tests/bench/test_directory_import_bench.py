"""Benchmark of the public-recipient directory (`make bench`): 150,000 structures.

Measured on the throwaway PostgreSQL of the test session, one run:

1. generate: writing the synthetic CSV file (valid SIRETs, services, addresses);
2. import: reading and checking every row, COPY into the staging table, set-based upserts of
   structures, default spaces and services, in one transaction;
3. re-import: the same file again (idempotent: nothing changes);
4. search: a few name searches (exact, with typos) and an identifier prefix on the full
   directory, through the service's own search code.

It prints a table; it asserts only what the import must have done (no timing assertions).
"""

from __future__ import annotations

import time
import uuid

import pytest
from chorus_platform.db import create_pool
from chorus_platform.migrations import migrate_database
from chorus_structures.config import StructuresSettings
from chorus_structures.domain.search import search_criteria
from chorus_structures.seed.directory import import_directory
from chorus_structures.seed.generator import generate_file
from chorus_structures.store.structures import search_structures

STRUCTURES = 150_000
SEARCHES = ("commune annecy", "comune d'anecy", "lycee victor hugo", "centre hospitalier")


@pytest.fixture
async def settings(make_database) -> StructuresSettings:
    dsn = await make_database("bench_directory")
    settings = StructuresSettings(database_url=dsn, database_name=dsn.rsplit("/", 1)[1])
    await migrate_database(settings.database_dsn, "structures", settings.migrations_path)
    return settings


async def timed_search(pool, **criteria) -> tuple[float, int]:
    values = {"identifier_prefix": "", "name": "", "kind": None, "page_size": 20}
    chosen = search_criteria(**{**values, **criteria}, page_token="")
    start = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        # A user of no structure: what any signed-in user finds (the public directory).
        found, _ = await search_structures(conn, chosen, viewer=uuid.uuid4())
    return (time.perf_counter() - start) * 1000, len(found)


async def test_directory_import_of_150000_structures(settings, tmp_path):
    path = tmp_path / "annuaire.csv"
    start = time.perf_counter()
    generate_file(path, STRUCTURES, seed=42)
    generated = time.perf_counter() - start

    pool = await create_pool(settings.database_dsn, max_size=2)
    try:
        start = time.perf_counter()
        first = await import_directory(pool, path)
        imported = time.perf_counter() - start
        start = time.perf_counter()
        again = await import_directory(pool, path)
        reimported = time.perf_counter() - start
        structures = await pool.fetchval("SELECT count(*) FROM structures")
        services = await pool.fetchval("SELECT count(*) FROM structure_services")
        await pool.execute("ANALYZE")
        searches = [(name, *await timed_search(pool, name=name)) for name in SEARCHES]
        searches.append(("identifier 2174…", *await timed_search(pool, identifier_prefix="2174")))
    finally:
        await pool.close()

    assert (first.created, structures) == (STRUCTURES, STRUCTURES)
    assert (again.created, again.updated, again.services) == (0, 0, 0)
    size_mb = path.stat().st_size / 1e6
    print()
    print(f"directory: {STRUCTURES:,} structures, {services:,} services, {size_mb:.0f} MB CSV")
    print(f"  generate   {generated:6.1f} s")
    print(f"  import     {imported:6.1f} s  ({STRUCTURES / imported:,.0f} structures/s)")
    print(f"  re-import  {reimported:6.1f} s  (nothing changed)")
    for label, milliseconds, count in searches:
        print(f"  search {label!r:24} {milliseconds:7.1f} ms  ({count} results)")
