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
    assert await seed_demo_structures(pool) == 4
    first = tuple(await pool.fetchrow(COUNTS))
    assert await seed_demo_structures(pool) == 0
    assert tuple(await pool.fetchrow(COUNTS)) == first
    # Spaces keep their kind's defaults, which are not recorded.
    assert first == (4, 7, 0, 4)


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
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 4


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
        # The 4 demo structures and the 200 of the default directory, once each; events:
        # 4 StructureCreated and 1 DirectoryImported (the second, empty import says nothing).
        assert await conn.fetchval("SELECT count(*) FROM structures") == 204
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 5
    finally:
        await conn.close()


async def test_command_line_generates_and_imports_a_directory(make_database, tmp_path):
    dsn = await make_database("structures_directory_cli")
    env = {**os.environ, "CHORUS_DATABASE_URL": dsn, "CHORUS_DATABASE_NAME": dsn.rsplit("/", 1)[1]}
    cli = str(Path(sys.executable).with_name("chorus-structures"))
    directory = tmp_path / "annuaire.csv"

    async def run(*command: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            cli, *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        output, errors = await asyncio.wait_for(process.communicate(), timeout=60)
        return process.returncode, output.decode(), errors.decode()

    assert (await run("migrate"))[0] == 0
    assert (await run("generate-directory", "--count", "50", "--out", str(directory)))[0] == 0
    code, output, errors = await run("import-directory", str(directory))
    assert code == 0, errors
    assert "50 structures créées" in output
    code, _, errors = await run("import-directory", str(tmp_path / "absent.csv"))
    assert (code, "Fichier introuvable" in errors) == (2, True)
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM structures") == 50
    finally:
        await conn.close()
