import asyncio
import uuid

import asyncpg
import grpc
import pytest
from aiokafka import AIOKafkaConsumer
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error

PRIVATE_SPACES = {
    pb.SPACE_MON_COMPTE,
    pb.SPACE_ACTIVITES_GESTIONNAIRE,
    pb.SPACE_SOLLICITATIONS_EMISES,
    pb.SPACE_SOLLICITATIONS_RECUES,
    pb.SPACE_FACTURES_EMISES,
}


async def outbox_events(pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT key, ce_type, payload FROM outbox ORDER BY seq")


async def test_creator_becomes_principal_manager(stub, as_user, user_id, create_request, pool):
    request = create_request(identifier=" 732 829 320 00074", libelle="Siège")
    created = (await stub.CreateStructure(request, metadata=as_user)).structure

    assert created.identifier == "73282932000074"
    assert created.kind == pb.STRUCTURE_KIND_PRIVEE
    assert created.status == pb.STRUCTURE_STATUS_ACTIVE
    assert created.created_at.seconds > 0
    role = await pool.fetchval(
        "SELECT role FROM memberships WHERE structure_id = $1 AND user_id = $2",
        uuid.UUID(created.id),
        uuid.UUID(user_id),
    )
    assert role == "GESTIONNAIRE_PRINCIPAL"


async def test_my_memberships_show_the_new_structure_with_manager_access(
    stub, as_user, create_request
):
    created = (await stub.CreateStructure(create_request(), metadata=as_user)).structure

    memberships = await stub.ListMyMemberships(pb.ListMyMembershipsRequest(), metadata=as_user)
    [membership] = memberships.memberships
    assert membership.structure.id == created.id
    assert membership.role == pb.ROLE_GESTIONNAIRE_PRINCIPAL
    assert {s.space for s in membership.spaces} == PRIVATE_SPACES
    assert {s.mode for s in membership.spaces} == {pb.ACCESS_MODE_MODIFICATION}


async def test_creation_writes_structure_created_and_member_added(
    stub, as_user, user_id, create_request, pool
):
    created = (await stub.CreateStructure(create_request(), metadata=as_user)).structure

    rows = await outbox_events(pool)
    assert [(r["key"], r["ce_type"]) for r in rows] == [
        (created.id, "chorus.structures.events.v1.StructureCreated"),
        (created.id, "chorus.structures.events.v1.MemberAdded"),
    ]
    structure_created = events.StructureCreated.FromString(rows[0]["payload"])
    assert structure_created.structure == created
    assert structure_created.created_by == user_id
    member_added = events.MemberAdded.FromString(rows[1]["payload"])
    assert member_added == events.MemberAdded(
        structure_id=created.id,
        user_id=user_id,
        role=pb.ROLE_GESTIONNAIRE_PRINCIPAL,
        structure_name=created.raison_sociale,
    )


async def test_events_reach_the_broker(stub, as_user, create_request, settings):
    created = (await stub.CreateStructure(create_request(), metadata=as_user)).structure

    consumer = AIOKafkaConsumer(
        "chorus.structures.events.v1",
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        seen: list[str] = []

        async def both_events_seen():
            async for record in consumer:
                if record.key == created.id.encode():
                    seen.append(dict(record.headers)["ce_type"].decode())
                    if len(seen) == 2:
                        return

        await asyncio.wait_for(both_events_seen(), timeout=20)
    finally:
        await consumer.stop()
    assert seen == [
        "chorus.structures.events.v1.StructureCreated",
        "chorus.structures.events.v1.MemberAdded",
    ]


async def test_public_structure_also_opens_received_invoices(stub, as_user, create_request):
    request = create_request(kind=pb.STRUCTURE_KIND_PUBLIQUE)
    created = (await stub.CreateStructure(request, metadata=as_user)).structure
    assert created.kind == pb.STRUCTURE_KIND_PUBLIQUE

    memberships = await stub.ListMyMemberships(pb.ListMyMembershipsRequest(), metadata=as_user)
    spaces = {s.space for s in memberships.memberships[0].spaces}
    assert spaces == PRIVATE_SPACES | {pb.SPACE_FACTURES_RECUES}


async def test_public_creation_can_be_switched_off(
    stub, as_user, create_request, settings, monkeypatch
):
    monkeypatch.setattr(settings, "allow_public_creation", False)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateStructure(
            create_request(kind=pb.STRUCTURE_KIND_PUBLIQUE), metadata=as_user
        )
    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "PUBLIC_CREATION_DISABLED",
    )


async def test_bad_siret_checksum_is_refused_and_nothing_stored(
    stub, as_user, create_request, pool
):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateStructure(create_request(identifier="73282932000075"), metadata=as_user)

    error = from_rpc_error(caught.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "SIRET_CHECKSUM_INVALID"
    assert [v.field for v in error.violations] == ["identifier"]
    assert "SIRET" in error.message
    assert await pool.fetchval("SELECT count(*) FROM structures") == 0
    assert await pool.fetchval("SELECT count(*) FROM memberships") == 0
    assert await outbox_events(pool) == []


async def test_missing_fields_are_all_reported(stub, as_user):
    request = pb.CreateStructureRequest(
        identifier_type=pb.IDENTIFIER_TYPE_SIRET, identifier="73282932000074"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateStructure(request, metadata=as_user)

    error = from_rpc_error(caught.value)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "RAISON_SOCIALE_REQUIRED"
    assert {v.field for v in error.violations} == {
        "raison_sociale",
        "address.line1",
        "address.postal_code",
        "address.city",
        "address.country",
    }


async def test_duplicate_identifier_is_refused(stub, signer, as_user, create_request, pool):
    first = (await stub.CreateStructure(create_request(), metadata=as_user)).structure
    spaced = " ".join([first.identifier[:3], first.identifier[3:9], first.identifier[9:]])

    other_user = signer.metadata(str(uuid.uuid4()))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateStructure(create_request(identifier=spaced), metadata=other_user)

    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "STRUCTURE_ALREADY_EXISTS",
    )
    assert await pool.fetchval("SELECT count(*) FROM memberships") == 1
    assert len(await outbox_events(pool)) == 2


async def test_database_refuses_a_second_principal_manager(stub, as_user, create_request, pool):
    created = (await stub.CreateStructure(create_request(), metadata=as_user)).structure

    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(
            "INSERT INTO memberships (structure_id, user_id, role)"
            " VALUES ($1, $2, 'GESTIONNAIRE_PRINCIPAL')",
            uuid.UUID(created.id),
            uuid.uuid4(),
        )


async def test_a_retried_creation_with_the_same_idempotency_key_creates_once(
    stub, as_user, create_request, pool
):
    request = create_request()
    keyed = (*as_user, ("idempotency-key", f"erp-{uuid.uuid4()}"))

    first = (await stub.CreateStructure(request, metadata=keyed)).structure
    again = (await stub.CreateStructure(request, metadata=keyed)).structure

    assert again == first
    assert await pool.fetchval("SELECT count(*) FROM structures") == 1
    assert len(await outbox_events(pool)) == 2  # StructureCreated + MemberAdded, once
    # Without the key, the same request is a second creation: refused as a duplicate.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.CreateStructure(request, metadata=as_user)
    assert from_rpc_error(caught.value).reason == "STRUCTURE_ALREADY_EXISTS"
