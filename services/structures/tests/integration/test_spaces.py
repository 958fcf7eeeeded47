"""Spaces, subscriptions and the access they give, over gRPC."""

import uuid

import grpc
import pytest
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error

CONSULT, MODIFY = pb.ACCESS_MODE_CONSULTATION, pb.ACCESS_MODE_MODIFICATION


async def failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason


@pytest.fixture
async def structure(stub, as_user, create_request) -> pb.Structure:
    return (await stub.CreateStructure(create_request(), metadata=as_user)).structure


@pytest.fixture
async def simple_user(stub, signer, as_user, structure):
    """A UTILISATEUR of the structure, attached through a request."""
    user_id = str(uuid.uuid4())
    metadata = signer.metadata(user_id)
    request = (
        await stub.RequestAttachment(
            pb.RequestAttachmentRequest(structure_id=structure.id), metadata=metadata
        )
    ).request
    await stub.DecideAttachmentRequest(
        pb.DecideAttachmentRequestRequest(request_id=request.id, decision=pb.DECISION_VALIDEE),
        metadata=as_user,
    )
    return user_id, metadata


async def spaces(stub, metadata, structure_id) -> dict[int, pb.SpaceState]:
    response = await stub.ListSpaces(
        pb.ListSpacesRequest(structure_id=structure_id), metadata=metadata
    )
    return {s.space: s for s in response.spaces}


async def allowed(stub, metadata, structure_id, space, mode=CONSULT) -> tuple[bool, str]:
    response = await stub.CheckAccess(
        pb.CheckAccessRequest(structure_id=structure_id, space=space, mode=mode),
        metadata=metadata,
    )
    return response.allowed, response.reason


async def subscribe(stub, metadata, structure_id, space, mode=CONSULT) -> pb.Subscription:
    response = await stub.RequestSubscription(
        pb.RequestSubscriptionRequest(structure_id=structure_id, space=space, mode=mode),
        metadata=metadata,
    )
    return response.subscription


async def test_spaces_of_a_private_structure_as_manager_and_as_user(
    stub, as_user, structure, simple_user
):
    as_manager = await spaces(stub, as_user, structure.id)
    as_simple = await spaces(stub, simple_user[1], structure.id)

    assert len(as_manager) == 12
    assert as_manager[pb.SPACE_FACTURES_EMISES].open
    assert as_manager[pb.SPACE_FACTURES_EMISES].access_mode == MODIFY
    assert not as_manager[pb.SPACE_FACTURES_RECUES].open
    assert as_manager[pb.SPACE_ACTIVITES_GESTIONNAIRE].managers_only
    assert as_simple[pb.SPACE_ACTIVITES_GESTIONNAIRE].access_mode == 0
    assert as_simple[pb.SPACE_MON_COMPTE].access_mode == MODIFY
    assert as_simple[pb.SPACE_SOLLICITATIONS_EMISES].access_mode == 0
    assert as_simple[pb.SPACE_FACTURES_EMISES].self_subscription


async def test_opening_a_space_gives_managers_implied_access(stub, pool, as_user, structure):
    assert await allowed(stub, as_user, structure.id, pb.SPACE_ENGAGEMENTS) == (
        False,
        "SPACE_CLOSED",
    )

    opened = await stub.OpenSpace(
        pb.OpenSpaceRequest(structure_id=structure.id, space=pb.SPACE_ENGAGEMENTS),
        metadata=as_user,
    )

    assert opened.space.open and opened.space.access_mode == MODIFY
    assert await allowed(stub, as_user, structure.id, pb.SPACE_ENGAGEMENTS, MODIFY) == (True, "")
    # Opening again changes nothing and says nothing.
    await stub.OpenSpace(
        pb.OpenSpaceRequest(structure_id=structure.id, space=pb.SPACE_ENGAGEMENTS),
        metadata=as_user,
    )
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE ce_type = $1", events.SpaceOpened.DESCRIPTOR.full_name
    )
    assert [events.SpaceOpened.FromString(r["payload"]).space for r in rows] == [
        pb.SPACE_ENGAGEMENTS
    ]


