"""Sollicitations over gRPC: who writes to whom, who sees and answers, statuses, limits and
the events that tell the other side."""

import uuid

import grpc
import pytest
from chorus.structures.events.v1 import structures_events_pb2 as events
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error
from chorus_structures.seed.demo import seed_demo_structures

EMISES, RECUES = pb.SOLLICITATION_BOX_EMISES, pb.SOLLICITATION_BOX_RECUES


async def failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason


async def outbox_events(pool, message_class) -> list:
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE ce_type = $1 ORDER BY seq",
        message_class.DESCRIPTOR.full_name,
    )
    return [message_class.FromString(row["payload"]) for row in rows]


@pytest.fixture
async def buyer(stub, as_user, create_request) -> pb.Structure:
    """A structure whose manager is the test's user."""
    request = create_request(raison_sociale="Mairie de Lyon")
    return (await stub.CreateStructure(request, metadata=as_user)).structure


@pytest.fixture
def supplier_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def as_supplier(signer, supplier_id):
    return signer.metadata(supplier_id)


@pytest.fixture
async def supplier_company(stub, as_supplier, create_request) -> pb.Structure:
    request = create_request(raison_sociale="Boulangerie Dupont")
    return (await stub.CreateStructure(request, metadata=as_supplier)).structure


def _write(addressee: str, **fields) -> pb.CreateSollicitationRequest:
    values = {
        "addressee_structure_id": addressee,
        "subject": "Facture F-1 : date de paiement ?",
        "body": "Bonjour, quand la facture F-1 sera-t-elle payée ?",
        **fields,
    }
    return pb.CreateSollicitationRequest(**values)


