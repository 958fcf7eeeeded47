"""Integer ids (Chorus Pro's idStructureCPP / idService) and the look-ups by them: GetStructure
by cpp_id, ListServices, GetService. Integers can be guessed, so a private structure is only
found by them by its members."""

import uuid
from datetime import UTC, datetime

import asyncpg
import grpc
import pytest
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.migrations import apply_migrations, load_migrations, platform_migrations
from chorus_platform.rpc_status import from_rpc_error

INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND


async def failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason


@pytest.fixture
async def public(stub, as_user, create_request) -> pb.Structure:
    request = create_request(kind=pb.STRUCTURE_KIND_PUBLIQUE, raison_sociale="Mairie de Test")
    structure = (await stub.CreateStructure(request, metadata=as_user)).structure
    for code, name in (("COMPTA", "Comptabilité"), ("ACHATS", "Achats"), ("VOIRIE", "Voirie")):
        await stub.CreateService(
            pb.CreateServiceRequest(structure_id=structure.id, code=code, name=name),
            metadata=as_user,
        )
    return (
        await stub.GetStructure(pb.GetStructureRequest(structure_id=structure.id), metadata=as_user)
    ).structure


@pytest.fixture
async def private(stub, as_user, create_request) -> pb.Structure:
    structure = (await stub.CreateStructure(create_request(), metadata=as_user)).structure
    await stub.CreateService(
        pb.CreateServiceRequest(structure_id=structure.id, code="SIEGE", name="Siège"),
        metadata=as_user,
    )
    return (
        await stub.GetStructure(pb.GetStructureRequest(structure_id=structure.id), metadata=as_user)
    ).structure


@pytest.fixture
def stranger(signer):
    return signer.metadata(str(uuid.uuid4()))


async def test_structures_and_services_get_distinct_increasing_integer_ids(
    stub, as_user, create_request, public
):
    first = (await stub.CreateStructure(create_request(), metadata=as_user)).structure
    second = (await stub.CreateStructure(create_request(), metadata=as_user)).structure

    assert 0 < public.cpp_id < first.cpp_id < second.cpp_id
    service_ids = [s.cpp_id for s in public.services]
    assert all(i > 0 for i in service_ids) and len(set(service_ids)) == 3


async def test_created_service_answers_its_integer_id(stub, as_user, public):
    created = await stub.CreateService(
        pb.CreateServiceRequest(structure_id=public.id, code="RH", name="Ressources humaines"),
        metadata=as_user,
    )
    assert created.service.cpp_id > max(s.cpp_id for s in public.services)


async def test_events_carry_the_integer_ids(stub, pool, as_user, public):
    rows = await pool.fetch(
        "SELECT ce_type, payload FROM outbox WHERE ce_type = ANY($1) ORDER BY seq",
        [events.StructureCreated.DESCRIPTOR.full_name, events.ServiceCreated.DESCRIPTOR.full_name],
    )
    created = events.StructureCreated.FromString(rows[0]["payload"])
    services = [events.ServiceCreated.FromString(r["payload"]) for r in rows[1:]]
    assert created.structure.cpp_id == public.cpp_id
    assert sorted(e.service.cpp_id for e in services) == sorted(s.cpp_id for s in public.services)


async def test_get_structure_by_cpp_id(stub, as_user, stranger, public, private):
    by_member = await stub.GetStructure(
        pb.GetStructureRequest(cpp_id=private.cpp_id), metadata=as_user
    )
    assert by_member.structure == private
    by_anyone = await stub.GetStructure(
        pb.GetStructureRequest(cpp_id=public.cpp_id), metadata=stranger
    )
    assert by_anyone.structure == public


async def test_private_structure_is_not_found_by_cpp_id_by_strangers(stub, stranger, private):
    code, reason = await failure(
        stub.GetStructure(pb.GetStructureRequest(cpp_id=private.cpp_id), metadata=stranger)
    )
    assert (code, reason) == (NOT_FOUND, "STRUCTURE_NOT_FOUND")
    # Its random id still reaches anyone who has it (an invoice's counterpart).
    by_id = await stub.GetStructure(
        pb.GetStructureRequest(structure_id=private.id), metadata=stranger
    )
    assert by_id.structure.cpp_id == private.cpp_id


