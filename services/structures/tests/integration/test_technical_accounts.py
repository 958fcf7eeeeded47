"""Technical accounts of the Chorus Pro-compatible API: a token whose claim ``tst`` names one
structure. structures answers their access questions from the claim alone (that structure,
its open spaces in MODIFICATION, never manager rights) and ignores any membership their user
id may have."""

import uuid

import grpc
import pytest
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error

CONSULT, MODIFY = pb.ACCESS_MODE_CONSULTATION, pb.ACCESS_MODE_MODIFICATION
DENIED = grpc.StatusCode.PERMISSION_DENIED


async def failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason


@pytest.fixture
async def company(stub, as_user, create_request) -> pb.Structure:
    structure = (
        await stub.CreateStructure(
            create_request(raison_sociale="Technique et Fils SARL"), metadata=as_user
        )
    ).structure
    for code, name in (("SIEGE", "Siège"), ("ATELIER", "Atelier")):
        await stub.CreateService(
            pb.CreateServiceRequest(structure_id=structure.id, code=code, name=name),
            metadata=as_user,
        )
    return (
        await stub.GetStructure(pb.GetStructureRequest(structure_id=structure.id), metadata=as_user)
    ).structure


@pytest.fixture
async def other(stub, as_user, create_request) -> pb.Structure:
    """Another private structure of the same manager."""
    request = create_request(raison_sociale="Autre Société SAS")
    return (await stub.CreateStructure(request, metadata=as_user)).structure


@pytest.fixture
def tech_user() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def as_tech(signer, pool, tech_user, company, other):
    """The technical account's token; its user id is (wrongly) a secondary manager of both
    structures, which must change nothing."""
    for structure_id in (company.id, other.id):
        await pool.execute(
            "INSERT INTO memberships (structure_id, user_id, role)"
            " VALUES ($1, $2, 'GESTIONNAIRE_SECONDAIRE')",
            uuid.UUID(structure_id),
            uuid.UUID(tech_user),
        )
    return (("authorization", f"Bearer {signer.token(tech_user, tst=company.id)}"),)


async def check(stub, metadata, structure_id, space, mode=MODIFY, **fields):
    request = pb.CheckAccessRequest(structure_id=structure_id, space=space, mode=mode, **fields)
    response = await stub.CheckAccess(request, metadata=metadata)
    return response.allowed, response.reason


async def test_open_spaces_of_its_structure_in_either_mode(stub, as_tech, company):
    for space in (pb.SPACE_FACTURES_EMISES, pb.SPACE_MON_COMPTE, pb.SPACE_SOLLICITATIONS_EMISES):
        for mode in (CONSULT, MODIFY):
            assert await check(stub, as_tech, company.id, space, mode) == (True, "")


async def test_never_the_managers_space(stub, as_tech, company):
    decision = await check(stub, as_tech, company.id, pb.SPACE_ACTIVITES_GESTIONNAIRE)
    assert decision == (False, "MANAGERS_ONLY")


async def test_closed_spaces_stay_closed(stub, as_user, as_tech, company):
    assert await check(stub, as_tech, company.id, pb.SPACE_FACTURES_RECUES) == (
        False,
        "SPACE_CLOSED",
    )
    await stub.CloseSpace(
        pb.CloseSpaceRequest(structure_id=company.id, space=pb.SPACE_FACTURES_EMISES),
        metadata=as_user,
    )
    await stub.OpenSpace(
        pb.OpenSpaceRequest(structure_id=company.id, space=pb.SPACE_SUIVI_FLUX), metadata=as_user
    )
    assert await check(stub, as_tech, company.id, pb.SPACE_FACTURES_EMISES) == (
        False,
        "SPACE_CLOSED",
    )
    assert await check(stub, as_tech, company.id, pb.SPACE_SUIVI_FLUX) == (True, "")


async def test_inactive_structure_is_refused(stub, as_user, as_tech, company):
    await stub.UpdateStructure(
        pb.UpdateStructureRequest(structure_id=company.id, status=pb.STRUCTURE_STATUS_INACTIVE),
        metadata=as_user,
    )
    assert await check(stub, as_tech, company.id, pb.SPACE_FACTURES_EMISES) == (
        False,
        "STRUCTURE_INACTIVE",
    )
    assert (await stub.ListMyMemberships(pb.ListMyMembershipsRequest(), metadata=as_tech)) == (
        pb.ListMyMembershipsResponse(
            memberships=[
                pb.Membership(
                    structure=(
                        await stub.GetStructure(
                            pb.GetStructureRequest(structure_id=company.id), metadata=as_user
                        )
                    ).structure,
                    role=pb.ROLE_COMPTE_TECHNIQUE,
                    services=company.services,
                )
            ]
        )
    )


