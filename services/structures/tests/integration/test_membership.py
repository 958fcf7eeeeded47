"""Attachment requests, roles, transfer, detachment and the manager history over gRPC."""

import uuid

import asyncpg
import grpc
import pytest
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error
from chorus_structures.seed.demo import seed_demo_structures

VALIDEE, REFUSEE = pb.DECISION_VALIDEE, pb.DECISION_REFUSEE
SECONDARY, USER = pb.ROLE_GESTIONNAIRE_SECONDAIRE, pb.ROLE_UTILISATEUR


async def failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason


@pytest.fixture
def people(identity, signer):
    """Registered accounts (in the fake identity) with their token metadata."""

    def make(first_name="Pierre"):
        user = identity.add(first_name)
        return user, signer.metadata(user.id)

    return make


@pytest.fixture
async def manuela(people):
    return people("Manuela")


@pytest.fixture
async def structure(stub, manuela, create_request) -> pb.Structure:
    _, as_manuela = manuela
    request = create_request(raison_sociale="Les Délices de Savoie")
    return (await stub.CreateStructure(request, metadata=as_manuela)).structure


async def ask(stub, metadata, structure_id, **fields) -> pb.AttachmentRequest:
    request = pb.RequestAttachmentRequest(structure_id=structure_id, **fields)
    return (await stub.RequestAttachment(request, metadata=metadata)).request


async def decide(stub, metadata, request_id, decision=VALIDEE, **fields) -> pb.AttachmentRequest:
    request = pb.DecideAttachmentRequestRequest(request_id=request_id, decision=decision, **fields)
    return (await stub.DecideAttachmentRequest(request, metadata=metadata)).request


async def members(stub, metadata, structure_id) -> dict[str, pb.Member]:
    response = await stub.ListMembers(
        pb.ListMembersRequest(structure_id=structure_id), metadata=metadata
    )
    return {m.user.user_id: m for m in response.members}


async def joined(stub, manager_md, structure_id, person, role=USER) -> None:
    _user, metadata = person
    request = await ask(stub, metadata, structure_id)
    await decide(stub, manager_md, request.id, role=role)


async def outbox_events(pool, message_class) -> list:
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE ce_type = $1 ORDER BY seq",
        message_class.DESCRIPTOR.full_name,
    )
    return [message_class.FromString(row["payload"]) for row in rows]


async def test_attachment_request_is_pending_and_names_the_managers(
    stub, pool, manuela, people, structure, identity
):
    manuela_user, _ = manuela
    pierre, as_pierre = people("Pierre")

    request = await ask(stub, as_pierre, structure.id, comment="Je suis le comptable.")

    assert request.status == pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION
    assert request.requester.user_id == pierre.id
    assert request.structure_name == "Les Délices de Savoie"
    [event] = await outbox_events(pool, events.AttachmentRequested)
    assert list(event.manager_user_ids) == [manuela_user.id]
    assert event.request.comment == "Je suis le comptable."
    assert event.structure_name == "Les Délices de Savoie"


async def test_second_pending_request_is_refused(stub, people, structure):
    _, as_pierre = people()
    await ask(stub, as_pierre, structure.id)

    assert await failure(ask(stub, as_pierre, structure.id)) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "ATTACHMENT_REQUEST_PENDING",
    )


async def test_a_member_cannot_ask_again(stub, manuela, structure):
    _, as_manuela = manuela
    assert await failure(ask(stub, as_manuela, structure.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ALREADY_A_MEMBER",
    )


async def test_request_naming_a_foreign_service_is_refused(stub, people, structure):
    _, as_pierre = people()
    code, reason = await failure(
        ask(stub, as_pierre, structure.id, service_ids=[str(uuid.uuid4())])
    )
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "SERVICE_NOT_FOUND")


async def test_manager_lists_pending_requests_with_names(stub, manuela, people, structure):
    _, as_manuela = manuela
    pierre, as_pierre = people("Pierre")
    await ask(stub, as_pierre, structure.id)

    response = await stub.ListAttachmentRequests(
        pb.ListAttachmentRequestsRequest(
            structure_id=structure.id, status=pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION
        ),
        metadata=as_manuela,
    )

    [listed] = response.requests
    assert (listed.requester.first_name, listed.requester.email) == ("Pierre", pierre.contact_email)