async def test_unknown_cpp_id_is_not_found(stub, as_user, public):
    code, reason = await failure(
        stub.GetStructure(pb.GetStructureRequest(cpp_id=public.cpp_id + 1000), metadata=as_user)
    )
    assert (code, reason) == (NOT_FOUND, "STRUCTURE_NOT_FOUND")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"cpp_id": 1, "structure_id": str(uuid.uuid4())}, "STRUCTURE_REFERENCE_CONFLICT"),
        ({"cpp_id": -3}, "CPP_ID_INVALID"),
        ({}, "STRUCTURE_ID_INVALID"),
    ],
)
async def test_get_structure_refuses_bad_references(stub, as_user, fields, expected):
    code, reason = await failure(
        stub.GetStructure(pb.GetStructureRequest(**fields), metadata=as_user)
    )
    assert (code, reason) == (INVALID, expected)


async def list_services(stub, metadata, **fields) -> pb.ListServicesResponse:
    return await stub.ListServices(pb.ListServicesRequest(**fields), metadata=metadata)


async def test_list_services_by_page_number(stub, stranger, public):
    first = await list_services(
        stub, stranger, structure_cpp_id=public.cpp_id, page_number=1, page_size=2
    )
    second = await list_services(
        stub, stranger, structure_cpp_id=public.cpp_id, page_number=2, page_size=2
    )
    past_the_end = await list_services(
        stub, stranger, structure_id=public.id, page_number=3, page_size=2
    )

    assert [s.code for s in first.services] == ["ACHATS", "COMPTA"]
    assert [s.code for s in second.services] == ["VOIRIE"]
    assert past_the_end.services == [] and past_the_end.total_size == 3
    assert first.total_size == second.total_size == 3
    assert first.structure.cpp_id == public.cpp_id and not first.structure.services
    assert first.services[0] == next(s for s in public.services if s.code == "ACHATS")


async def test_list_services_page_number_zero_is_the_first_page(stub, as_user, public):
    page = await list_services(stub, as_user, structure_id=public.id, page_size=1000)
    assert [s.code for s in page.services] == ["ACHATS", "COMPTA", "VOIRIE"]


async def test_list_services_only_active(stub, as_user, public):
    voirie = next(s for s in public.services if s.code == "VOIRIE")
    await stub.UpdateService(
        pb.UpdateServiceRequest(structure_id=public.id, service_id=voirie.id, active=False),
        metadata=as_user,
    )
    active = await list_services(
        stub, as_user, structure_id=public.id, page_size=10, only_active=True
    )
    every = await list_services(stub, as_user, structure_id=public.id, page_size=10)
    assert [s.code for s in active.services] == ["ACHATS", "COMPTA"] and active.total_size == 2
    assert every.total_size == 3 and not every.services[2].active


@pytest.mark.parametrize("page_size", [0, -1, 1001])
async def test_list_services_refuses_page_sizes_out_of_1_to_1000(stub, as_user, public, page_size):
    code, reason = await failure(
        list_services(stub, as_user, structure_id=public.id, page_size=page_size)
    )
    assert (code, reason) == (INVALID, "PAGE_SIZE_INVALID")


async def test_list_services_refuses_negative_page_numbers(stub, as_user, public):
    code, reason = await failure(
        list_services(stub, as_user, structure_id=public.id, page_size=10, page_number=-1)
    )
    assert (code, reason) == (INVALID, "PAGE_NUMBER_INVALID")


async def test_list_services_refuses_both_references(stub, as_user, public):
    code, reason = await failure(
        list_services(
            stub, as_user, structure_id=public.id, structure_cpp_id=public.cpp_id, page_size=10
        )
    )
    assert (code, reason) == (INVALID, "STRUCTURE_REFERENCE_CONFLICT")


async def test_list_services_of_an_unknown_or_hidden_structure_is_not_found(
    stub, as_user, stranger, private
):
    for metadata, cpp_id in ((as_user, private.cpp_id + 1000), (stranger, private.cpp_id)):
        code, reason = await failure(
            list_services(stub, metadata, structure_cpp_id=cpp_id, page_size=10)
        )
        assert (code, reason) == (NOT_FOUND, "STRUCTURE_NOT_FOUND")
    mine = await list_services(stub, as_user, structure_cpp_id=private.cpp_id, page_size=10)
    assert [s.code for s in mine.services] == ["SIEGE"]