async def test_every_service_of_its_structure(stub, as_tech, company):
    atelier = next(s for s in company.services if s.code == "ATELIER")
    space = pb.SPACE_FACTURES_EMISES
    assert await check(stub, as_tech, company.id, space, service_id=atelier.id) == (True, "")
    unknown = str(uuid.uuid4())
    assert await check(stub, as_tech, company.id, space, service_id=unknown) == (
        False,
        "SERVICE_NOT_FOUND",
    )


async def test_no_other_structure_whatever_its_memberships(stub, as_tech, other):
    assert await check(stub, as_tech, other.id, pb.SPACE_FACTURES_EMISES) == (
        False,
        "NOT_A_MEMBER",
    )
    code, reason = await failure(
        stub.ListSpaces(pb.ListSpacesRequest(structure_id=other.id), metadata=as_tech)
    )
    assert (code, reason) == (DENIED, "NOT_A_MEMBER")


async def test_check_access_about_itself_by_id_or_about_nobody_else(
    stub, as_tech, tech_user, company, as_user, user_id
):
    space = pb.SPACE_FACTURES_EMISES
    assert await check(stub, as_tech, company.id, space, user_id=tech_user) == (True, "")
    code, reason = await failure(check(stub, as_tech, company.id, space, user_id=user_id))
    assert (code, reason) == (DENIED, "ACCESS_CHECK_OTHER_USER")


async def test_list_accessible_structures_is_its_structure_only(stub, as_tech, company):
    issued = await stub.ListAccessibleStructures(
        pb.ListAccessibleStructuresRequest(space=pb.SPACE_FACTURES_EMISES, mode=MODIFY),
        metadata=as_tech,
    )
    managers = await stub.ListAccessibleStructures(
        pb.ListAccessibleStructuresRequest(space=pb.SPACE_ACTIVITES_GESTIONNAIRE, mode=CONSULT),
        metadata=as_tech,
    )
    assert list(issued.structure_ids) == [company.id]
    assert list(issued.structures) == [pb.AccessibleStructure(structure_id=company.id)]
    assert list(managers.structure_ids) == []


async def test_my_memberships_is_its_structure_as_technical_account(stub, as_tech, company):
    response = await stub.ListMyMemberships(pb.ListMyMembershipsRequest(), metadata=as_tech)

    [membership] = response.memberships
    assert membership.structure == company
    assert membership.role == pb.ROLE_COMPTE_TECHNIQUE
    assert list(membership.services) == list(company.services)
    assert [(a.space, a.mode) for a in membership.spaces] == [
        (pb.SPACE_FACTURES_EMISES, MODIFY),
        (pb.SPACE_SOLLICITATIONS_EMISES, MODIFY),
        (pb.SPACE_SOLLICITATIONS_RECUES, MODIFY),
        (pb.SPACE_MON_COMPTE, MODIFY),
    ]


async def test_list_spaces_of_its_structure(stub, as_tech, company):
    response = await stub.ListSpaces(
        pb.ListSpacesRequest(structure_id=company.id), metadata=as_tech
    )
    modes = {s.space: s.access_mode for s in response.spaces}
    assert modes[pb.SPACE_FACTURES_EMISES] == MODIFY
    assert modes[pb.SPACE_ACTIVITES_GESTIONNAIRE] == pb.ACCESS_MODE_UNSPECIFIED
    assert modes[pb.SPACE_FACTURES_RECUES] == pb.ACCESS_MODE_UNSPECIFIED


async def test_a_token_for_a_structure_that_does_not_exist(signer, stub):
    metadata = (("authorization", f"Bearer {signer.token(tst=str(uuid.uuid4()))}"),)
    response = await stub.ListMyMemberships(pb.ListMyMembershipsRequest(), metadata=metadata)
    assert list(response.memberships) == []


