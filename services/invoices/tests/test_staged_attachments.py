"""StageAttachment then DepositPdfInvoice / CompleteInvoice naming the staged files, over real
gRPC and PostgreSQL: each file travels in its own message (so an invoice may carry more than
one message's worth of attachments), staging needs the right to issue for the supplier (or to
complete the invoice), a staged file serves its uploader once before it expires, one user's
staged files are bounded, and a refused deposit or completion keeps nothing and drops the
staged files it named."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus_invoices.domain.attachments import AttachmentPolicy
from chorus_platform.rpc_status import from_rpc_error

MiB = 1024 * 1024
PLAIN_PDF = (Path(__file__).resolve().parent / "corpus/invalid/plain-no-xml.pdf").read_bytes()


def plain_deposit(
    parties, *, attachments=(), totals=None, number=""
) -> pb.DepositPdfInvoiceRequest:
    """A plain PDF deposit from ``parties``' supplier to their recipient."""
    return pb.DepositPdfInvoiceRequest(
        header=pb.CreateInvoiceRequest(
            supplier_structure_id=parties.supplier.id,
            recipient=pb.RecipientRef(structure_id=parties.recipient.id),
            framework=pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
            type=pb.INVOICE_TYPE_FACTURE,
            number=number or f"P-{uuid.uuid4().hex[:8]}",
            issue_date="2025-03-14",
            currency="EUR",
        ),
        totals=totals
        or pb.Totals(
            net_total="1000.00",
            vat_total="200.00",
            gross_total="1200.00",
            vat_breakdown=[pb.VatBreakdown(rate="20", base="1000.00", amount="200.00")],
        ),
        filename="facture.pdf",
        content=PLAIN_PDF,
        attachments=[pb.AttachmentFile(filename=n, content=c) for n, c in attachments],
    )


@pytest.fixture
def processor(parties, fake_structures) -> str:
    user = str(uuid.uuid4())
    fake_structures.grant(user, parties.recipient.id, "FACTURES_RECUES", "MODIFICATION")
    return user


async def suspended(api, parties, make_request, processor) -> str:
    """A deposited invoice, routed (handler run inline), then suspended by ``processor``."""
    invoice = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice
    await api.route(invoice.id)
    await api.call(
        "ChangeInvoiceStatus",
        pb.ChangeInvoiceStatusRequest(
            invoice_id=invoice.id, status=pb.INVOICE_STATUS_SUSPENDUE, reason="Pièces manquantes"
        ),
        processor,
    )
    return invoice.id


def stage_request(
    filename: str, content: bytes, *, supplier: str = "", invoice: str = ""
) -> pb.StageAttachmentRequest:
    return pb.StageAttachmentRequest(
        file=pb.AttachmentFile(filename=filename, content=content),
        supplier_structure_id=supplier,
        invoice_id=invoice,
    )


async def stage(
    api, user: str, filename: str, content: bytes, *, supplier: str, invoice: str = ""
) -> pb.StageAttachmentResponse:
    request = stage_request(filename, content, supplier=supplier, invoice=invoice)
    return await api.call("StageAttachment", request, user)


async def staged_rows(api) -> list:
    return await api.fetch("SELECT id, owner_user_id, filename FROM staged_attachments")


async def attachment_rows(api, invoice_id: str) -> list:
    return await api.fetch(
        "SELECT filename, size, sha256, media_type FROM documents"
        " WHERE invoice_id = $1 AND role = 'ATTACHMENT' ORDER BY filename",
        invoice_id,
    )


