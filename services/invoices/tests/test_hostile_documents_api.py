"""Hostile files over real gRPC: each refused alone with a code (INVALID_ARGUMENT, the
gateway's 422), never INTERNAL; in a batch, none takes down the files around it, not even one
that kills its worker process."""

from __future__ import annotations

import os
import tomllib

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.invoices.v1 import invoices_service_pb2_grpc as pb_grpc
from chorus_invoices.documents.intake import read_deposit
from chorus_invoices.documents.workers import DocumentWorkers
from chorus_invoices.main import build_app
from chorus_platform import grpc_server
from chorus_platform.db import create_pool
from chorus_platform.grpc_client import channel_for
from chorus_platform.rpc_status import from_rpc_error

from .test_structured_deposit_api import CORPUS, deposit, file_parties, zip_of  # noqa: F401

EXPECTED = tomllib.loads((CORPUS / "expected.toml").read_text())["files"]
HOSTILE = sorted(
    name
    for name in EXPECTED
    if name.startswith("hostile/") and name.endswith(".xml") and "kind" not in EXPECTED[name]
)
"""The hostile files that are refused (a negative quantity is valid EN 16931: it goes in)."""
CRASH_MARKER = b"<!-- kill the worker -->"


def refusal_of(name: str) -> str:
    expected = EXPECTED[name]
    return expected.get("reason") or expected["deposit_reason"]


def renumbered(number: str) -> bytes:
    """The valid UBL invoice under another number (a second good file for a batch)."""
    return (
        (CORPUS / "valid/ubl-invoice.xml").read_bytes().replace(b"UBL-2024-0042", number.encode())
    )


@pytest.mark.parametrize("name", HOSTILE)
async def test_each_hostile_file_is_refused_with_its_code(api, file_parties, name):  # noqa: F811
    supplier = file_parties.cii_supplier if "/cii-" in name else file_parties.ubl_supplier
    error = await api.fails("DepositStructuredInvoice", deposit(supplier, name), file_parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, refusal_of(name))
    assert error.message and error.violations
    assert await api.count("invoices") == 0


async def test_a_batch_of_hostile_files_refuses_each_and_deposits_the_good_ones(
    api,
    file_parties,  # noqa: F811
):
    files = {"first.xml": renumbered("LOT-1")}
    files |= {name.removeprefix("hostile/"): (CORPUS / name).read_bytes() for name in HOSTILE}
    files["last.xml"] = renumbered("LOT-2")
    request = pb.DepositInvoiceBatchRequest(
        supplier_structure_id=file_parties.ubl_supplier.id, content=zip_of(files)
    )

    response = await api.call("DepositInvoiceBatch", request, file_parties.user)

    items = {item.file: item for item in response.items}
    assert list(items) == list(files)
    assert items["first.xml"].status == items["last.xml"].status == pb.BATCH_ITEM_STATUS_DEPOSEE
    for name in HOSTILE:
        item = items[name.removeprefix("hostile/")]
        assert item.status == pb.BATCH_ITEM_STATUS_REJETEE, name
        # A CII file of another seller may be refused for that first; none is unexplained.
        assert item.errors[0].reason in (refusal_of(name), "SELLER_MISMATCH"), name
    assert await api.count("invoices") == 2


def read_or_die(data: bytes, limits, filename=None):
    """What a worker does with a deposited file, except that a marked file kills it (a
    stand-in for a file that exhausts the process: no real one is known any more)."""
    if CRASH_MARKER in data:
        os._exit(9)
    return read_deposit(data, limits, filename)


class WorkersWithAFatalFile(DocumentWorkers):
    async def run(self, fn, *args):
        if fn is read_deposit:
            fn = read_or_die
        return await super().run(fn, *args)