async def test_a_malformed_claim_is_unauthenticated(signer, stub):
    metadata = (("authorization", f"Bearer {signer.token(tst='pas-un-uuid')}"),)
    code, reason = await failure(
        stub.ListMyMemberships(pb.ListMyMembershipsRequest(), metadata=metadata)
    )
    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")


def manager_calls(company: pb.Structure, other: pb.Structure, member_id: str):
    """Every manager RPC, with a request that would be valid for a manager."""
    structure_id, service_id = company.id, company.services[0].id
    some_id = str(uuid.uuid4())
    return [
        ("UpdateStructure", pb.UpdateStructureRequest(structure_id=structure_id, libelle="X")),
        ("CreateService", pb.CreateServiceRequest(structure_id=structure_id, code="N", name="N")),
        (
            "UpdateService",
            pb.UpdateServiceRequest(structure_id=structure_id, service_id=service_id, name="N"),
        ),
        ("ListManagerActions", pb.ListManagerActionsRequest(structure_id=structure_id)),
        (
            "UpdateMember",
            pb.UpdateMemberRequest(
                structure_id=structure_id,
                user_id=member_id,
                role=pb.ROLE_GESTIONNAIRE_SECONDAIRE,
            ),
        ),
        ("DetachMember", pb.DetachMemberRequest(structure_id=structure_id, user_id=member_id)),
        (
            "TransferPrincipalRole",
            pb.TransferPrincipalRoleRequest(structure_id=structure_id, user_id=member_id),
        ),
        (
            "AttachMemberByEmail",
            pb.AttachMemberByEmailRequest(structure_id=structure_id, login_email="a@b.fr"),
        ),
        ("ListAttachmentRequests", pb.ListAttachmentRequestsRequest(structure_id=structure_id)),
        (
            "DecideAttachmentRequest",
            pb.DecideAttachmentRequestRequest(request_id=some_id, decision=pb.DECISION_VALIDEE),
        ),
        (
            "BatchDecideAttachmentRequests",
            pb.BatchDecideAttachmentRequestsRequest(
                structure_id=structure_id, request_ids=[some_id], decision=pb.DECISION_VALIDEE
            ),
        ),
        ("OpenSpace", pb.OpenSpaceRequest(structure_id=structure_id, space=pb.SPACE_SUIVI_FLUX)),
        (
            "CloseSpace",
            pb.CloseSpaceRequest(structure_id=structure_id, space=pb.SPACE_FACTURES_EMISES),
        ),
        ("ListSubscriptions", pb.ListSubscriptionsRequest(structure_id=structure_id)),
        (
            "DecideSubscription",
            pb.DecideSubscriptionRequest(subscription_id=some_id, decision=pb.DECISION_VALIDEE),
        ),
        # Of the other structure, where its user id is a secondary manager too.
        ("UpdateStructure", pb.UpdateStructureRequest(structure_id=other.id, libelle="X")),
    ]


async def test_every_manager_rpc_refuses_it_and_changes_nothing(
    stub, pool, as_tech, company, other, user_id
):
    before = await pool.fetchval("SELECT count(*) FROM outbox")
    calls = manager_calls(company, other, user_id)
    for method, request in calls:
        code, reason = await failure(getattr(stub, method)(request, metadata=as_tech))
        assert (method, code, reason) == (method, DENIED, "MANAGER_REQUIRED")
    assert await pool.fetchval("SELECT count(*) FROM outbox") == before
    # Every manager RPC of the service is in the list.
    managers = {m for m, _ in calls}
    service = pb.DESCRIPTOR.services_by_name["StructuresService"]
    assert managers <= {m.name for m in service.methods}
    assert len(managers) == 15