async def test_plain_pdf_deposit_with_three_staged_attachments_beyond_one_message(api, parties):
    scans = {f"scan-{i}.pdf": os.urandom(8 * MiB) for i in range(3)}
    before = datetime.now(UTC)
    staged = [
        await stage(api, parties.user, name, data, supplier=parties.supplier.id)
        for name, data in scans.items()
    ]
    for answer, (name, data) in zip(staged, scans.items(), strict=True):
        assert (answer.filename, answer.size) == (name, len(data))
        expires = answer.expires_at.ToDatetime(tzinfo=UTC)
        assert before + timedelta(minutes=59) < expires < datetime.now(UTC) + timedelta(hours=1)
    assert len(await staged_rows(api)) == 3

    request = plain_deposit(parties)
    request.staged_attachment_ids.extend(s.staged_attachment_id for s in staged)
    invoice = (await api.call("DepositPdfInvoice", request, parties.user)).invoice

    assert invoice.status == pb.INVOICE_STATUS_DEPOSEE
    kept = await attachment_rows(api, invoice.id)
    assert [(r["filename"], r["size"], r["sha256"], r["media_type"]) for r in kept] == [
        (name, len(data), hashlib.sha256(data).hexdigest(), "application/pdf")
        for name, data in sorted(scans.items())
    ]
    content = await api.fetch(
        "SELECT content FROM documents WHERE invoice_id = $1 AND filename = 'scan-1.pdf'",
        invoice.id,
    )
    assert bytes(content[0]["content"]) == scans["scan-1.pdf"]
    assert await staged_rows(api) == []

    got = await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice.id), parties.user)
    assert sorted(d.filename for d in got.invoice.documents if d.role == "ATTACHMENT") == sorted(
        scans
    )


async def test_inline_and_staged_attachments_go_together(api, parties):
    staged = await stage(
        api, parties.user, "releve.csv", b"a;b\n1;2\n", supplier=parties.supplier.id
    )
    request = plain_deposit(parties, attachments=[("bon.pdf", b"%PDF-1.4 bon")])
    request.staged_attachment_ids.append(staged.staged_attachment_id)
    invoice = (await api.call("DepositPdfInvoice", request, parties.user)).invoice
    kept = await attachment_rows(api, invoice.id)
    assert [(r["filename"], r["media_type"]) for r in kept] == [
        ("bon.pdf", "application/pdf"),
        ("releve.csv", "text/csv"),
    ]


async def test_a_staged_attachment_serves_once(api, parties):
    staged = await stage(
        api, parties.user, "annexe.pdf", b"%PDF-1.4 annexe", supplier=parties.supplier.id
    )
    first = plain_deposit(parties)
    first.staged_attachment_ids.append(staged.staged_attachment_id)
    await api.call("DepositPdfInvoice", first, parties.user)

    again = plain_deposit(parties)
    again.staged_attachment_ids.append(staged.staged_attachment_id)
    error = await api.fails("DepositPdfInvoice", again, parties.user)
    assert (error.code, error.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "STAGED_ATTACHMENT_UNKNOWN",
    )
    assert [v.field for v in error.violations] == ["staged_attachment_ids[0]"]
    assert "déposez-la de nouveau" in error.violations[0].description
    assert await api.count("invoices") == 1


async def test_the_same_staged_id_twice_in_one_deposit_is_refused(api, parties):
    staged = await stage(
        api, parties.user, "annexe.pdf", b"%PDF-1.4 annexe", supplier=parties.supplier.id
    )
    request = plain_deposit(parties)
    request.staged_attachment_ids.extend([staged.staged_attachment_id] * 2)
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.reason == "STAGED_ATTACHMENT_UNKNOWN"
    assert [v.field for v in error.violations] == ["staged_attachment_ids[1]"]
    assert (await api.count("invoices"), len(await staged_rows(api))) == (0, 0)


async def test_someone_elses_unknown_or_malformed_staged_ids_are_refused(
    api, parties, fake_structures
):
    other = str(uuid.uuid4())
    fake_structures.grant(other, parties.supplier.id, "FACTURES_EMISES", "MODIFICATION")
    theirs = await stage(api, other, "annexe.pdf", b"%PDF-1.4 annexe", supplier=parties.supplier.id)
    mine = await stage(
        api, parties.user, "mine.pdf", b"%PDF-1.4 mine", supplier=parties.supplier.id
    )

    request = plain_deposit(parties)
    request.staged_attachment_ids.extend(
        [mine.staged_attachment_id, theirs.staged_attachment_id, str(uuid.uuid4()), "pas-un-id"]
    )
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert (error.code, error.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "STAGED_ATTACHMENT_UNKNOWN",
    )
    assert [v.field for v in error.violations] == [
        "staged_attachment_ids[1]",
        "staged_attachment_ids[2]",
        "staged_attachment_ids[3]",
    ]
    # No invoice; the caller's own staged file named by the refused deposit is dropped, the
    # other user's is left alone (its owner may still use it).
    assert await api.count("invoices") == 0
    assert [str(r["id"]) for r in await staged_rows(api)] == [theirs.staged_attachment_id]
    own = plain_deposit(parties)
    own.staged_attachment_ids.append(theirs.staged_attachment_id)
    invoice = (await api.call("DepositPdfInvoice", own, other)).invoice
    assert [r["filename"] for r in await attachment_rows(api, invoice.id)] == ["annexe.pdf"]