async def test_closing_a_space_removes_access_but_the_account_area_stays_open(
    stub, as_user, structure
):
    await stub.CloseSpace(
        pb.CloseSpaceRequest(structure_id=structure.id, space=pb.SPACE_SOLLICITATIONS_EMISES),
        metadata=as_user,
    )

    assert await allowed(stub, as_user, structure.id, pb.SPACE_SOLLICITATIONS_EMISES) == (
        False,
        "SPACE_CLOSED",
    )
    assert await failure(
        stub.CloseSpace(
            pb.CloseSpaceRequest(structure_id=structure.id, space=pb.SPACE_MON_COMPTE),
            metadata=as_user,
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "SPACE_ALWAYS_OPEN")


async def test_simple_user_cannot_open_spaces(stub, structure, simple_user):
    assert await failure(
        stub.OpenSpace(
            pb.OpenSpaceRequest(structure_id=structure.id, space=pb.SPACE_ENGAGEMENTS),
            metadata=simple_user[1],
        )
    ) == (grpc.StatusCode.PERMISSION_DENIED, "MANAGER_REQUIRED")


async def test_subscription_is_validated_by_a_manager(stub, pool, as_user, structure, simple_user):
    user_id, as_simple = simple_user
    pending = await subscribe(stub, as_simple, structure.id, pb.SPACE_SOLLICITATIONS_EMISES)
    assert pending.status == pb.SUBSCRIPTION_STATUS_EN_COURS_DE_VALIDATION
    assert await allowed(stub, as_simple, structure.id, pb.SPACE_SOLLICITATIONS_EMISES) == (
        False,
        "SUBSCRIPTION_REQUIRED",
    )
    assert await failure(
        subscribe(stub, as_simple, structure.id, pb.SPACE_SOLLICITATIONS_EMISES)
    ) == (grpc.StatusCode.ALREADY_EXISTS, "SUBSCRIPTION_PENDING")
    listed = await stub.ListSubscriptions(
        pb.ListSubscriptionsRequest(
            structure_id=structure.id, status=pb.SUBSCRIPTION_STATUS_EN_COURS_DE_VALIDATION
        ),
        metadata=as_user,
    )
    assert [s.id for s in listed.subscriptions] == [pending.id]

    decided = await stub.DecideSubscription(
        pb.DecideSubscriptionRequest(
            subscription_id=pending.id, decision=pb.DECISION_VALIDEE, comment="OK"
        ),
        metadata=as_user,
    )

    assert decided.subscription.status == pb.SUBSCRIPTION_STATUS_VALIDEE
    assert await allowed(stub, as_simple, structure.id, pb.SPACE_SOLLICITATIONS_EMISES) == (
        True,
        "",
    )
    assert await failure(
        stub.DecideSubscription(
            pb.DecideSubscriptionRequest(subscription_id=pending.id, decision=pb.DECISION_REFUSEE),
            metadata=as_user,
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "SUBSCRIPTION_ALREADY_DECIDED")
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE ce_type = $1 ORDER BY seq",
        events.SubscriptionRequested.DESCRIPTOR.full_name,
    )
    [requested] = [events.SubscriptionRequested.FromString(r["payload"]) for r in rows]
    assert requested.subscription.user.user_id == user_id
    assert len(requested.manager_user_ids) == 1


async def test_only_managers_decide_and_strangers_are_told_no_such_subscription(
    stub, signer, as_user, structure, simple_user
):
    _, as_simple = simple_user
    pending = await subscribe(stub, as_simple, structure.id, pb.SPACE_SOLLICITATIONS_EMISES)
    as_stranger = signer.metadata(str(uuid.uuid4()))

    def decide(metadata):
        return stub.DecideSubscription(
            pb.DecideSubscriptionRequest(subscription_id=pending.id, decision=pb.DECISION_VALIDEE),
            metadata=metadata,
        )

    assert await failure(decide(as_stranger)) == (
        grpc.StatusCode.NOT_FOUND,
        "SUBSCRIPTION_NOT_FOUND",
    )
    assert await failure(decide(as_simple)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "MANAGER_REQUIRED",
    )
    listed = await stub.ListSubscriptions(
        pb.ListSubscriptionsRequest(structure_id=structure.id), metadata=as_user
    )
    assert [(s.id, s.status) for s in listed.subscriptions] == [
        (pending.id, pb.SUBSCRIPTION_STATUS_EN_COURS_DE_VALIDATION)
    ]


async def test_upgrade_to_modification_replaces_the_consultation_subscription(
    stub, as_user, structure, simple_user
):
    _, as_simple = simple_user

    async def granted(mode):
        pending = await subscribe(stub, as_simple, structure.id, pb.SPACE_SUIVI_FLUX, mode)
        await stub.DecideSubscription(
            pb.DecideSubscriptionRequest(subscription_id=pending.id, decision=pb.DECISION_VALIDEE),
            metadata=as_user,
        )

    await stub.OpenSpace(
        pb.OpenSpaceRequest(structure_id=structure.id, space=pb.SPACE_SUIVI_FLUX), metadata=as_user
    )
    await granted(CONSULT)
    assert await failure(subscribe(stub, as_simple, structure.id, pb.SPACE_SUIVI_FLUX)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ALREADY_SUBSCRIBED",
    )
    await granted(MODIFY)

    state = (await spaces(stub, as_simple, structure.id))[pb.SPACE_SUIVI_FLUX]
    assert state.access_mode == MODIFY


async def test_issued_invoices_are_self_subscribed(stub, structure, simple_user):
    _, as_simple = simple_user

    subscription = await subscribe(stub, as_simple, structure.id, pb.SPACE_FACTURES_EMISES, MODIFY)

    assert subscription.status == pb.SUBSCRIPTION_STATUS_VALIDEE
    assert await allowed(stub, as_simple, structure.id, pb.SPACE_FACTURES_EMISES, MODIFY) == (
        True,
        "",
    )


@pytest.mark.parametrize(
    ("space", "reason"),
    [
        (pb.SPACE_ACTIVITES_GESTIONNAIRE, "SPACE_MANAGERS_ONLY"),
        (pb.SPACE_ENGAGEMENTS, "SPACE_CLOSED"),
        (pb.SPACE_MON_COMPTE, "ALREADY_SUBSCRIBED"),
    ],
)
async def test_subscriptions_that_make_no_sense_are_refused(
    stub, structure, simple_user, space, reason
):
    assert await failure(subscribe(stub, simple_user[1], structure.id, space)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        reason,
    )


async def test_managers_need_no_subscription(stub, as_user, structure):
    assert await failure(subscribe(stub, as_user, structure.id, pb.SPACE_FACTURES_EMISES)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "MANAGER_HAS_ACCESS",
    )


async def test_received_invoices_limited_to_the_attached_services(
    stub, signer, as_user, create_request
):
    public = (
        await stub.CreateStructure(
            create_request(kind=pb.STRUCTURE_KIND_PUBLIQUE), metadata=as_user
        )
    ).structure
    service = (
        await stub.CreateService(
            pb.CreateServiceRequest(structure_id=public.id, code="SERV-FIN", name="Finances"),
            metadata=as_user,
        )
    ).service
    other = (
        await stub.CreateService(
            pb.CreateServiceRequest(structure_id=public.id, code="SERV-RH", name="RH"),
            metadata=as_user,
        )
    ).service
    as_agent = signer.metadata(str(uuid.uuid4()))
    request = (
        await stub.RequestAttachment(
            pb.RequestAttachmentRequest(structure_id=public.id, service_ids=[service.id]),
            metadata=as_agent,
        )
    ).request
    await stub.DecideAttachmentRequest(
        pb.DecideAttachmentRequestRequest(request_id=request.id, decision=pb.DECISION_VALIDEE),
        metadata=as_user,
    )
    pending = await subscribe(stub, as_agent, public.id, pb.SPACE_FACTURES_RECUES)
    await stub.DecideSubscription(
        pb.DecideSubscriptionRequest(subscription_id=pending.id, decision=pb.DECISION_VALIDEE),
        metadata=as_user,
    )

    accessible = await stub.ListAccessibleStructures(
        pb.ListAccessibleStructuresRequest(space=pb.SPACE_FACTURES_RECUES, mode=CONSULT),
        metadata=as_agent,
    )
    as_manager = await stub.ListAccessibleStructures(
        pb.ListAccessibleStructuresRequest(space=pb.SPACE_FACTURES_RECUES, mode=CONSULT),
        metadata=as_user,
    )

    assert [
        (s.structure_id, list(s.service_ids), list(s.service_codes)) for s in accessible.structures
    ] == [(public.id, [service.id], ["SERV-FIN"])]
    assert [(s.structure_id, list(s.service_ids)) for s in as_manager.structures] == [
        (public.id, [])
    ]
    check = pb.CheckAccessRequest(
        structure_id=public.id, space=pb.SPACE_FACTURES_RECUES, mode=CONSULT, service_id=other.id
    )
    response = await stub.CheckAccess(check, metadata=as_agent)
    assert (response.allowed, response.reason) == (False, "SERVICE_NOT_ALLOWED")