async def test_supplier_writes_to_managers_who_answer_and_supplier_closes(
    stub, pool, buyer, as_user, user_id, supplier_id, as_supplier, supplier_company
):
    invoice_id = str(uuid.uuid4())
    created = (
        await stub.CreateSollicitation(
            _write(
                buyer.id,
                sender_structure_id=supplier_company.id,
                invoice_id=invoice_id,
                invoice_number="F-1",
                attachments=[pb.SollicitationAttachmentUpload(filename="bon.pdf", content=b"%PDF")],
            ),
            metadata=as_supplier,
        )
    ).sollicitation
    assert created.status == pb.SOLLICITATION_STATUS_OUVERTE
    assert (created.invoice_id, created.invoice_number) == (invoice_id, "F-1")
    assert created.addressee_structure_name == "Mairie de Lyon"
    assert created.sender_structure_name == "Boulangerie Dupont"
    assert created.caller_is_sender
    [first] = created.messages
    assert [a.filename for a in first.attachments] == ["bon.pdf"]
    [told] = await outbox_events(pool, events.SollicitationCreated)
    assert list(told.addressee_user_ids) == [user_id]
    assert not told.sollicitation.messages

    received = await stub.ListSollicitations(
        pb.ListSollicitationsRequest(box=RECUES), metadata=as_user
    )
    assert [s.id for s in received.sollicitations] == [created.id]
    assert not received.sollicitations[0].caller_is_sender
    sent = await stub.ListSollicitations(pb.ListSollicitationsRequest(box=EMISES), metadata=as_user)
    assert list(sent.sollicitations) == []

    file = await stub.GetSollicitationAttachment(
        pb.GetSollicitationAttachmentRequest(
            sollicitation_id=created.id, attachment_id=first.attachments[0].id
        ),
        metadata=as_user,
    )
    assert (file.filename, file.media_type, file.content) == ("bon.pdf", "application/pdf", b"%PDF")

    answered = (
        await stub.ReplySollicitation(
            pb.ReplySollicitationRequest(sollicitation_id=created.id, body="Payée le 12."),
            metadata=as_user,
        )
    ).sollicitation
    assert answered.status == pb.SOLLICITATION_STATUS_REPONDUE
    assert [m.from_sender for m in answered.messages] == [True, False]
    [replied] = await outbox_events(pool, events.SollicitationReplied)
    assert list(replied.recipient_user_ids) == [supplier_id]
    assert not replied.from_sender

    again = (
        await stub.ReplySollicitation(
            pb.ReplySollicitationRequest(sollicitation_id=created.id, body="Merci !\r\nÀ bientôt"),
            metadata=as_supplier,
        )
    ).sollicitation
    assert again.status == pb.SOLLICITATION_STATUS_OUVERTE
    assert again.messages[-1].body == "Merci !\nÀ bientôt"

    closed = (
        await stub.CloseSollicitation(
            pb.CloseSollicitationRequest(sollicitation_id=created.id), metadata=as_supplier
        )
    ).sollicitation
    assert closed.status == pb.SOLLICITATION_STATUS_CLOTUREE
    [told_closed] = await outbox_events(pool, events.SollicitationClosed)
    assert list(told_closed.recipient_user_ids) == [user_id]

    code, reason = await failure(
        stub.ReplySollicitation(
            pb.ReplySollicitationRequest(sollicitation_id=created.id, body="Encore"),
            metadata=as_user,
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SOLLICITATION_CLOSED")
    thread = (
        await stub.GetSollicitation(
            pb.GetSollicitationRequest(sollicitation_id=created.id), metadata=as_user
        )
    ).sollicitation
    assert len(thread.messages) == 3


async def test_someone_else_sees_nothing_of_it(
    stub, signer, pool, buyer, as_supplier, create_request
):
    created = (await stub.CreateSollicitation(_write(buyer.id), metadata=as_supplier)).sollicitation
    stranger = signer.metadata(str(uuid.uuid4()))
    # A simple member of the addressed structure is not one of its managers either.
    member_id = str(uuid.uuid4())
    await pool.execute(
        "INSERT INTO memberships (structure_id, user_id, role) VALUES ($1, $2, 'UTILISATEUR')",
        uuid.UUID(buyer.id),
        uuid.UUID(member_id),
    )
    member = signer.metadata(member_id)
    for metadata in (stranger, member):
        for call in (
            stub.GetSollicitation(
                pb.GetSollicitationRequest(sollicitation_id=created.id), metadata=metadata
            ),
            stub.ReplySollicitation(
                pb.ReplySollicitationRequest(sollicitation_id=created.id, body="Je réponds"),
                metadata=metadata,
            ),
            stub.CloseSollicitation(
                pb.CloseSollicitationRequest(sollicitation_id=created.id), metadata=metadata
            ),
        ):
            assert await failure(call) == (grpc.StatusCode.NOT_FOUND, "SOLLICITATION_NOT_FOUND")
        received = await stub.ListSollicitations(
            pb.ListSollicitationsRequest(box=RECUES), metadata=metadata
        )
        assert list(received.sollicitations) == []
    assert await pool.fetchval("SELECT count(*) FROM sollicitation_messages") == 1
    assert await pool.fetchval("SELECT status FROM sollicitations") == "OUVERTE"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"subject": " "}, "SUBJECT_REQUIRED"),
        ({"subject": "x" * 201}, "SUBJECT_TOO_LONG"),
        ({"body": ""}, "MESSAGE_REQUIRED"),
        ({"body": "x" * 10_001}, "MESSAGE_TOO_LONG"),
        ({"to_support": True}, "ADDRESSEE_CONFLICT"),
        ({"invoice_id": str(uuid.uuid4())}, "INVOICE_NUMBER_REQUIRED"),
        (
            {"attachments": [pb.SollicitationAttachmentUpload(filename="a.exe", content=b"MZ")]},
            "ATTACHMENT_EXTENSION_FORBIDDEN",
        ),
        (
            {
                "attachments": [
                    pb.SollicitationAttachmentUpload(filename="x" * 47 + ".pdf", content=b"%")
                ]
            },
            "ATTACHMENT_NAME_TOO_LONG",
        ),
        (
            {
                "attachments": [
                    pb.SollicitationAttachmentUpload(
                        filename="gros.pdf", content=b"0" * (10 * 1024 * 1024 + 1)
                    )
                ]
            },
            "ATTACHMENT_TOO_LARGE",
        ),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(
    stub, pool, buyer, as_supplier, fields, reason
):
    code, got = await failure(
        stub.CreateSollicitation(_write(buyer.id, **fields), metadata=as_supplier)
    )
    assert (code, got) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert await pool.fetchval("SELECT count(*) FROM sollicitations") == 0
    assert await outbox_events(pool, events.SollicitationCreated) == []


async def test_a_limit_sized_subject_and_file_are_accepted(stub, buyer, as_supplier):
    file = pb.SollicitationAttachmentUpload(
        filename="x" * 46 + ".pdf", content=b"0" * (10 * 1024 * 1024)
    )
    created = (
        await stub.CreateSollicitation(
            _write(buyer.id, subject="s" * 200, attachments=[file]), metadata=as_supplier
        )
    ).sollicitation
    assert created.messages[0].attachments[0].size == 10 * 1024 * 1024


async def test_sender_structure_must_be_the_callers(
    stub, buyer, as_supplier, create_request, as_user
):
    others = (await stub.CreateStructure(create_request(), metadata=as_user)).structure
    code, reason = await failure(
        stub.CreateSollicitation(
            _write(buyer.id, sender_structure_id=others.id), metadata=as_supplier
        )
    )
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_A_MEMBER")


async def test_unknown_structure_and_structure_without_manager(stub, pool, buyer, as_supplier):
    code, reason = await failure(
        stub.CreateSollicitation(_write(str(uuid.uuid4())), metadata=as_supplier)
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "STRUCTURE_NOT_FOUND")
    await seed_demo_structures(pool)
    unmanaged = await pool.fetchval("SELECT id FROM structures WHERE identifier = '11000201100010'")
    code, reason = await failure(
        stub.CreateSollicitation(_write(str(unmanaged)), metadata=as_supplier)
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "STRUCTURE_WITHOUT_MANAGER")