async def test_an_expired_staged_attachment_is_refused_then_purged(api, parties):
    staged = await stage(
        api, parties.user, "annexe.pdf", b"%PDF-1.4 annexe", supplier=parties.supplier.id
    )
    await api.fetch(
        "UPDATE staged_attachments SET expires_at = now() - interval '1 second' WHERE id = $1",
        staged.staged_attachment_id,
    )
    request = plain_deposit(parties)
    request.staged_attachment_ids.append(staged.staged_attachment_id)
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.reason == "STAGED_ATTACHMENT_UNKNOWN"
    assert await api.count("invoices") == 0

    # The next staging (anyone's) purges what has expired.
    fresh = await stage(
        api, parties.user, "autre.pdf", b"%PDF-1.4 autre", supplier=parties.supplier.id
    )
    assert [str(r["id"]) for r in await staged_rows(api)] == [fresh.staged_attachment_id]


@pytest.mark.parametrize(
    ("filename", "content", "reason"),
    [
        ("virus.exe", b"MZ", "ATTACHMENT_EXTENSION_FORBIDDEN"),
        ("vide.pdf", b"", "ATTACHMENT_EMPTY"),
        ("x" * 47 + ".pdf", b"%PDF", "ATTACHMENT_NAME_TOO_LONG"),
        ("../annexe.pdf", b"%PDF", "ATTACHMENT_NAME_INVALID"),
        ("gros.pdf", b"0" * (10 * MiB + 1), "ATTACHMENT_TOO_LARGE"),
    ],
)
async def test_a_refused_file_is_not_staged(api, parties, filename, content, reason):
    request = stage_request(filename, content, supplier=parties.supplier.id)
    error = await api.fails("StageAttachment", request, parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert [v.field for v in error.violations] == ["file"]
    assert await staged_rows(api) == []


async def test_staging_needs_an_authenticated_caller(api):
    request = pb.StageAttachmentRequest(file=pb.AttachmentFile(filename="a.pdf", content=b"%PDF"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await api.stub.StageAttachment(request)
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert await staged_rows(api) == []


async def test_staged_attachments_count_in_the_invoice_total(start_api, parties):
    api = await start_api(attachment_policy=AttachmentPolicy(max_total_bytes=2 * MiB))
    first = await stage(api, parties.user, "a.pdf", b"a" * MiB, supplier=parties.supplier.id)
    second = await stage(api, parties.user, "b.pdf", b"b" * MiB, supplier=parties.supplier.id)
    request = plain_deposit(parties, attachments=[("c.txt", b"c")])
    request.staged_attachment_ids.extend([first.staged_attachment_id, second.staged_attachment_id])
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "ATTACHMENTS_TOO_LARGE")
    assert "2 Mo" in error.message
    assert (await api.count("invoices"), await api.count("documents")) == (0, 0)
    assert await staged_rows(api) == []  # dropped with the refused deposit

    # Within the limit, the same files staged again.
    again = [
        await stage(api, parties.user, n, c, supplier=parties.supplier.id)
        for n, c in (("a.pdf", b"a" * MiB), ("b.pdf", b"b" * MiB))
    ]
    within = plain_deposit(parties)
    within.staged_attachment_ids.extend(a.staged_attachment_id for a in again)
    invoice = (await api.call("DepositPdfInvoice", within, parties.user)).invoice
    assert [r["size"] for r in await attachment_rows(api, invoice.id)] == [MiB, MiB]


async def test_a_refused_deposit_drops_the_staged_attachments_it_named(api, parties):
    staged = await stage(
        api, parties.user, "annexe.pdf", b"%PDF-1.4 annexe", supplier=parties.supplier.id
    )
    first = plain_deposit(parties)
    await api.call("DepositPdfInvoice", first, parties.user)

    duplicate = plain_deposit(parties, number=first.header.number)
    duplicate.staged_attachment_ids.append(staged.staged_attachment_id)
    error = await api.fails("DepositPdfInvoice", duplicate, parties.user)
    assert error.reason == "INVOICE_NUMBER_DUPLICATE"
    assert await staged_rows(api) == []
    assert await api.count("documents") == 1  # the first deposit's PDF only

    again = await stage(
        api, parties.user, "annexe.pdf", b"%PDF-1.4 annexe", supplier=parties.supplier.id
    )
    retried = plain_deposit(parties)
    retried.staged_attachment_ids.append(again.staged_attachment_id)
    invoice = (await api.call("DepositPdfInvoice", retried, parties.user)).invoice
    assert [r["filename"] for r in await attachment_rows(api, invoice.id)] == ["annexe.pdf"]


async def test_completion_with_staged_attachments(api, parties, make_request, processor):
    invoice_id = await suspended(api, parties, make_request, processor)

    async def scans() -> list[str]:
        staged = [
            await stage(
                api,
                parties.user,
                f"piece-{i}.pdf",
                os.urandom(6 * MiB),
                supplier="",
                invoice=invoice_id,
            )
            for i in (1, 2)
        ]
        return [s.staged_attachment_id for s in staged]

    # A refused completion (an id that is not the caller's) drops the files it named.
    refused = pb.CompleteInvoiceRequest(invoice_id=invoice_id, comment="Pièces jointes")
    refused.staged_attachment_ids.extend([*await scans(), str(uuid.uuid4())])
    error = await api.fails("CompleteInvoice", refused, parties.user)
    assert error.reason == "STAGED_ATTACHMENT_UNKNOWN"
    assert [v.field for v in error.violations] == ["staged_attachment_ids[2]"]
    still = (
        await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice_id), parties.user)
    ).invoice
    assert still.status == pb.INVOICE_STATUS_SUSPENDUE
    assert await attachment_rows(api, invoice_id) == []
    assert await staged_rows(api) == []

    request = pb.CompleteInvoiceRequest(
        invoice_id=invoice_id,
        comment="Bons de commande joints",
        attachments=[pb.AttachmentFile(filename="note.txt", content=b"voir pieces")],
    )
    request.staged_attachment_ids.extend(await scans())
    completed = (await api.call("CompleteInvoice", request, parties.user)).invoice
    assert completed.status == pb.INVOICE_STATUS_COMPLETEE
    assert sorted(d.filename for d in completed.documents if d.role == "ATTACHMENT") == [
        "note.txt",
        "piece-1.pdf",
        "piece-2.pdf",
    ]
    assert [r["size"] for r in await attachment_rows(api, invoice_id)] == [11, 6 * MiB, 6 * MiB]
    assert await staged_rows(api) == []