async def test_simple_user_cannot_list_or_decide_requests(stub, manuela, people, structure):
    _, as_manuela = manuela
    simple = people("Simone")
    await joined(stub, as_manuela, structure.id, simple)
    _, as_pierre = people()
    request = await ask(stub, as_pierre, structure.id)
    _, as_simple = simple

    assert await failure(
        stub.ListAttachmentRequests(
            pb.ListAttachmentRequestsRequest(structure_id=structure.id), metadata=as_simple
        )
    ) == (grpc.StatusCode.PERMISSION_DENIED, "MANAGER_REQUIRED")
    assert await failure(decide(stub, as_simple, request.id)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "MANAGER_REQUIRED",
    )
    # The requester, too, is told a manager decides.
    assert await failure(decide(stub, as_pierre, request.id)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "MANAGER_REQUIRED",
    )


async def test_a_stranger_is_told_a_request_does_not_exist(stub, manuela, people, structure):
    _, as_manuela = manuela
    _, as_pierre = people()
    request = await ask(stub, as_pierre, structure.id)
    _, as_stranger = people("Sam")

    assert await failure(decide(stub, as_stranger, request.id)) == (
        grpc.StatusCode.NOT_FOUND,
        "ATTACHMENT_REQUEST_NOT_FOUND",
    )
    assert await failure(decide(stub, as_stranger, str(uuid.uuid4()))) == (
        grpc.StatusCode.NOT_FOUND,
        "ATTACHMENT_REQUEST_NOT_FOUND",
    )
    listed = await stub.ListAttachmentRequests(
        pb.ListAttachmentRequestsRequest(structure_id=structure.id), metadata=as_manuela
    )
    [pending] = listed.requests
    assert pending.status == pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION


async def test_accepting_makes_a_member_with_the_granted_role_and_services(
    stub, pool, manuela, people, as_user, structure
):
    _, as_manuela = manuela
    service = (
        await stub.CreateService(
            pb.CreateServiceRequest(structure_id=structure.id, code="compta", name="Comptabilité"),
            metadata=as_manuela,
        )
    ).service
    pierre, as_pierre = people()
    request = await ask(stub, as_pierre, structure.id, service_ids=[service.id])

    decided = await decide(stub, as_manuela, request.id, role=SECONDARY, comment="Bienvenue")

    assert decided.status == pb.ATTACHMENT_REQUEST_STATUS_VALIDEE
    assert decided.granted_role == SECONDARY
    found = await members(stub, as_pierre, structure.id)
    assert found[pierre.id].role == SECONDARY
    assert list(found[pierre.id].service_ids) == [service.id]
    [event] = await outbox_events(pool, events.AttachmentDecided)
    assert (event.requester_user_id, event.decision, event.role, event.comment) == (
        pierre.id,
        VALIDEE,
        SECONDARY,
        "Bienvenue",
    )
    added = [e for e in await outbox_events(pool, events.MemberAdded) if e.user_id == pierre.id]
    assert added[0].attachment_request_id == request.id
    assert (list(added[0].service_ids), list(added[0].service_codes)) == ([service.id], ["COMPTA"])


async def test_refusal_keeps_the_comment_for_the_requester(stub, manuela, people, structure):
    _, as_manuela = manuela
    _, as_pierre = people()
    request = await ask(stub, as_pierre, structure.id)

    await decide(stub, as_manuela, request.id, REFUSEE, comment="Inconnu au bataillon")

    mine = await stub.ListMyAttachmentRequests(
        pb.ListMyAttachmentRequestsRequest(), metadata=as_pierre
    )
    [refused] = mine.requests
    assert refused.status == pb.ATTACHMENT_REQUEST_STATUS_REFUSEE
    assert refused.decision_comment == "Inconnu au bataillon"
    assert refused.structure_name == "Les Délices de Savoie"
    # Refused: the requester may ask again.
    assert (await ask(stub, as_pierre, structure.id)).status == (
        pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION
    )


async def test_deciding_an_already_decided_request_is_a_conflict(stub, manuela, people, structure):
    _, as_manuela = manuela
    _, as_pierre = people()
    request = await ask(stub, as_pierre, structure.id)
    await decide(stub, as_manuela, request.id, REFUSEE)

    assert await failure(decide(stub, as_manuela, request.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ATTACHMENT_REQUEST_ALREADY_DECIDED",
    )


async def test_principal_role_cannot_be_granted_by_a_decision(stub, manuela, people, structure):
    _, as_manuela = manuela
    _, as_pierre = people()
    request = await ask(stub, as_pierre, structure.id)

    code, reason = await failure(
        decide(stub, as_manuela, request.id, role=pb.ROLE_GESTIONNAIRE_PRINCIPAL)
    )
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "ROLE_NOT_GRANTABLE")


