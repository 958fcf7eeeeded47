"""SummarizePendingRequests over gRPC: what waits on a manager, per managed structure, and
nothing about structures the caller does not manage."""

import uuid

from chorus.structures.v1 import structures_service_pb2 as pb

from .test_spaces import subscribe


async def summary(stub, metadata) -> list[tuple[str, int, int]]:
    answer = await stub.SummarizePendingRequests(
        pb.SummarizePendingRequestsRequest(), metadata=metadata
    )
    return [(s.structure_id, s.attachment_requests, s.subscriptions) for s in answer.structures]


async def ask_to_join(stub, signer, structure_id) -> tuple[str, tuple, pb.AttachmentRequest]:
    user_id = str(uuid.uuid4())
    metadata = signer.metadata(user_id)
    answer = await stub.RequestAttachment(
        pb.RequestAttachmentRequest(structure_id=structure_id), metadata=metadata
    )
    return user_id, metadata, answer.request


async def test_counts_pending_requests_of_managed_structures_only(
    stub, signer, as_user, create_request
):
    first = (
        await stub.CreateStructure(create_request(raison_sociale="Alpha SAS"), metadata=as_user)
    ).structure
    second = (
        await stub.CreateStructure(create_request(raison_sociale="Bêta SAS"), metadata=as_user)
    ).structure
    as_stranger = signer.metadata(str(uuid.uuid4()))
    foreign = (
        await stub.CreateStructure(
            create_request(raison_sociale="Étrangère SAS"), metadata=as_stranger
        )
    ).structure
    assert await summary(stub, as_user) == [(first.id, 0, 0), (second.id, 0, 0)]

    # Two requests to join the first, one to the foreign structure (not counted).
    _, as_joiner, request = await ask_to_join(stub, signer, first.id)
    await ask_to_join(stub, signer, first.id)
    await ask_to_join(stub, signer, foreign.id)
    # The first joiner, accepted, asks for a space that needs a manager's validation.
    await stub.DecideAttachmentRequest(
        pb.DecideAttachmentRequestRequest(request_id=request.id, decision=pb.DECISION_VALIDEE),
        metadata=as_user,
    )
    await subscribe(stub, as_joiner, first.id, pb.SPACE_SOLLICITATIONS_EMISES)

    assert await summary(stub, as_user) == [(first.id, 1, 1), (second.id, 0, 0)]
    assert await summary(stub, as_stranger) == [(foreign.id, 1, 0)]
    # A simple member manages nothing: nothing waits on them.
    assert await summary(stub, as_joiner) == []


async def test_a_decided_or_cancelled_request_no_longer_counts(
    stub, signer, as_user, create_request
):
    structure = (await stub.CreateStructure(create_request(), metadata=as_user)).structure
    _, as_joiner, request = await ask_to_join(stub, signer, structure.id)
    _, _, refused = await ask_to_join(stub, signer, structure.id)
    assert await summary(stub, as_user) == [(structure.id, 2, 0)]

    await stub.CancelAttachmentRequest(
        pb.CancelAttachmentRequestRequest(request_id=request.id), metadata=as_joiner
    )
    await stub.DecideAttachmentRequest(
        pb.DecideAttachmentRequestRequest(
            request_id=refused.id, decision=pb.DECISION_REFUSEE, comment="Inconnu."
        ),
        metadata=as_user,
    )

    assert await summary(stub, as_user) == [(structure.id, 0, 0)]


async def test_a_technical_account_has_nothing_waiting(stub, signer, pool, as_user, create_request):
    structure = (await stub.CreateStructure(create_request(), metadata=as_user)).structure
    await ask_to_join(stub, signer, structure.id)
    tech_user = str(uuid.uuid4())
    # Its user id is (wrongly) a manager: the claim decides, so nothing is counted.
    await pool.execute(
        "INSERT INTO memberships (structure_id, user_id, role)"
        " VALUES ($1, $2, 'GESTIONNAIRE_SECONDAIRE')",
        uuid.UUID(structure.id),
        uuid.UUID(tech_user),
    )
    as_tech = (("authorization", f"Bearer {signer.token(tech_user, tst=structure.id)}"),)

    assert await summary(stub, as_tech) == []
    assert await summary(stub, signer.metadata(tech_user)) == [(structure.id, 1, 0)]