async def test_staging_needs_the_right_to_deposit_or_complete(
    api, parties, make_request, processor, fake_structures
):
    def refused(**purpose):
        return api.fails("StageAttachment", stage_request("a.pdf", b"%PDF", **purpose), user)

    user = parties.user
    assert (await refused()).reason == "FIELD_REQUIRED"
    elsewhere = fake_structures.add("Autre SARL", public=False)
    denied = await refused(supplier=elsewhere.id)
    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")
    assert (await refused(invoice=str(uuid.uuid4()))).reason == "INVOICE_NOT_FOUND"
    assert (await refused(invoice="pas-un-id")).reason == "INVOICE_NOT_FOUND"
    # The recipient's processor sees the invoice but does not complete it.
    invoice_id = await suspended(api, parties, make_request, processor)
    user = processor
    assert (await refused(invoice=invoice_id)).reason == "ACCESS_DENIED"
    stranger = str(uuid.uuid4())
    user = stranger
    assert (await refused(invoice=invoice_id)).reason == "INVOICE_NOT_FOUND"
    assert await staged_rows(api) == []


async def test_one_user_keeps_a_bounded_amount_staged(start_api, parties, fake_structures):
    # Quota in bytes: the policy's total (2 MiB here) and one more file (1 MiB).
    api = await start_api(
        attachment_policy=AttachmentPolicy(max_bytes=MiB, max_total_bytes=2 * MiB)
    )
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        await stage(api, parties.user, name, b"x" * MiB, supplier=parties.supplier.id)

    error = await api.fails(
        "StageAttachment",
        stage_request("d.pdf", b"x", supplier=parties.supplier.id),
        parties.user,
    )
    assert (error.code, error.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "STAGING_QUOTA_EXCEEDED",
    )
    assert len(await staged_rows(api)) == 3
    # Another user has their own quota.
    other = str(uuid.uuid4())
    fake_structures.grant(other, parties.supplier.id, "FACTURES_EMISES", "MODIFICATION")
    await stage(api, other, "e.pdf", b"x", supplier=parties.supplier.id)
    # Files used by a deposit no longer count.
    ids = [str(r["id"]) for r in await staged_rows(api) if r["owner_user_id"] == parties.user]
    request = plain_deposit(parties)
    request.staged_attachment_ids.extend(ids[:2])
    await api.call("DepositPdfInvoice", request, parties.user)
    await stage(api, parties.user, "d.pdf", b"x", supplier=parties.supplier.id)