async def test_a_file_that_kills_its_worker_is_refused_alone_and_the_worker_replaced(
    settings,
    signer,
    fake_structures,
    file_parties,  # noqa: F811
):
    workers = WorkersWithAFatalFile(1)
    pool = await create_pool(settings.database_dsn, max_size=5)
    structures_channel = channel_for(settings, "structures")
    app = build_app(
        settings,
        pool=pool,
        verifier=signer.verifier(),
        structures_channel=structures_channel,
        background=False,
        workers=workers,
    )
    running = await grpc_server.start(app)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        stub = pb_grpc.InvoicesServiceStub(channel)
        files = {
            "a.xml": renumbered("FATAL-1"),
            "fatal.xml": renumbered("FATAL-2") + CRASH_MARKER,
            "b.xml": renumbered("FATAL-3"),
        }
        request = pb.DepositInvoiceBatchRequest(
            supplier_structure_id=file_parties.ubl_supplier.id, content=zip_of(files)
        )
        response = await stub.DepositInvoiceBatch(
            request, metadata=signer.metadata(file_parties.user)
        )
        statuses = {
            item.file: (item.status, [e.reason for e in item.errors][:1]) for item in response.items
        }
        assert statuses == {
            "a.xml": (pb.BATCH_ITEM_STATUS_DEPOSEE, []),
            "fatal.xml": (pb.BATCH_ITEM_STATUS_REJETEE, ["DOCUMENT_UNPROCESSABLE"]),
            "b.xml": (pb.BATCH_ITEM_STATUS_DEPOSEE, []),
        }
        assert workers.replaced == 1
        # And alone, the same file is a 4xx too.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.DepositStructuredInvoice(
                deposit(file_parties.ubl_supplier, "fatal.xml", files["fatal.xml"]),
                metadata=signer.metadata(file_parties.user),
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert workers.replaced == 2
    finally:
        await channel.close()
        await running.stop()
        await structures_channel.close()
        await pool.close()


@pytest.mark.parametrize(
    ("filename", "served"),
    [
        ("..", "facture-UBL-2024-0042.xml"),
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("a\\b.xml", "b.xml"),
        ("facture\u202egpj.xml", "facture_gpj.xml"),
    ],
)
async def test_a_deposited_file_is_kept_and_served_under_a_safe_name(
    api,
    file_parties,  # noqa: F811
    filename,
    served,
):
    request = deposit(file_parties.ubl_supplier, "valid/ubl-invoice.xml")
    request.filename = filename
    invoice = (await api.call("DepositStructuredInvoice", request, file_parties.user)).invoice
    document = await api.document(
        pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), file_parties.user
    )
    assert document.filename == served
    got = await api.call(
        "GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice.id), file_parties.user
    )
    assert [d.filename for d in got.invoice.documents] == [served]


@pytest.mark.parametrize("filename", ["nul\x00byte.xml", "\x1b]0;titre\x07.xml"])
async def test_a_file_name_with_a_control_character_is_refused_with_the_field(
    api,
    file_parties,  # noqa: F811
    filename,
):
    """The one rule for every string entering a service applies to file names too: a NUL or a
    control character is refused (naming the field), not quietly renamed."""
    request = deposit(file_parties.ubl_supplier, "valid/ubl-invoice.xml")
    request.filename = filename
    before = await api.count("documents")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.call("DepositStructuredInvoice", request, file_parties.user)
    error = from_rpc_error(caught.value)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "STRING_INVALID")
    assert [v.field for v in error.violations] == ["filename"]
    assert await api.count("documents") == before


async def test_a_name_stored_before_names_were_made_safe_is_served_safe(
    api,
    file_parties,  # noqa: F811
):
    request = deposit(file_parties.ubl_supplier, "valid/ubl-invoice.xml")
    invoice = (await api.call("DepositStructuredInvoice", request, file_parties.user)).invoice
    await api.fetch("UPDATE documents SET filename = '..' WHERE invoice_id = $1", invoice.id)
    document = await api.document(
        pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), file_parties.user
    )
    assert document.filename == "facture"