async def test_support_reads_and_answers_what_is_addressed_to_it(
    stub, signer, pool, settings, monkeypatch, buyer, as_supplier, supplier_id
):
    code, reason = await failure(
        stub.CreateSollicitation(
            _write("", to_support=True, structure_id=buyer.id), metadata=as_supplier
        )
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SUPPORT_UNAVAILABLE")

    support_id = str(uuid.uuid4())
    monkeypatch.setattr(settings, "support_user_ids", support_id)
    as_support = signer.metadata(support_id)
    created = (
        await stub.CreateSollicitation(
            _write("", to_support=True, structure_id=buyer.id), metadata=as_supplier
        )
    ).sollicitation
    assert created.to_support and created.structure_name == "Mairie de Lyon"
    [told] = await outbox_events(pool, events.SollicitationCreated)
    assert list(told.addressee_user_ids) == [support_id]
    received = await stub.ListSollicitations(
        pb.ListSollicitationsRequest(box=RECUES), metadata=as_support
    )
    assert [s.id for s in received.sollicitations] == [created.id]
    answered = (
        await stub.ReplySollicitation(
            pb.ReplySollicitationRequest(sollicitation_id=created.id, body="Nous regardons."),
            metadata=as_support,
        )
    ).sollicitation
    assert answered.status == pb.SOLLICITATION_STATUS_REPONDUE
    [replied] = await outbox_events(pool, events.SollicitationReplied)
    assert list(replied.recipient_user_ids) == [supplier_id]


async def test_lists_page_newest_activity_first_and_filter_by_status(stub, buyer, as_supplier):
    ids = []
    for n in range(3):
        created = await stub.CreateSollicitation(
            _write(buyer.id, subject=f"Question {n}"), metadata=as_supplier
        )
        ids.append(created.sollicitation.id)
    await stub.CloseSollicitation(
        pb.CloseSollicitationRequest(sollicitation_id=ids[0]), metadata=as_supplier
    )
    first = await stub.ListSollicitations(
        pb.ListSollicitationsRequest(box=EMISES, page_size=2), metadata=as_supplier
    )
    assert [s.id for s in first.sollicitations] == [ids[0], ids[2]]
    rest = await stub.ListSollicitations(
        pb.ListSollicitationsRequest(box=EMISES, page_size=2, page_token=first.next_page_token),
        metadata=as_supplier,
    )
    assert [s.id for s in rest.sollicitations] == [ids[1]] and not rest.next_page_token
    closed = await stub.ListSollicitations(
        pb.ListSollicitationsRequest(box=EMISES, status=pb.SOLLICITATION_STATUS_CLOTUREE),
        metadata=as_supplier,
    )
    assert [s.id for s in closed.sollicitations] == [ids[0]]
    code, reason = await failure(
        stub.ListSollicitations(pb.ListSollicitationsRequest(), metadata=as_supplier)
    )
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "BOX_REQUIRED")


async def test_a_structure_that_closed_its_received_space_takes_none(
    stub, pool, buyer, as_user, as_supplier
):
    await stub.CloseSpace(
        pb.CloseSpaceRequest(structure_id=buyer.id, space=pb.SPACE_SOLLICITATIONS_RECUES),
        metadata=as_user,
    )
    code, reason = await failure(stub.CreateSollicitation(_write(buyer.id), metadata=as_supplier))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SOLLICITATIONS_NOT_RECEIVED")
    assert await pool.fetchval("SELECT count(*) FROM sollicitations") == 0


async def test_writing_for_a_structure_needs_its_sent_space(
    stub, signer, pool, buyer, supplier_company, as_supplier
):
    """A simple member writes for the structure only with a subscription to
    SOLLICITATIONS_EMISES; in their own name they always may."""
    member_id = str(uuid.uuid4())
    await pool.execute(
        "INSERT INTO memberships (structure_id, user_id, role) VALUES ($1, $2, 'UTILISATEUR')",
        uuid.UUID(supplier_company.id),
        uuid.UUID(member_id),
    )
    as_member = signer.metadata(member_id)
    request = _write(buyer.id, sender_structure_id=supplier_company.id)
    code, reason = await failure(stub.CreateSollicitation(request, metadata=as_member))
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "SUBSCRIPTION_REQUIRED")
    own_name = await stub.CreateSollicitation(_write(buyer.id), metadata=as_member)
    assert own_name.sollicitation.sender_structure_id == ""

    await stub.CloseSpace(
        pb.CloseSpaceRequest(
            structure_id=supplier_company.id, space=pb.SPACE_SOLLICITATIONS_EMISES
        ),
        metadata=as_supplier,
    )
    code, reason = await failure(stub.CreateSollicitation(request, metadata=as_supplier))
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "SPACE_CLOSED")