async def get_service(stub, metadata, **fields) -> pb.GetServiceResponse:
    return await stub.GetService(pb.GetServiceRequest(**fields), metadata=metadata)


async def test_get_service_by_cpp_id_or_id_with_its_structure(stub, stranger, public):
    compta = next(s for s in public.services if s.code == "COMPTA")
    by_cpp = await get_service(stub, stranger, cpp_id=compta.cpp_id)
    by_id = await get_service(stub, stranger, service_id=compta.id)
    checked = await get_service(
        stub, stranger, cpp_id=compta.cpp_id, structure_cpp_id=public.cpp_id
    )

    assert by_cpp.service == by_id.service == checked.service == compta
    assert by_cpp.structure.id == public.id and not by_cpp.structure.services


async def test_get_service_of_another_structure_is_not_found(stub, as_user, public, private):
    compta = next(s for s in public.services if s.code == "COMPTA")
    for other in ({"structure_cpp_id": private.cpp_id}, {"structure_id": private.id}):
        code, reason = await failure(get_service(stub, as_user, cpp_id=compta.cpp_id, **other))
        assert (code, reason) == (NOT_FOUND, "SERVICE_NOT_FOUND")


async def test_unknown_or_hidden_service_is_not_found(stub, as_user, stranger, public, private):
    siege = private.services[0]
    for metadata, fields in (
        (as_user, {"cpp_id": max(s.cpp_id for s in public.services) + 1000}),
        (as_user, {"service_id": str(uuid.uuid4())}),
        (stranger, {"cpp_id": siege.cpp_id}),
        (stranger, {"service_id": siege.id, "structure_cpp_id": private.cpp_id}),
    ):
        code, reason = await failure(get_service(stub, metadata, **fields))
        assert (code, reason) == (NOT_FOUND, "SERVICE_NOT_FOUND")
    mine = await get_service(stub, as_user, cpp_id=siege.cpp_id)
    assert mine.service == siege


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"cpp_id": 1, "service_id": str(uuid.uuid4())}, "SERVICE_REFERENCE_CONFLICT"),
        (
            {"cpp_id": 1, "structure_cpp_id": 1, "structure_id": str(uuid.uuid4())},
            "STRUCTURE_REFERENCE_CONFLICT",
        ),
        ({"cpp_id": -1}, "CPP_ID_INVALID"),
        ({"cpp_id": 1, "structure_cpp_id": -1}, "CPP_ID_INVALID"),
        ({"service_id": "42"}, "SERVICE_ID_INVALID"),
        ({}, "SERVICE_ID_INVALID"),
    ],
)
async def test_get_service_refuses_bad_references(stub, as_user, fields, expected):
    code, reason = await failure(get_service(stub, as_user, **fields))
    assert (code, reason) == (INVALID, expected)


async def test_integer_ids_are_never_reused(pool, stub, as_user, create_request):
    created = (await stub.CreateStructure(create_request(), metadata=as_user)).structure
    await pool.execute("DELETE FROM structures WHERE id = $1", uuid.UUID(created.id))
    again = (await stub.CreateStructure(create_request(), metadata=as_user)).structure
    assert again.cpp_id > created.cpp_id


