import uuid

import grpc
import pytest
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error

CONSULT, MODIFY = pb.ACCESS_MODE_CONSULTATION, pb.ACCESS_MODE_MODIFICATION


@pytest.fixture
async def structure(stub, as_user, create_request) -> pb.Structure:
    return (await stub.CreateStructure(create_request(), metadata=as_user)).structure


async def check(stub, metadata, structure_id, space, mode=CONSULT, **fields):
    request = pb.CheckAccessRequest(structure_id=structure_id, space=space, mode=mode, **fields)
    response = await stub.CheckAccess(request, metadata=metadata)
    return response.allowed, response.reason


async def add_simple_user(pool, structure_id: str, subscriptions=()) -> str:
    """A UTILISATEUR member with validated subscriptions {space: mode} (no RPC for it yet)."""
    user_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO memberships (structure_id, user_id, role) VALUES ($1, $2, 'UTILISATEUR')",
            uuid.UUID(structure_id),
            user_id,
        )
        for space, mode in subscriptions:
            # Subscriptions refer to a recorded space state (defaults are not recorded).
            await conn.execute(
                "INSERT INTO spaces (structure_id, space) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                uuid.UUID(structure_id),
                space,
            )
            await conn.execute(
                "INSERT INTO subscriptions (id, structure_id, user_id, space, mode, status)"
                " VALUES ($1, $2, $3, $4, $5, 'VALIDEE')",
                uuid.uuid4(),
                uuid.UUID(structure_id),
                user_id,
                space,
                mode,
            )
    return str(user_id)


async def test_principal_manager_may_modify_open_spaces(stub, as_user, structure):
    assert await check(stub, as_user, structure.id, pb.SPACE_FACTURES_EMISES, MODIFY) == (True, "")
    assert await check(stub, as_user, structure.id, pb.SPACE_MON_COMPTE, CONSULT) == (True, "")


async def test_explicit_user_id_of_the_caller_is_accepted(stub, as_user, user_id, structure):
    allowed = await check(
        stub, as_user, structure.id, pb.SPACE_FACTURES_EMISES, user_id=user_id.upper()
    )
    assert allowed == (True, "")


async def test_non_member_is_not_allowed(stub, signer, structure):
    stranger = signer.metadata(str(uuid.uuid4()))
    decision = await check(stub, stranger, structure.id, pb.SPACE_FACTURES_EMISES)
    assert decision == (False, "NOT_A_MEMBER")


async def test_unknown_structure_answers_not_a_member(stub, as_user):
    decision = await check(stub, as_user, str(uuid.uuid4()), pb.SPACE_FACTURES_EMISES)
    assert decision == (False, "NOT_A_MEMBER")


async def test_closed_space_is_not_allowed_even_to_the_manager(stub, as_user, structure):
    # A private structure does not receive invoices.
    decision = await check(stub, as_user, structure.id, pb.SPACE_FACTURES_RECUES)
    assert decision == (False, "SPACE_CLOSED")


async def test_asking_about_another_user_is_denied(stub, as_user, structure):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await check(
            stub, as_user, structure.id, pb.SPACE_FACTURES_EMISES, user_id=str(uuid.uuid4())
        )
    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ACCESS_CHECK_OTHER_USER",
    )


async def test_space_and_mode_are_required(stub, as_user, structure):
    for request, reason in (
        (pb.CheckAccessRequest(structure_id=structure.id, mode=CONSULT), "SPACE_REQUIRED"),
        (
            pb.CheckAccessRequest(structure_id=structure.id, space=pb.SPACE_MON_COMPTE),
            "ACCESS_MODE_REQUIRED",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.CheckAccess(request, metadata=as_user)
        error = from_rpc_error(caught.value)
        assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)


async def test_simple_user_needs_a_sufficient_validated_subscription(stub, signer, pool, structure):
    user = await add_simple_user(pool, structure.id, [("FACTURES_EMISES", "CONSULTATION")])
    as_simple_user = signer.metadata(user)

    assert await check(stub, as_simple_user, structure.id, pb.SPACE_FACTURES_EMISES) == (True, "")
    assert await check(stub, as_simple_user, structure.id, pb.SPACE_FACTURES_EMISES, MODIFY) == (
        False,
        "SUBSCRIPTION_REQUIRED",
    )
    assert await check(stub, as_simple_user, structure.id, pb.SPACE_SOLLICITATIONS_EMISES) == (
        False,
        "SUBSCRIPTION_REQUIRED",
    )


async def test_service_must_belong_to_the_structure(stub, as_user, structure):
    decision = await check(
        stub, as_user, structure.id, pb.SPACE_FACTURES_EMISES, service_id=str(uuid.uuid4())
    )
    assert decision == (False, "SERVICE_NOT_FOUND")


async def test_simple_user_memberships_show_subscribed_spaces_and_the_account_area(
    stub, signer, pool, structure
):
    user = await add_simple_user(pool, structure.id, [("FACTURES_EMISES", "MODIFICATION")])

    response = await stub.ListMyMemberships(
        pb.ListMyMembershipsRequest(), metadata=signer.metadata(user)
    )
    [membership] = response.memberships
    assert membership.role == pb.ROLE_UTILISATEUR
    assert [(s.space, s.mode) for s in membership.spaces] == [
        (pb.SPACE_FACTURES_EMISES, pb.ACCESS_MODE_MODIFICATION),
        (pb.SPACE_MON_COMPTE, pb.ACCESS_MODE_MODIFICATION),
    ]


async def test_accessible_structures(stub, signer, as_user, pool, structure, create_request):
    public = (
        await stub.CreateStructure(
            create_request(kind=pb.STRUCTURE_KIND_PUBLIQUE), metadata=as_user
        )
    ).structure
    user = await add_simple_user(pool, public.id, [("FACTURES_RECUES", "CONSULTATION")])

    async def accessible(metadata, space, mode=CONSULT):
        response = await stub.ListAccessibleStructures(
            pb.ListAccessibleStructuresRequest(space=space, mode=mode), metadata=metadata
        )
        return set(response.structure_ids)

    assert await accessible(as_user, pb.SPACE_FACTURES_EMISES) == {structure.id, public.id}
    assert await accessible(as_user, pb.SPACE_FACTURES_RECUES, MODIFY) == {public.id}
    as_simple_user = signer.metadata(user)
    assert await accessible(as_simple_user, pb.SPACE_FACTURES_RECUES) == {public.id}
    assert await accessible(as_simple_user, pb.SPACE_FACTURES_RECUES, MODIFY) == set()
