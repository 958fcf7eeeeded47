import asyncio
import os
import sys
from pathlib import Path

import asyncpg
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_structures.config import StructuresSettings
from chorus_structures.main import seed_demo
from chorus_structures.seed.demo import seed_demo_structures

COUNTS = """
    SELECT (SELECT count(*) FROM structures), (SELECT count(*) FROM structure_services),
           (SELECT count(*) FROM spaces), (SELECT count(*) FROM outbox)
"""


async def test_seed_demo_twice_is_idempotent(pool):
    assert await seed_demo_structures(pool) == 3
    first = tuple(await pool.fetchrow(COUNTS))
    assert await seed_demo_structures(pool) == 0
    assert tuple(await pool.fetchrow(COUNTS)) == first
    assert first == (3, 5, 18, 3)


async def test_seed_demo_emits_structure_created_without_creator(pool):
    await seed_demo_structures(pool)

    rows = await pool.fetch("SELECT key, ce_type, payload FROM outbox ORDER BY seq")
    assert {r["ce_type"] for r in rows} == {"chorus.structures.events.v1.StructureCreated"}
    created = [events.StructureCreated.FromString(r["payload"]) for r in rows]
    assert all(e.created_by == "" for e in created)
    assert [r["key"] for r in rows] == [e.structure.id for e in created]
    by_identifier = {e.structure.identifier: e.structure for e in created}
    agence = by_identifier["13000548100010"]
    assert agence.kind == pb.STRUCTURE_KIND_PUBLIQUE
    assert agence.status == pb.STRUCTURE_STATUS_ACTIVE
    assert agence.routing == pb.RoutingParameters(engagement_required=True)
    assert [(s.code, s.name) for s in agence.services] == [("COMPTA", "Agence comptable")]
    ministere = by_identifier["11000201100010"]
    assert ministere.routing == pb.RoutingParameters()
    assert [s.code for s in ministere.services] == ["DIR-ACHATS", "DSI"]


async def test_seed_demo_restores_missing_services(pool):
    await seed_demo_structures(pool)
    await pool.execute("DELETE FROM structure_services WHERE code = 'DSI'")

    await seed_demo_structures(pool)

    assert await pool.fetchval("SELECT count(*) FROM structure_services WHERE code = 'DSI'") == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 3


async def test_command_line_migrates_and_seeds(make_database, kafka_broker):
    dsn = await make_database("structures_cli")
    env = {
        **os.environ,
        "CHORUS_DATABASE_URL": dsn,
        "CHORUS_DATABASE_NAME": dsn.rsplit("/", 1)[1],
        "CHORUS_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
    }
    cli = Path(sys.executable).with_name("chorus-structures")
    for command in ("migrate", "seed-demo"):
        process = await asyncio.create_subprocess_exec(
            str(cli),
            command,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, output.decode()

    settings = StructuresSettings(database_url=dsn, database_name=dsn.rsplit("/", 1)[1])
    await seed_demo(settings)  # the command's coroutine, a second time
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM structures") == 3
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 3
    finally:
        await conn.close()