async def test_what_only_people_do_is_refused(stub, pool, as_tech, company, create_request):
    before = await pool.fetchval("SELECT count(*) FROM outbox")
    calls = [
        ("CreateStructure", create_request()),
        ("RequestAttachment", pb.RequestAttachmentRequest(structure_id=company.id)),
        ("CancelAttachmentRequest", pb.CancelAttachmentRequestRequest(request_id=company.id)),
        ("ListMyAttachmentRequests", pb.ListMyAttachmentRequestsRequest()),
        (
            "RequestSubscription",
            pb.RequestSubscriptionRequest(
                structure_id=company.id, space=pb.SPACE_SUIVI_FLUX, mode=MODIFY
            ),
        ),
        ("LeaveStructure", pb.LeaveStructureRequest(structure_id=company.id)),
        ("ListMembers", pb.ListMembersRequest(structure_id=company.id)),
        (
            "CreateSollicitation",
            pb.CreateSollicitationRequest(
                addressee_structure_id=company.id, subject="Objet", body="Message"
            ),
        ),
        (
            "ListSollicitations",
            pb.ListSollicitationsRequest(box=pb.SOLLICITATION_BOX_EMISES),
        ),
        ("GetSollicitation", pb.GetSollicitationRequest(sollicitation_id=company.id)),
        (
            "ReplySollicitation",
            pb.ReplySollicitationRequest(sollicitation_id=company.id, body="Réponse"),
        ),
        ("CloseSollicitation", pb.CloseSollicitationRequest(sollicitation_id=company.id)),
        (
            "GetSollicitationAttachment",
            pb.GetSollicitationAttachmentRequest(
                sollicitation_id=company.id, attachment_id=company.id
            ),
        ),
    ]
    for method, request in calls:
        code, reason = await failure(getattr(stub, method)(request, metadata=as_tech))
        assert (method, code, reason) == (method, DENIED, "TECHNICAL_ACCOUNT_NOT_ALLOWED")
    assert await pool.fetchval("SELECT count(*) FROM outbox") == before


async def test_every_rpc_is_classified(stub):
    """A new RPC must say how it treats technical accounts: this list is the allowed ones,
    the two tests above the refused ones."""
    allowed = {
        "GetStructure",
        "FindStructureByIdentifier",
        "SearchStructures",
        "ListServices",
        "GetService",
        "ListMyMemberships",
        "CheckAccess",
        "ListAccessibleStructures",
        "ListSpaces",
        "SummarizePendingRequests",
    }
    refused_to_people_only = {
        "CreateStructure",
        "RequestAttachment",
        "CancelAttachmentRequest",
        "ListMyAttachmentRequests",
        "RequestSubscription",
        "LeaveStructure",
        "ListMembers",
        "CreateSollicitation",
        "ListSollicitations",
        "GetSollicitation",
        "ReplySollicitation",
        "CloseSollicitation",
        "GetSollicitationAttachment",
    }
    managers = {
        m
        for m, _ in manager_calls(
            pb.Structure(services=[pb.StructureService()]), pb.Structure(), ""
        )
    }
    service = pb.DESCRIPTOR.services_by_name["StructuresService"]
    assert {m.name for m in service.methods} == allowed | refused_to_people_only | managers


async def test_it_finds_its_structure_and_public_ones_only(
    stub, as_tech, company, other, create_request, as_user
):
    public = (
        await stub.CreateStructure(
            create_request(kind=pb.STRUCTURE_KIND_PUBLIQUE, raison_sociale="Mairie Technique"),
            metadata=as_user,
        )
    ).structure
    listed = await stub.SearchStructures(
        pb.SearchStructuresRequest(page_number=1, page_size=100), metadata=as_tech
    )
    assert {s.id for s in listed.structures} == {company.id, public.id}
    assert listed.total_size == 2
    by_name = await stub.SearchStructures(
        pb.SearchStructuresRequest(name="technique"), metadata=as_tech
    )
    assert [s.id for s in by_name.structures] == [public.id, company.id]

    own = await stub.GetStructure(pb.GetStructureRequest(cpp_id=company.cpp_id), metadata=as_tech)
    assert own.structure.id == company.id
    code, reason = await failure(
        stub.GetStructure(pb.GetStructureRequest(cpp_id=other.cpp_id), metadata=as_tech)
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "STRUCTURE_NOT_FOUND")
    services = await stub.ListServices(
        pb.ListServicesRequest(structure_cpp_id=company.cpp_id, page_size=10), metadata=as_tech
    )
    assert [s.code for s in services.services] == ["ATELIER", "SIEGE"]


async def test_list_spaces_by_cpp_id_of_its_structure(stub, as_tech, company, other):
    by_cpp = await stub.ListSpaces(
        pb.ListSpacesRequest(structure_cpp_id=company.cpp_id), metadata=as_tech
    )
    assert len(by_cpp.spaces) == 12
    code, reason = await failure(
        stub.ListSpaces(pb.ListSpacesRequest(structure_cpp_id=other.cpp_id), metadata=as_tech)
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "STRUCTURE_NOT_FOUND")