async def test_requester_cancels_a_pending_request_and_nobody_else_can(
    stub, manuela, people, structure
):
    _, as_manuela = manuela
    _, as_pierre = people()
    request = await ask(stub, as_pierre, structure.id)
    cancel = pb.CancelAttachmentRequestRequest(request_id=request.id)

    assert await failure(stub.CancelAttachmentRequest(cancel, metadata=as_manuela)) == (
        grpc.StatusCode.NOT_FOUND,
        "ATTACHMENT_REQUEST_NOT_FOUND",
    )
    cancelled = (await stub.CancelAttachmentRequest(cancel, metadata=as_pierre)).request
    assert cancelled.status == pb.ATTACHMENT_REQUEST_STATUS_ANNULEE
    assert await failure(decide(stub, as_manuela, request.id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ATTACHMENT_REQUEST_ALREADY_DECIDED",
    )


async def test_bulk_decision_is_all_or_nothing(stub, manuela, people, structure):
    _, as_manuela = manuela
    requests = [await ask(stub, people()[1], structure.id) for _ in range(3)]
    await decide(stub, as_manuela, requests[2].id, REFUSEE)

    def batch(ids):
        return stub.BatchDecideAttachmentRequests(
            pb.BatchDecideAttachmentRequestsRequest(
                structure_id=structure.id, request_ids=ids, decision=VALIDEE, comment="ok"
            ),
            metadata=as_manuela,
        )

    assert await failure(batch([r.id for r in requests])) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ATTACHMENT_REQUEST_ALREADY_DECIDED",
    )
    assert len(await members(stub, as_manuela, structure.id)) == 1

    decided = (await batch([requests[0].id, requests[1].id])).requests
    assert [r.status for r in decided] == [pb.ATTACHMENT_REQUEST_STATUS_VALIDEE] * 2
    assert len(await members(stub, as_manuela, structure.id)) == 3


async def test_transfer_of_the_principal_role(stub, pool, manuela, people, structure):
    manuela_user, as_manuela = manuela
    pierre = people()
    await joined(stub, as_manuela, structure.id, pierre, SECONDARY)
    pierre_user, as_pierre = pierre

    response = await stub.TransferPrincipalRole(
        pb.TransferPrincipalRoleRequest(structure_id=structure.id, user_id=pierre_user.id),
        metadata=as_manuela,
    )

    assert response.principal.role == pb.ROLE_GESTIONNAIRE_PRINCIPAL
    assert response.previous_principal.user.user_id == manuela_user.id
    found = await members(stub, as_pierre, structure.id)
    assert found[pierre_user.id].role == pb.ROLE_GESTIONNAIRE_PRINCIPAL
    assert found[manuela_user.id].role == SECONDARY
    [event] = await outbox_events(pool, events.PrincipalTransferred)
    assert (event.previous_principal_user_id, event.new_principal_user_id) == (
        manuela_user.id,
        pierre_user.id,
    )
    principals = await pool.fetchval(
        "SELECT count(*) FROM memberships WHERE structure_id = $1"
        " AND role = 'GESTIONNAIRE_PRINCIPAL'",
        uuid.UUID(structure.id),
    )
    assert principals == 1


async def test_second_manager_cannot_transfer_principal_role(stub, manuela, people, structure):
    _manuela_user, as_manuela = manuela
    pierre = people()
    await joined(stub, as_manuela, structure.id, pierre, SECONDARY)
    _, as_pierre = pierre

    code, reason = await failure(
        stub.TransferPrincipalRole(
            pb.TransferPrincipalRoleRequest(structure_id=structure.id, user_id=pierre[0].id),
            metadata=as_pierre,
        )
    )
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "PRINCIPAL_MANAGER_REQUIRED")


