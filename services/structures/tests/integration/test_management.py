"""Managers change their structure, its routing parameters and its services, over gRPC."""

import uuid

import grpc
import pytest
from chorus.common.v1 import common_pb2
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error


async def failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason


@pytest.fixture
async def public(stub, as_user, create_request) -> pb.Structure:
    request = create_request(kind=pb.STRUCTURE_KIND_PUBLIQUE, raison_sociale="Mairie de Test")
    return (await stub.CreateStructure(request, metadata=as_user)).structure


@pytest.fixture
async def private(stub, as_user, create_request) -> pb.Structure:
    return (await stub.CreateStructure(create_request(), metadata=as_user)).structure


def update(stub, metadata, structure_id, **fields):
    return stub.UpdateStructure(
        pb.UpdateStructureRequest(structure_id=structure_id, **fields), metadata=metadata
    )


async def test_manager_updates_details_and_routing_parameters(stub, pool, as_user, public):
    response = await update(
        stub,
        as_user,
        public.id,
        libelle="Services municipaux",
        address=common_pb2.Address(
            line1="1 place de la Mairie", postal_code="74000", city="Annecy", country="fr"
        ),
        service_code_required=True,
        engagement_required=True,
    )

    updated = response.structure
    assert updated.libelle == "Services municipaux"
    assert updated.address.country == "FR"
    assert updated.routing == pb.RoutingParameters(
        service_code_required=True, engagement_required=True
    )
    [row] = await pool.fetch(
        "SELECT payload FROM outbox WHERE ce_type = $1",
        events.StructureUpdated.DESCRIPTOR.full_name,
    )
    assert events.StructureUpdated.FromString(row["payload"]).structure == updated
    history = await stub.ListManagerActions(
        pb.ListManagerActionsRequest(structure_id=public.id), metadata=as_user
    )
    assert history.actions[0].kind == pb.MANAGER_ACTION_KIND_STRUCTURE_UPDATED
    assert history.actions[0].details["service_code_required"] == "true"


async def test_routing_parameters_belong_to_public_structures(stub, as_user, private):
    assert await failure(update(stub, as_user, private.id, engagement_required=True)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ROUTING_PARAMETERS_PUBLIC_ONLY",
    )


async def test_invalid_changes_are_refused_with_their_field(stub, as_user, private):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await update(stub, as_user, private.id, raison_sociale="  ", email="pas-une-adresse")
    error = from_rpc_error(caught.value)
    assert error.reason == "RAISON_SOCIALE_REQUIRED"
    assert {v.field for v in error.violations} == {"raison_sociale", "email"}


async def test_non_manager_cannot_update(stub, signer, public):
    stranger = signer.metadata(str(uuid.uuid4()))
    assert await failure(update(stub, stranger, public.id, libelle="Pirate")) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "MANAGER_REQUIRED",
    )


async def test_deactivated_structure_refuses_access_and_requests(stub, signer, as_user, private):
    response = await update(stub, as_user, private.id, status=pb.STRUCTURE_STATUS_INACTIVE)
    assert response.structure.status == pb.STRUCTURE_STATUS_INACTIVE

    check = await stub.CheckAccess(
        pb.CheckAccessRequest(
            structure_id=private.id,
            space=pb.SPACE_FACTURES_EMISES,
            mode=pb.ACCESS_MODE_CONSULTATION,
        ),
        metadata=as_user,
    )
    assert (check.allowed, check.reason) == (False, "STRUCTURE_INACTIVE")
    assert await failure(
        stub.RequestAttachment(
            pb.RequestAttachmentRequest(structure_id=private.id),
            metadata=signer.metadata(str(uuid.uuid4())),
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "STRUCTURE_INACTIVE")


async def test_services_are_created_and_updated_by_managers(stub, pool, as_user, public):
    created = (
        await stub.CreateService(
            pb.CreateServiceRequest(
                structure_id=public.id, code=" serv-fin ", name="Finances", engagement_required=True
            ),
            metadata=as_user,
        )
    ).service
    assert (created.code, created.active, created.engagement_required) == ("SERV-FIN", True, True)
    assert await failure(
        stub.CreateService(
            pb.CreateServiceRequest(structure_id=public.id, code="SERV-FIN", name="Bis"),
            metadata=as_user,
        )
    ) == (grpc.StatusCode.ALREADY_EXISTS, "SERVICE_CODE_TAKEN")

    updated = (
        await stub.UpdateService(
            pb.UpdateServiceRequest(
                structure_id=public.id,
                service_id=created.id,
                name="Direction financière",
                active=False,
            ),
            metadata=as_user,
        )
    ).service

    assert (updated.name, updated.active, updated.engagement_required) == (
        "Direction financière",
        False,
        True,
    )
    got = await stub.GetStructure(pb.GetStructureRequest(structure_id=public.id), metadata=as_user)
    assert list(got.structure.services) == [updated]
    types = [
        row["ce_type"].rsplit(".", 1)[1]
        for row in await pool.fetch(
            "SELECT ce_type FROM outbox WHERE ce_type LIKE '%Service%' ORDER BY seq"
        )
    ]
    assert types == ["ServiceCreated", "ServiceUpdated"]


async def test_reserved_public_invoices_service(stub, as_user, public, private):
    reserved = (
        await stub.CreateService(
            pb.CreateServiceRequest(
                structure_id=public.id, code="FACTURES_PUBLIQUES", name="Factures publiques"
            ),
            metadata=as_user,
        )
    ).service
    assert reserved.reserved_for_public_suppliers

    assert await failure(
        stub.CreateService(
            pb.CreateServiceRequest(
                structure_id=private.id, code="FACTURES_PUBLIQUES", name="Factures publiques"
            ),
            metadata=as_user,
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "SERVICE_CODE_RESERVED")


async def test_unknown_service_is_not_found(stub, as_user, public):
    assert await failure(
        stub.UpdateService(
            pb.UpdateServiceRequest(structure_id=public.id, service_id=str(uuid.uuid4()), name="X"),
            metadata=as_user,
        )
    ) == (grpc.StatusCode.NOT_FOUND, "SERVICE_NOT_FOUND")