async def test_a_retried_deposit_stages_the_same_ids_and_replays_its_first_answer(api, parties):
    """With the deposit's Idempotency-Key (made unique per file), staging again gives the same
    id, so the retried deposit is the same request and gets the first answer."""

    async def stage_with_key(key: str, filename: str, content: bytes) -> str:
        request = stage_request(filename, content, supplier=parties.supplier.id)
        metadata = (*api.as_user(parties.user), ("idempotency-key", key))
        answer = await api.stub.StageAttachment(request, metadata=metadata)
        return answer.staged_attachment_id

    files = [("a.pdf", b"%PDF-1.4 a"), ("a.pdf", b"%PDF-1.4 a")]  # the same file twice
    first_ids = [await stage_with_key(f"k-1/{i}", n, c) for i, (n, c) in enumerate(files)]
    assert len(set(first_ids)) == 2
    assert await stage_with_key("k-1/0", *files[0]) == first_ids[0]  # again, before use
    assert len(await staged_rows(api)) == 2
    assert await stage_with_key("k-2/0", *files[0]) not in first_ids
    unkeyed = [
        await stage(api, parties.user, "a.pdf", b"x", supplier=parties.supplier.id)
        for _ in range(2)
    ]
    assert unkeyed[0].staged_attachment_id != unkeyed[1].staged_attachment_id

    request = plain_deposit(parties)
    request.staged_attachment_ids.extend(first_ids)
    keyed = (*api.as_user(parties.user), ("idempotency-key", "k-1"))
    first = (await api.stub.DepositPdfInvoice(request, metadata=keyed)).invoice

    retried_ids = [await stage_with_key(f"k-1/{i}", n, c) for i, (n, c) in enumerate(files)]
    assert retried_ids == first_ids
    request = plain_deposit(parties, number=request.header.number)
    request.staged_attachment_ids.extend(retried_ids)
    replayed = (await api.stub.DepositPdfInvoice(request, metadata=keyed)).invoice
    assert replayed.id == first.id
    assert await api.count("invoices") == 1
    assert len(await attachment_rows(api, first.id)) == 2


class HeldAfterTheHandler(grpc.aio.ServerInterceptor):
    """Holds DepositPdfInvoice once its handler has returned: the deposit is written, inside
    the Idempotency-Key's transaction, not yet committed."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if not handler_call_details.method.endswith("/DepositPdfInvoice"):
            return handler
        inner = handler.unary_unary

        async def held(request, context):
            response = await inner(request, context)
            self.reached.set()
            await self.release.wait()
            return response

        return handler._replace(unary_unary=held)


async def no_transaction_left(api) -> None:
    """Until no session of the service holds a transaction open (a cancelled call's rollback
    has reached the server)."""
    async with asyncio.timeout(10):
        while await api.fetch(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
            " AND state LIKE 'idle in transaction%'"
        ):
            await asyncio.sleep(0.02)


async def test_a_keyed_deposit_cut_off_before_its_commit_keeps_nothing_and_reruns_at_once(
    start_api, parties
):
    held = HeldAfterTheHandler()
    api = await start_api(interceptors=(held,))
    keyed = (*api.as_user(parties.user), ("idempotency-key", "k-1"))

    async def staged_for_the_deposit() -> str:
        """What the gateway does on each try: stage the file under the deposit's key."""
        request = stage_request("annexe.pdf", b"%PDF-1.4 annexe", supplier=parties.supplier.id)
        metadata = (*api.as_user(parties.user), ("idempotency-key", "k-1/attachments[0]"))
        return (await api.stub.StageAttachment(request, metadata=metadata)).staged_attachment_id

    request = plain_deposit(parties)
    request.staged_attachment_ids.append(await staged_for_the_deposit())

    async def deposit():
        return (await api.stub.DepositPdfInvoice(request, metadata=keyed)).invoice

    first = asyncio.create_task(deposit())
    async with asyncio.timeout(10):
        await held.reached.wait()

    # Written but not committed: nobody sees it, and a duplicate is told to wait.
    assert await api.count("invoices") == 0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.stub.DepositPdfInvoice(request, metadata=keyed)
    busy = from_rpc_error(caught.value)
    assert (busy.code, busy.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "IDEMPOTENCY_REQUEST_IN_PROGRESS",
    )
    first.cancel()  # the connection drops before the commit
    await no_transaction_left(api)
    held.release.set()

    assert await api.count("invoices") == 0
    assert len(await staged_rows(api)) == 1  # the claim of the staged file was rolled back
    request.ClearField("staged_attachment_ids")
    request.staged_attachment_ids.append(await staged_for_the_deposit())  # the same id
    deposited = await deposit()
    replayed = await deposit()

    assert replayed.id == deposited.id
    assert await api.count("invoices") == 1
    assert len(await attachment_rows(api, deposited.id)) == 1
    assert await staged_rows(api) == []