async def test_migration_numbers_existing_rows_in_creation_order(postgres_server, service_settings):
    """0003 on a database holding structures and services from before it."""
    name = f"structures_cpp_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(service_settings.database_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(postgres_server.url_for(name))
    try:
        migrations = platform_migrations() + load_migrations(
            "structures", service_settings.migrations_path
        )
        before = [m for m in migrations if m.component == "platform" or m.version < 3]
        await apply_migrations(conn, before)
        ids = [uuid.uuid4() for _ in range(3)]
        for age, structure_id in zip((3, 1, 2), ids, strict=True):
            await conn.execute(
                "INSERT INTO structures (id, identifier_type, identifier, raison_sociale, kind,"
                " address_line1, postal_code, city, country, created_at)"
                " VALUES ($1, 'AUTRE', $2, 'Ancienne', 'PUBLIQUE', '1 rue', '75001', 'Paris',"
                " 'FR', now() - make_interval(days => $3))",
                structure_id,
                str(structure_id),
                age,
            )
            await conn.execute(
                "INSERT INTO structure_services (id, structure_id, code, name)"
                " VALUES ($1, $2, 'S', 'Service')",
                uuid.uuid4(),
                structure_id,
            )

        await apply_migrations(conn, migrations)

        numbered = await conn.fetch("SELECT id, cpp_id FROM structures ORDER BY created_at")
        assert [r["id"] for r in numbered] == [ids[0], ids[2], ids[1]]
        assert [r["cpp_id"] for r in numbered] == [1, 2, 3]
        services = await conn.fetch("SELECT cpp_id FROM structure_services ORDER BY cpp_id")
        assert [r["cpp_id"] for r in services] == [1, 2, 3]
        new_id = await conn.fetchval(
            "INSERT INTO structures (id, identifier_type, identifier, raison_sociale, kind,"
            " address_line1, postal_code, city, country)"
            " VALUES ($1, 'AUTRE', 'nouvelle', 'Nouvelle', 'PRIVEE', '1 rue', '75001', 'Paris',"
            " 'FR') RETURNING cpp_id",
            uuid.uuid4(),
        )
        assert new_id == 4
        with pytest.raises(asyncpg.GeneratedAlwaysError):
            await conn.execute("UPDATE structures SET cpp_id = 99 WHERE cpp_id = 4")
    finally:
        await conn.close()


async def test_services_carry_their_creation_time(stub, as_user, public):
    created = await stub.CreateService(
        pb.CreateServiceRequest(structure_id=public.id, code="RH", name="Ressources humaines"),
        metadata=as_user,
    )
    listed = await list_services(stub, as_user, structure_id=public.id, page_size=10)

    started = created.service.created_at.ToDatetime(tzinfo=UTC)
    assert abs((datetime.now(UTC) - started).total_seconds()) < 60
    assert next(s for s in listed.services if s.code == "RH") == created.service
    assert all(s.HasField("created_at") for s in listed.services)
    assert all(s.HasField("created_at") for s in public.services)


async def test_list_spaces_by_structure_cpp_id(stub, as_user, stranger, public, private):
    mine = await stub.ListSpaces(
        pb.ListSpacesRequest(structure_cpp_id=private.cpp_id), metadata=as_user
    )
    by_id = await stub.ListSpaces(pb.ListSpacesRequest(structure_id=private.id), metadata=as_user)
    assert mine == by_id and len(mine.spaces) == 12

    hidden = await failure(
        stub.ListSpaces(pb.ListSpacesRequest(structure_cpp_id=private.cpp_id), metadata=stranger)
    )
    not_member = await failure(
        stub.ListSpaces(pb.ListSpacesRequest(structure_cpp_id=public.cpp_id), metadata=stranger)
    )
    both = await failure(
        stub.ListSpaces(
            pb.ListSpacesRequest(structure_id=private.id, structure_cpp_id=private.cpp_id),
            metadata=as_user,
        )
    )
    assert hidden == (NOT_FOUND, "STRUCTURE_NOT_FOUND")
    assert not_member == (grpc.StatusCode.PERMISSION_DENIED, "NOT_A_MEMBER")
    assert both == (INVALID, "STRUCTURE_REFERENCE_CONFLICT")


async def test_extreme_numbers_are_answered_not_crashed(stub, as_user, public):
    largest = 2**63 - 1
    code, reason = await failure(
        stub.GetStructure(pb.GetStructureRequest(cpp_id=largest), metadata=as_user)
    )
    assert (code, reason) == (NOT_FOUND, "STRUCTURE_NOT_FOUND")
    code, reason = await failure(get_service(stub, as_user, cpp_id=largest))
    assert (code, reason) == (NOT_FOUND, "SERVICE_NOT_FOUND")
    far = await list_services(
        stub, as_user, structure_id=public.id, page_number=2**31 - 1, page_size=1000
    )
    assert list(far.services) == [] and far.total_size == 3