async def test_the_principal_cannot_be_detached_nor_leave_before_a_transfer(
    stub, manuela, people, structure
):
    manuela_user, as_manuela = manuela
    pierre = people()
    await joined(stub, as_manuela, structure.id, pierre, SECONDARY)
    _, as_pierre = pierre

    assert await failure(
        stub.DetachMember(
            pb.DetachMemberRequest(structure_id=structure.id, user_id=manuela_user.id),
            metadata=as_pierre,
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "PRINCIPAL_CANNOT_BE_DETACHED")
    assert await failure(
        stub.LeaveStructure(
            pb.LeaveStructureRequest(structure_id=structure.id), metadata=as_manuela
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "PRINCIPAL_MUST_TRANSFER_FIRST")


async def test_detaching_a_member_ends_the_membership_and_deactivates_the_request(
    stub, pool, manuela, people, structure
):
    _, as_manuela = manuela
    pierre = people()
    await joined(stub, as_manuela, structure.id, pierre)
    pierre_user, as_pierre = pierre

    await stub.DetachMember(
        pb.DetachMemberRequest(structure_id=structure.id, user_id=pierre_user.id),
        metadata=as_manuela,
    )

    assert pierre_user.id not in await members(stub, as_manuela, structure.id)
    mine = await stub.ListMyAttachmentRequests(
        pb.ListMyAttachmentRequestsRequest(), metadata=as_pierre
    )
    assert mine.requests[0].status == pb.ATTACHMENT_REQUEST_STATUS_DESACTIVEE
    [event] = await outbox_events(pool, events.MemberDetached)
    assert (event.user_id, event.left) == (pierre_user.id, False)


async def test_a_member_leaves(stub, pool, manuela, people, structure):
    _, as_manuela = manuela
    pierre = people()
    await joined(stub, as_manuela, structure.id, pierre)
    pierre_user, as_pierre = pierre

    await stub.LeaveStructure(
        pb.LeaveStructureRequest(structure_id=structure.id), metadata=as_pierre
    )

    assert pierre_user.id not in await members(stub, as_manuela, structure.id)
    [event] = await outbox_events(pool, events.MemberDetached)
    assert event.left


async def test_simple_user_cannot_detach_or_change_roles(stub, manuela, people, structure):
    _, as_manuela = manuela
    simple, pierre = people("Simone"), people("Pierre")
    await joined(stub, as_manuela, structure.id, simple)
    await joined(stub, as_manuela, structure.id, pierre)
    _, as_simple = simple

    assert await failure(
        stub.DetachMember(
            pb.DetachMemberRequest(structure_id=structure.id, user_id=pierre[0].id),
            metadata=as_simple,
        )
    ) == (grpc.StatusCode.PERMISSION_DENIED, "MANAGER_REQUIRED")
    assert await failure(
        stub.UpdateMember(
            pb.UpdateMemberRequest(structure_id=structure.id, user_id=pierre[0].id, role=SECONDARY),
            metadata=as_simple,
        )
    ) == (grpc.StatusCode.PERMISSION_DENIED, "MANAGER_REQUIRED")


async def test_promote_demote_and_limit_to_services(stub, pool, manuela, people, structure):
    manuela_user, as_manuela = manuela
    pierre = people()
    await joined(stub, as_manuela, structure.id, pierre)
    service = (
        await stub.CreateService(
            pb.CreateServiceRequest(structure_id=structure.id, code="ACHATS", name="Achats"),
            metadata=as_manuela,
        )
    ).service

    def update(**fields):
        return stub.UpdateMember(
            pb.UpdateMemberRequest(structure_id=structure.id, user_id=pierre[0].id, **fields),
            metadata=as_manuela,
        )

    promoted = (await update(role=SECONDARY)).member
    assert promoted.role == SECONDARY
    limited = (
        await update(role=USER, services=pb.ServiceSelection(service_ids=[service.id]))
    ).member
    assert (limited.role, list(limited.service_ids)) == (USER, [service.id])
    whole = (await update(services=pb.ServiceSelection())).member
    assert list(whole.service_ids) == []
    limits = [
        (list(e.service_ids), list(e.service_codes))
        for e in await outbox_events(pool, events.MemberServicesChanged)
    ]
    assert limits == [([service.id], ["ACHATS"]), ([], [])]
    changes = await outbox_events(pool, events.MemberRoleChanged)
    assert [(e.previous_role, e.role) for e in changes] == [(USER, SECONDARY), (SECONDARY, USER)]
    assert await failure(
        stub.UpdateMember(
            pb.UpdateMemberRequest(
                structure_id=structure.id, user_id=manuela_user.id, role=SECONDARY
            ),
            metadata=as_manuela,
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "PRINCIPAL_ROLE_PROTECTED")


async def test_direct_attachment_by_login_email(stub, pool, manuela, people, identity, structure):
    _, as_manuela = manuela
    pierre = identity.add("Pierre")

    def attach(email, **fields):
        return stub.AttachMemberByEmail(
            pb.AttachMemberByEmailRequest(structure_id=structure.id, login_email=email, **fields),
            metadata=as_manuela,
        )

    member = (await attach(pierre.login_email.upper(), role=SECONDARY)).member

    assert (member.user.user_id, member.role, member.user.last_name) == (
        pierre.id,
        SECONDARY,
        "Martin",
    )
    assert ("FindUserByLoginEmail", "authorization") in [
        (method, key) for method, metadata in identity.calls for key in metadata
    ]
    [event] = [e for e in await outbox_events(pool, events.MemberAdded) if e.user_id == pierre.id]
    assert event.added_by != ""
    assert await failure(attach(pierre.login_email)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "ALREADY_A_MEMBER",
    )
    assert await failure(attach("personne@exemple.fr")) == (
        grpc.StatusCode.NOT_FOUND,
        "USER_NOT_FOUND",
    )
    pending = identity.add("Paul", status=1)  # USER_STATUS_EN_ATTENTE_ACTIVATION
    assert await failure(attach(pending.login_email)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "USER_NOT_ACTIVE",
    )


async def test_the_database_keeps_exactly_one_principal(pool, stub, manuela, people, structure):
    pierre = people()
    await joined(stub, manuela[1], structure.id, pierre)
    structure_id = uuid.UUID(structure.id)

    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(
            "UPDATE memberships SET role = 'GESTIONNAIRE_PRINCIPAL'"
            " WHERE structure_id = $1 AND user_id = $2",
            structure_id,
            uuid.UUID(pierre[0].id),
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "UPDATE memberships SET role = 'GESTIONNAIRE_SECONDAIRE'"
            " WHERE structure_id = $1 AND role = 'GESTIONNAIRE_PRINCIPAL'",
            structure_id,
        )


async def test_unmanaged_structure_is_claimed_by_its_first_requester(stub, pool, people):
    await seed_demo_structures(pool)
    structure_id = await pool.fetchval(
        "SELECT id FROM structures WHERE identifier = '11000201100010'"
    )
    _, as_pierre = people()

    request = await ask(stub, as_pierre, str(structure_id))

    assert request.status == pb.ATTACHMENT_REQUEST_STATUS_VALIDEE
    assert request.granted_role == pb.ROLE_GESTIONNAIRE_PRINCIPAL


async def test_manager_history_records_who_did_what(stub, manuela, people, structure):
    manuela_user, as_manuela = manuela
    pierre = people()
    await joined(stub, as_manuela, structure.id, pierre, SECONDARY)
    await stub.TransferPrincipalRole(
        pb.TransferPrincipalRoleRequest(structure_id=structure.id, user_id=pierre[0].id),
        metadata=as_manuela,
    )

    def page(metadata, token=""):
        return stub.ListManagerActions(
            pb.ListManagerActionsRequest(structure_id=structure.id, page_size=2, page_token=token),
            metadata=metadata,
        )

    first = await page(as_manuela)
    second = await page(as_manuela, first.next_page_token)
    actions = list(first.actions) + list(second.actions)
    assert [a.kind for a in actions] == [
        pb.MANAGER_ACTION_KIND_PRINCIPAL_TRANSFERRED,
        pb.MANAGER_ACTION_KIND_ATTACHMENT_ACCEPTED,
        pb.MANAGER_ACTION_KIND_STRUCTURE_CREATED,
    ]
    assert second.next_page_token == ""
    transfer, accepted, _ = actions
    assert (transfer.actor_user_id, transfer.target_user_id) == (manuela_user.id, pierre[0].id)
    assert accepted.details["role"] == "GESTIONNAIRE_SECONDAIRE"
    simple = people("Simone")
    await joined(stub, pierre[1], structure.id, simple)
    assert await failure(page(simple[1])) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "MANAGER_REQUIRED",
    )


async def test_members_list_is_for_members_only(stub, people, structure):
    _, as_stranger = people("Paul")
    assert await failure(members(stub, as_stranger, structure.id)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "NOT_A_MEMBER",
    )