async def test_staged_files_have_integer_ids_that_deposits_and_completions_accept(
    api, parties, make_request, processor, fake_structures
):
    first = await stage(api, parties.user, "a.pdf", b"%PDF-1.4 a", supplier=parties.supplier.id)
    second = await stage(api, parties.user, "b.pdf", b"%PDF-1.4 b", supplier=parties.supplier.id)
    assert (first.cpp_id, second.cpp_id) == (1, 2)
    request = plain_deposit(parties)
    request.staged_attachment_ids.extend([str(first.cpp_id), f" {second.cpp_id} "])
    invoice = (await api.call("DepositPdfInvoice", request, parties.user)).invoice
    assert [r["filename"] for r in await attachment_rows(api, invoice.id)] == ["a.pdf", "b.pdf"]
    assert await staged_rows(api) == []

    invoice_id = await suspended(api, parties, make_request, processor)
    third = await stage(api, parties.user, "c.pdf", b"%PDF-1.4 c", supplier="", invoice=invoice_id)
    assert third.cpp_id == 3
    completion = pb.CompleteInvoiceRequest(
        invoice_id=invoice_id, comment="Voici", staged_attachment_ids=[str(third.cpp_id)]
    )
    completed = await api.call("CompleteInvoice", completion, parties.user)
    assert completed.invoice.status == pb.INVOICE_STATUS_COMPLETEE
    assert [r["filename"] for r in await attachment_rows(api, invoice_id)] == ["c.pdf"]


async def test_integer_ids_of_others_unknown_or_used_are_refused_and_own_ones_dropped(
    api, parties, fake_structures
):
    other = str(uuid.uuid4())
    fake_structures.grant(other, parties.supplier.id, "FACTURES_EMISES", "MODIFICATION")
    theirs = await stage(api, other, "t.pdf", b"%PDF-1.4 t", supplier=parties.supplier.id)
    mine = await stage(api, parties.user, "m.pdf", b"%PDF-1.4 m", supplier=parties.supplier.id)
    request = plain_deposit(parties)
    request.staged_attachment_ids.extend(
        [str(mine.cpp_id), str(theirs.cpp_id), "999999", "9" * 40, "-1", str(mine.cpp_id)]
    )
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.reason == "STAGED_ATTACHMENT_UNKNOWN"
    assert [v.field for v in error.violations] == [
        f"staged_attachment_ids[{i}]" for i in (1, 2, 3, 4, 5)
    ]
    assert await api.count("invoices") == 0
    assert [str(r["id"]) for r in await staged_rows(api)] == [theirs.staged_attachment_id]


async def test_staging_again_under_the_same_retry_key_keeps_the_integer_id(api, parties):
    keyed = (*api.as_user(parties.user), ("idempotency-key", "depot-1/attachments[0]"))
    request = stage_request("a.pdf", b"%PDF-1.4 a", supplier=parties.supplier.id)
    first = await api.stub.StageAttachment(request, metadata=keyed)
    again = await api.stub.StageAttachment(request, metadata=keyed)
    assert (again.staged_attachment_id, again.cpp_id) == (first.staged_attachment_id, first.cpp_id)
