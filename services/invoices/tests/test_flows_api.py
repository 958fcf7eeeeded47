"""DepositFlow and GetFlow over real gRPC (issue 11, Chorus Pro ``deposer/flux`` and
``consulterCR``): single files decided before the answer, archives processed by the worker,
the report's rule ids and XPaths, refusals of malformed calls, access, idempotent replays, and
a worker that dies mid-flow, and a worker that needs no token (the depositor's right is
decided once, at deposit)."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import tarfile
import uuid
import zipfile
from dataclasses import dataclass

import grpc
import pytest
from chorus.invoices.events.v1 import invoices_events_pb2 as events_pb
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_platform.errors import Unauthenticated
from chorus_platform.rpc_status import from_rpc_error

from .test_structured_deposit_api import CII_BUYER, CII_SELLER, CORPUS, UBL_BUYER, UBL_SELLER

UBL = (CORPUS / "valid/ubl-invoice.xml").read_bytes()
CII = (CORPUS / "valid/cii-invoice.xml").read_bytes()
FACTURX = (CORPUS / "valid/facturx-invoice.pdf").read_bytes()
BR_CO_10 = (CORPUS / "invalid/ubl-br-co-10-line-sum.xml").read_bytes()
BR_CO_15 = (CORPUS / "invalid/ubl-br-co-15-gross.xml").read_bytes()
XSD_BROKEN = (CORPUS / "invalid/ubl-br-16-no-lines.xml").read_bytes()
NUMBER = re.compile(r"^CPP\d{22}$")
ATTENTE = pb.FLOW_STATE_IN_EN_ATTENTE_TRAITEMENT_CPP
UNKNOWN_SIRET = "73282932000074"  # valid, registered nowhere
SHORT_TTL = 3
"""Seconds a depositor's token lives in the tests that process a flow after it expired."""


def ubl_numbered(number: str) -> bytes:
    """The valid UBL invoice under another invoice number (BT-1)."""
    return UBL.replace(b"<cbc:ID>UBL-2024-0042</cbc:ID>", f"<cbc:ID>{number}</cbc:ID>".encode(), 1)


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@dataclass
class FlowParties:
    ubl_supplier: spb.Structure
    cii_supplier: spb.Structure
    user: str
    reader: str
    """CONSULTATION only on both suppliers' FACTURES_EMISES."""


@pytest.fixture
def flow_parties(fake_structures) -> FlowParties:
    add = fake_structures.add

    def siret(structure: spb.Structure, value: str) -> spb.Structure:
        structure.identifier = value
        return structure

    ubl_supplier = siret(add("Atelier Dupont SARL", public=False), UBL_SELLER)
    cii_supplier = siret(add("Bureau d'études Martin SAS", public=False), CII_SELLER)
    siret(add("Commune de Valmont", services=(("SERV-TECH", True, False),)), UBL_BUYER)
    siret(add("CH de Bellerive", services=(("DIR-TRAVAUX", True, False),)), CII_BUYER)
    user, reader = str(uuid.uuid4()), str(uuid.uuid4())
    for supplier in (ubl_supplier, cii_supplier):
        fake_structures.grant(user, supplier.id, "FACTURES_EMISES", "MODIFICATION")
        fake_structures.grant(reader, supplier.id, "FACTURES_EMISES", "CONSULTATION")
    return FlowParties(ubl_supplier, cii_supplier, user, reader)


def flow_request(
    supplier: spb.Structure,
    content: bytes,
    syntax: str = "IN_DP_E1_UBL_INVOICE",
    file_name: str = "facture.xml",
) -> pb.DepositFlowRequest:
    return pb.DepositFlowRequest(
        supplier_structure_id=supplier.id, file_name=file_name, syntax=syntax, content=content
    )


async def deposit(api, parties: FlowParties, request: pb.DepositFlowRequest) -> pb.Flow:
    return (await api.call("DepositFlow", request, parties.user)).flow


async def deposit_with(api, token: str, request: pb.DepositFlowRequest) -> pb.Flow:
    """DepositFlow with this very access token."""
    metadata = (("authorization", f"Bearer {token}"),)
    return (await api.stub.DepositFlow(request, metadata=metadata)).flow


async def expired(signer, token: str, timeout: float = 15.0) -> None:
    """Waits until ``token`` is refused as expired."""
    verifier = signer.verifier()
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await verifier.verify(token)
        except Unauthenticated:
            return
        assert asyncio.get_running_loop().time() < deadline, "token still valid"
        await asyncio.sleep(0.2)


async def assert_no_token_stored(api) -> None:
    """No column of the flow tables is meant for a token, and no row holds one (a JWT starts
    with ``eyJ``, base64url of ``{"``)."""
    columns = await api.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_name IN ('flows', 'flow_items')"
    )
    assert columns and not [c for c in columns if "token" in c["column_name"]]
    rows = await api.fetch(
        "SELECT to_jsonb(f)::text AS row FROM flows f"
        " UNION ALL SELECT to_jsonb(i)::text FROM flow_items i"
    )
    assert rows and not [r for r in rows if "eyJ" in r["row"]]


def by_identifier(fake_structures, identifier: str) -> spb.Structure:
    return next(s for s in fake_structures.structures.values() if s.identifier == identifier)


async def settled(api, number: str, timeout: float = 60.0) -> None:
    """Waits, reading the database (no RPC), until the worker decided the flow."""
    deadline = asyncio.get_running_loop().time() + timeout
    pending = ("IN_EN_ATTENTE_TRAITEMENT_CPP", "IN_EN_COURS_TRAITEMENT_CPP")
    while (await api.fetch("SELECT state FROM flows WHERE number = $1", number))[0][
        "state"
    ] in pending:
        assert asyncio.get_running_loop().time() < deadline, f"flow {number} not decided"
        await asyncio.sleep(0.05)


async def get_flow(api, user: str, number: str) -> pb.Flow:
    return (await api.call("GetFlow", pb.GetFlowRequest(number=number), user)).flow


async def decided(api, user: str, number: str, timeout: float = 60.0) -> pb.Flow:
    """The flow once the worker decided it."""
    pending = (ATTENTE, pb.FLOW_STATE_IN_EN_COURS_TRAITEMENT_CPP)

    async def probe():
        flow = await get_flow(api, user, number)
        return flow if flow.state not in pending else None

    deadline = asyncio.get_running_loop().time() + timeout
    while (flow := await probe()) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"flow {number} not decided within {timeout}s")
        await asyncio.sleep(0.05)
    return flow


# -- one file: decided before the answer --------------------------------------------------


async def test_one_ubl_file_is_integrated_before_the_answer(api, flow_parties):
    flow = await deposit(api, flow_parties, flow_request(flow_parties.ubl_supplier, UBL))
    assert NUMBER.match(flow.number)
    assert flow.state == pb.FLOW_STATE_IN_INTEGRE
    assert (flow.syntax, flow.file_name, flow.deposited_by) == (
        "IN_DP_E1_UBL_INVOICE",
        "facture.xml",
        flow_parties.user,
    )
    assert list(flow.notes) == [] and list(flow.errors) == []
    [item] = flow.items
    assert (item.file, item.invoice_number) == ("facture.xml", "UBL-2024-0042")
    assert (item.supplier_identifier, item.recipient_identifier) == (UBL_SELLER, UBL_BUYER)
    assert item.invoice_id and item.invoice_cpp_id and not item.errors

    invoice = (
        await api.call(
            "GetInvoice", pb.GetInvoiceRequest(cpp_id=item.invoice_cpp_id), flow_parties.user
        )
    ).invoice
    assert (invoice.id, invoice.status) == (item.invoice_id, pb.INVOICE_STATUS_DEPOSEE)
    assert (invoice.deposit_mode, invoice.flow_number) == (pb.DEPOSIT_MODE_FLOW, flow.number)
    history = await api.call(
        "GetInvoiceHistory", pb.GetInvoiceHistoryRequest(invoice_id=invoice.id), flow_parties.user
    )
    assert [(e.status, e.actor) for e in history.entries] == [
        (pb.INVOICE_STATUS_DEPOSEE, flow_parties.user)
    ]
    events = await api.fetch("SELECT ce_type, payload FROM outbox WHERE key = $1", invoice.id)
    assert [e["ce_type"] for e in events] == ["chorus.invoices.events.v1.InvoiceSubmitted"]
    submitted = events_pb.InvoiceSubmitted.FromString(bytes(events[0]["payload"]))
    assert submitted.cpp_id == invoice.cpp_id
    listed = await api.call(
        "ListInvoices", pb.ListInvoicesRequest(flow_number=flow.number), flow_parties.user
    )
    assert [i.id for i in listed.invoices] == [invoice.id]

    again = await get_flow(api, flow_parties.user, flow.number)
    assert again == flow
    rows = await api.fetch("SELECT content, supplier FROM flows")
    assert [(r["content"], r["supplier"]) for r in rows] == [(None, None)]


@pytest.mark.parametrize(
    ("content", "syntax", "name"),
    [
        (CII, "IN_DP_E1_CII_16B", "UNCEFACT-BEM-2024-318.xml"),
        (FACTURX, "IN_DP_E2_CII_FACTURX", "facturx.pdf"),
    ],
)
async def test_one_cii_or_facturx_file_is_integrated(api, flow_parties, content, syntax, name):
    request = flow_request(flow_parties.cii_supplier, content, syntax, name)
    flow = await deposit(api, flow_parties, request)
    assert (flow.state, list(flow.notes)) == (pb.FLOW_STATE_IN_INTEGRE, [])
    [item] = flow.items
    assert (item.invoice_number, item.supplier_identifier, item.recipient_identifier) == (
        "BEM-2024-318",
        CII_SELLER,
        CII_BUYER,
    )
    document = await api.document(
        pb.GetInvoiceDocumentRequest(invoice_id=item.invoice_id),
        flow_parties.user,
    )
    assert document.content == content


async def test_a_mislabelled_file_is_read_as_what_it_is_with_a_note(api, flow_parties):
    request = flow_request(flow_parties.ubl_supplier, UBL, "IN_DP_E2_CII_FACTURX")
    flow = await deposit(api, flow_parties, request)
    assert flow.state == pb.FLOW_STATE_IN_INTEGRE
    [note] = flow.notes
    assert "UBL 2.1" in note and "IN_DP_E2_CII_FACTURX" in note


@pytest.mark.parametrize(
    ("content", "reason", "rule", "xpath"),
    [
        (BR_CO_10, "EN16931_RULES_FAILED", "BR-CO-10", "/Invoice"),
        (BR_CO_15, "EN16931_RULES_FAILED", "BR-CO-15", "/Invoice"),
        (XSD_BROKEN, "XML_SCHEMA_INVALID", "XSD", "/"),
        (b"ceci n'est pas une facture", "XML_MALFORMED", "XML_MALFORMED", "/"),
    ],
)
async def test_an_invalid_file_is_a_rejected_flow_with_rule_ids_and_xpaths(
    api, flow_parties, content, reason, rule, xpath
):
    flow = await deposit(api, flow_parties, flow_request(flow_parties.ubl_supplier, content))
    assert NUMBER.match(flow.number)
    assert flow.state == pb.FLOW_STATE_IN_REJETE
    [item] = flow.items
    assert not item.invoice_id and not item.invoice_cpp_id
    assert item.errors
    assert {e.reason for e in item.errors} == {reason}
    assert rule in {e.rule for e in item.errors}
    found = next(e for e in item.errors if e.rule == rule)
    assert found.xpath.startswith(xpath) and found.message
    if reason != "XML_MALFORMED":  # refused, yet its report line names the invoice
        assert (item.invoice_number, item.supplier_identifier) == ("UBL-2024-0042", UBL_SELLER)
    assert await api.count("invoices") == 0
    assert await get_flow(api, flow_parties.reader, flow.number) == flow


async def test_chorus_rules_name_the_element_they_are_about(api, flow_parties):
    first = await deposit(api, flow_parties, flow_request(flow_parties.ubl_supplier, UBL))
    assert first.state == pb.FLOW_STATE_IN_INTEGRE
    duplicate = await deposit(api, flow_parties, flow_request(flow_parties.ubl_supplier, UBL))
    assert duplicate.state == pb.FLOW_STATE_IN_REJETE
    assert [(e.rule, e.xpath, e.reason) for e in duplicate.items[0].errors] == [
        ("INVOICE_NUMBER_DUPLICATE", "/Invoice/cbc:ID", "INVOICE_NUMBER_DUPLICATE")
    ]
    assert "UBL-2024-0042" in duplicate.items[0].errors[0].message
    other_seller = await deposit(
        api, flow_parties, flow_request(flow_parties.cii_supplier, ubl_numbered("X-1"))
    )
    [error] = other_seller.items[0].errors
    assert (error.rule, error.xpath) == (
        "SELLER_MISMATCH",
        "/Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
    )
    assert UBL_SELLER in error.message
    assert await api.count("invoices") == 1
    assert await api.count("flows") == 3


# -- archives: the worker ----------------------------------------------------------------


async def test_an_archive_waits_then_is_integrated_partially(start_api, flow_parties):
    api = await start_api(flow_worker=True)
    archive = tar_gz(
        {
            "lot/a.xml": ubl_numbered("LOT-1"),
            "lot/b.xml": ubl_numbered("LOT-2"),
            "lot/faux.xml": BR_CO_15,
            "lot/c.xml": ubl_numbered("LOT-3"),
        }
    )
    request = flow_request(
        flow_parties.ubl_supplier, archive, "IN_DP_E1_UBL_INVOICE", "lot_factures.tar.gz"
    )
    flow = await deposit(api, flow_parties, request)
    assert flow.state == ATTENTE and not flow.items
    assert flow.file_name == "lot_factures.tar.gz"
    done = await decided(api, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_INTEGRE_PARTIEL
    assert [i.file for i in done.items] == ["a.xml", "b.xml", "faux.xml", "c.xml"]
    good = [i for i in done.items if i.invoice_id]
    assert [i.invoice_number for i in good] == ["LOT-1", "LOT-2", "LOT-3"]
    assert all(i.invoice_cpp_id and not i.errors for i in good)
    bad = done.items[2]
    assert not bad.invoice_id and "BR-CO-15" in {e.rule for e in bad.errors}
    assert (bad.invoice_number, bad.recipient_identifier) == ("UBL-2024-0042", UBL_BUYER)
    listed = await api.call(
        "ListInvoices",
        pb.ListInvoicesRequest(flow_number=done.number, page_number=1, page_size=1000),
        flow_parties.user,
    )
    assert listed.total_size == 3
    assert {i.deposit_mode for i in listed.invoices} == {pb.DEPOSIT_MODE_FLOW}
    rows = await api.fetch("SELECT content, supplier, lease_owner FROM flows")
    assert [tuple(r) for r in rows] == [(None, None, None)]


async def test_an_archive_of_bad_files_only_is_rejected(start_api, flow_parties):
    api = await start_api(flow_worker=True)
    archive = zip_of({"a.xml": BR_CO_10, "b.xml": XSD_BROKEN})
    flow = await deposit(
        api, flow_parties, flow_request(flow_parties.ubl_supplier, archive, file_name="lot.zip")
    )
    done = await decided(api, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_REJETE
    assert [{e.rule for e in i.errors} & {"BR-CO-10", "XSD"} for i in done.items] == [
        {"BR-CO-10"},
        {"XSD"},
    ]
    assert await api.count("invoices") == 0


async def test_nested_archives_and_duplicates_are_refused_alone(start_api, flow_parties):
    api = await start_api(flow_worker=True)
    archive = tar_gz(
        {
            "a.xml": ubl_numbered("N-1"),
            "inner.zip": zip_of({"x.xml": ubl_numbered("N-2")}),
            "again.xml": ubl_numbered("N-1"),
            "facturx.pdf": FACTURX,  # another seller: refused, not a failure of the flow
        }
    )
    flow = await deposit(api, flow_parties, flow_request(flow_parties.ubl_supplier, archive))
    done = await decided(api, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_INTEGRE_PARTIEL
    reasons = {i.file: [e.reason for e in i.errors] for i in done.items}
    assert reasons == {
        "a.xml": [],
        "inner.zip": ["ARCHIVE_NESTED"],
        "again.xml": ["INVOICE_NUMBER_DUPLICATE"],
        "facturx.pdf": ["SELLER_MISMATCH"],
    }
    assert done.items[3].errors[0].xpath.startswith("/rsm:CrossIndustryInvoice/")
    assert [n for n in done.notes if "Factur-X" in n]  # a Factur-X under a UBL syntax
    assert await api.count("invoices") == 1


@pytest.mark.parametrize(
    ("archive", "reason"),
    [
        (tar_gz({}), "ARCHIVE_EMPTY"),
        (b"\x1f\x8b" + b"pas une archive" * 10, "ARCHIVE_MALFORMED"),
        (b"PK\x03\x04" + b"pas une archive" * 10, "ARCHIVE_MALFORMED"),
    ],
)
async def test_an_archive_that_cannot_be_read_is_rejected_as_a_whole(
    start_api, flow_parties, archive, reason
):
    api = await start_api(flow_worker=True)
    flow = await deposit(api, flow_parties, flow_request(flow_parties.ubl_supplier, archive))
    assert flow.state == ATTENTE
    done = await decided(api, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_REJETE
    assert not done.items
    assert [(e.reason, e.rule, e.xpath) for e in done.errors] == [(reason, reason, "/")]
    assert done.errors[0].message


# -- malformed calls, access -------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason", "fields"),
    [
        ({"syntax": "IN_DP_E9_INCONNU"}, "FLOW_SYNTAX_UNKNOWN", ["syntax"]),
        ({"syntax": ""}, "FLOW_SYNTAX_UNKNOWN", ["syntax"]),
        ({"content": b""}, "FILE_REQUIRED", ["content"]),
        ({"content": b"<" * (15 * 1024 * 1024 + 1)}, "FLOW_TOO_LARGE", ["content"]),
        ({"supplier_structure_id": " "}, "FIELD_REQUIRED", ["supplier_structure_id"]),
        (
            {"supplier_structure_id": "", "syntax": "UBL", "content": b""},
            "FIELD_REQUIRED",
            ["supplier_structure_id", "syntax", "content"],
        ),
    ],
)
async def test_a_malformed_call_is_refused_and_stores_nothing(
    api, flow_parties, changes, reason, fields
):
    request = flow_request(flow_parties.ubl_supplier, UBL)
    for name, value in changes.items():
        setattr(request, name, value)
    error = await api.fails("DepositFlow", request, flow_parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert [v.field for v in error.violations] == fields
    assert await api.count("flows") == 0
    assert await api.count("invoices") == 0


async def test_foreign_callers_deposit_nothing_and_see_no_flow(api, flow_parties):
    stranger = str(uuid.uuid4())
    request = flow_request(flow_parties.ubl_supplier, UBL)
    refused = await api.fails("DepositFlow", request, stranger)
    assert (refused.code, refused.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")
    consulting = await api.fails("DepositFlow", request, flow_parties.reader)
    assert consulting.code == grpc.StatusCode.PERMISSION_DENIED
    assert await api.count("flows") == 0

    flow = await deposit(api, flow_parties, request)
    assert (await get_flow(api, flow_parties.reader, flow.number)).state == flow.state
    for user, number in (
        (stranger, flow.number),
        (flow_parties.user, "CPP" + "9" * 22),
        (flow_parties.user, "pas-un-numero"),
        (flow_parties.user, "CPP" + "٣" * 22),
    ):
        error = await api.fails("GetFlow", pb.GetFlowRequest(number=number), user)
        assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "FLOW_NOT_FOUND")


# -- idempotency ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "state"),
    [
        (UBL, pb.FLOW_STATE_IN_INTEGRE),
        (BR_CO_10, pb.FLOW_STATE_IN_REJETE),
        (tar_gz({"a.xml": UBL}), ATTENTE),
    ],
)
async def test_a_keyed_deposit_replays_its_flow(api, flow_parties, content, state):
    keyed = (*api.as_user(flow_parties.user), ("idempotency-key", f"erp-{uuid.uuid4()}"))
    request = flow_request(flow_parties.ubl_supplier, content)
    first = (await api.stub.DepositFlow(request, metadata=keyed)).flow
    again = (await api.stub.DepositFlow(request, metadata=keyed)).flow
    assert first.state == state
    assert again == first
    assert await api.count("flows") == 1
    assert await api.count("invoices") == (1 if state == pb.FLOW_STATE_IN_INTEGRE else 0)
    other = flow_request(flow_parties.ubl_supplier, ubl_numbered("AUTRE-1"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await api.stub.DepositFlow(other, metadata=keyed)
    reused = from_rpc_error(raised.value)
    assert (reused.code, reused.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "IDEMPOTENCY_KEY_REUSED",
    )
    assert await api.count("flows") == 1
    rows = await api.fetch("SELECT idempotency_key FROM flows")
    assert rows[0]["idempotency_key"] == keyed[-1][1]


# -- the worker: crash and resume, no token, the same checks ------------------------------


async def test_a_worker_that_dies_mid_flow_is_resumed_without_depositing_twice(
    start_api, flow_parties, signer
):
    files = {f"f{i}.xml": ubl_numbered(f"CRASH-{i}") for i in range(8)}
    depositing = await start_api()
    token = signer.token(flow_parties.user, ttl=SHORT_TTL)
    flow = await deposit_with(
        depositing, token, flow_request(flow_parties.ubl_supplier, tar_gz(files))
    )
    assert flow.state == ATTENTE

    dying = await start_api(flow_worker=True)

    async def some_done():
        rows = await dying.fetch("SELECT count(*) AS n FROM flow_items")
        return rows[0]["n"] >= 2

    deadline = asyncio.get_running_loop().time() + 60
    while not await some_done():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    await dying.stop()  # the worker task is cancelled wherever it is: as a crash
    rows = await depositing.fetch("SELECT state, lease_owner FROM flows")
    assert rows[0]["state"] == "IN_EN_COURS_TRAITEMENT_CPP" and rows[0]["lease_owner"]
    done_before = await depositing.count("flow_items")
    assert 2 <= done_before < len(files)
    stuck = await get_flow(depositing, flow_parties.user, flow.number)
    assert stuck.state == pb.FLOW_STATE_IN_EN_COURS_TRAITEMENT_CPP

    await depositing.fetch("UPDATE flows SET lease_until = now() - interval '1 second'")
    await expired(signer, token)  # resumed long after the depositor's token stopped working
    resuming = await start_api(flow_worker=True)
    done = await decided(resuming, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_INTEGRE
    assert [i.file for i in done.items] == list(files)
    numbers = await resuming.fetch("SELECT number FROM invoices ORDER BY number")
    assert [r["number"] for r in numbers] == sorted(f"CRASH-{i}" for i in range(8))
    assert {i.invoice_id for i in done.items} == {
        str(r["id"]) for r in await resuming.fetch("SELECT id FROM invoices")
    }
    submitted = await resuming.fetch(
        "SELECT count(*) AS n FROM outbox WHERE ce_type LIKE '%InvoiceSubmitted'"
    )
    assert submitted[0]["n"] == len(files)
    attempts = await resuming.fetch("SELECT attempts FROM flows")
    assert attempts[0]["attempts"] == 2


async def test_a_live_lease_is_not_taken_over(start_api, flow_parties):
    api = await start_api()
    flow = await deposit(
        api, flow_parties, flow_request(flow_parties.ubl_supplier, tar_gz({"a.xml": UBL}))
    )
    await api.fetch(
        "UPDATE flows SET state = 'IN_EN_COURS_TRAITEMENT_CPP', lease_owner = gen_random_uuid(),"
        " lease_until = now() + interval '1 hour'"
    )
    await start_api(flow_worker=True)
    await asyncio.sleep(0.5)
    assert (await get_flow(api, flow_parties.user, flow.number)).state == (
        pb.FLOW_STATE_IN_EN_COURS_TRAITEMENT_CPP
    )
    assert await api.count("invoices") == 0


async def test_an_archive_whose_depositors_token_long_expired_is_still_integrated(
    start_api, flow_parties, signer, fake_structures, caplog
):
    caplog.set_level(logging.DEBUG)
    api = await start_api()
    token = signer.token(flow_parties.user, ttl=SHORT_TTL)
    files = {"a.xml": ubl_numbered("TARD-1"), "b.xml": ubl_numbered("TARD-2")}
    request = flow_request(flow_parties.ubl_supplier, tar_gz(files), file_name="lot.tar.gz")
    flow = await deposit_with(api, token, request)
    assert flow.state == ATTENTE
    await assert_no_token_stored(api)

    await expired(signer, token)
    fake_structures.calls.clear()
    fake_structures.authorizations.clear()
    await start_api(flow_worker=True)
    await settled(api, flow.number)
    # The worker asked structures nothing with a token (the fake refuses an expired one) and
    # never about the right, decided at deposit.
    worker_calls = {n for n in fake_structures.calls if fake_structures.calls[n]}
    assert worker_calls <= {"GetStructure", "FindStructureByIdentifier"}
    assert worker_calls and set(fake_structures.authorizations) == {""}
    done = await get_flow(api, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_INTEGRE
    assert [(i.file, i.invoice_number) for i in done.items] == [
        ("a.xml", "TARD-1"),
        ("b.xml", "TARD-2"),
    ]
    # The depositor is the invoices' actor.
    rows = await api.fetch("SELECT created_by, deposited_by, flow_number FROM invoices")
    assert {tuple(r) for r in rows} == {(flow_parties.user, flow_parties.user, flow.number)}
    history = await api.fetch("SELECT DISTINCT actor FROM invoice_history")
    assert [r["actor"] for r in history] == [flow_parties.user]
    await assert_no_token_stored(api)
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "eyJ" not in logged and token not in logged


async def test_every_file_of_an_archive_is_checked_as_the_same_file_deposited_alone(
    start_api, flow_parties, fake_structures
):
    api = await start_api()
    recipient = by_identifier(fake_structures, UBL_BUYER)
    recipient.services[0].reserved_for_public_suppliers = True  # SERV-TECH
    files = {
        "vendeur.xml": CII,  # issued by another company than the supplier
        "reserve.xml": ubl_numbered("RES-1"),  # a service for public suppliers only
        "inconnu.xml": UBL.replace(UBL_BUYER.encode(), UNKNOWN_SIRET.encode()),
        "faux.xml": BR_CO_15,
    }
    alone = {}
    for name, content in files.items():
        single = await deposit(api, flow_parties, flow_request(flow_parties.ubl_supplier, content))
        assert single.state == pb.FLOW_STATE_IN_REJETE, name
        alone[name] = [(e.rule, e.xpath, e.message, e.reason) for e in single.items[0].errors]
    reasons = {name: {e[3] for e in errors} for name, errors in alone.items()}
    assert reasons["vendeur.xml"] == {"SELLER_MISMATCH"}
    assert reasons["reserve.xml"] == {"SERVICE_RESERVED"}
    assert reasons["inconnu.xml"] == {"RECIPIENT_NOT_FOUND"}
    assert "BR-CO-15" in {e[0] for e in alone["faux.xml"]}

    archive = tar_gz(files)
    flow = await deposit(api, flow_parties, flow_request(flow_parties.ubl_supplier, archive))
    checked = fake_structures.calls["CheckAccess"]
    await start_api(flow_worker=True)
    await settled(api, flow.number)
    assert fake_structures.calls["CheckAccess"] == checked  # the right: at DepositFlow only
    done = await get_flow(api, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_REJETE
    in_archive = {
        i.file: [(e.rule, e.xpath, e.message, e.reason) for e in i.errors] for i in done.items
    }
    assert in_archive == alone
    assert await api.count("invoices") == 0


async def test_the_worker_uses_the_supplier_recorded_at_deposit(
    start_api, flow_parties, fake_structures
):
    api = await start_api()
    by_identifier(fake_structures, UBL_BUYER).services[0].reserved_for_public_suppliers = True
    supplier = flow_parties.ubl_supplier
    supplier.kind = spb.STRUCTURE_KIND_PUBLIQUE  # public when the flow is deposited
    flow = await deposit(
        api, flow_parties, flow_request(supplier, tar_gz({"a.xml": ubl_numbered("PUB-1")}))
    )
    supplier.kind = spb.STRUCTURE_KIND_PRIVEE
    supplier.raison_sociale = "Atelier Dupont (renommé)"
    await start_api(flow_worker=True)
    done = await decided(api, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_INTEGRE
    rows = await api.fetch("SELECT supplier_name FROM invoices")
    assert [r["supplier_name"] for r in rows] == ["Atelier Dupont SARL"]


async def test_a_private_recipient_is_not_found_by_the_worker(
    start_api, flow_parties, fake_structures
):
    api = await start_api(flow_worker=True)
    by_identifier(fake_structures, UBL_BUYER).kind = spb.STRUCTURE_KIND_PRIVEE
    archive = tar_gz({"a.xml": ubl_numbered("PRIV-1")})
    flow = await deposit(api, flow_parties, flow_request(flow_parties.ubl_supplier, archive))
    done = await decided(api, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_REJETE
    assert [e.reason for e in done.items[0].errors] == ["RECIPIENT_NOT_FOUND"]
    assert done.items[0].recipient_identifier == UBL_BUYER
    assert await api.count("invoices") == 0


async def test_an_archive_of_a_foreign_caller_stores_nothing(api, flow_parties):
    archive = tar_gz({"a.xml": UBL})
    for user in (str(uuid.uuid4()), flow_parties.reader):
        request = flow_request(flow_parties.ubl_supplier, archive)
        error = await api.fails("DepositFlow", request, user)
        assert (error.code, error.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")
    assert await api.count("flows") == 0


async def test_a_flow_pending_from_before_suppliers_were_recorded_is_reported_failed(
    start_api, flow_parties
):
    api = await start_api()
    archive = tar_gz({"a.xml": ubl_numbered("OLD-1"), "b.xml": ubl_numbered("OLD-2")})
    flow = await deposit(api, flow_parties, flow_request(flow_parties.ubl_supplier, archive))
    await api.fetch("UPDATE flows SET supplier = NULL")  # as migration 0014 leaves such a flow
    await start_api(flow_worker=True)
    done = await decided(api, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_REJETE
    assert [[e.reason for e in i.errors] for i in done.items] == [
        ["FLOW_PROCESSING_FAILED"],
        ["FLOW_PROCESSING_FAILED"],
    ]
    assert "déposez ce fichier à nouveau" in done.items[0].errors[0].message
    assert await api.count("invoices") == 0


async def test_structures_unavailable_gives_the_flow_back_until_it_answers(
    start_api, flow_parties, fake_structures
):
    api = await start_api(flow_worker=True)
    request = flow_request(
        flow_parties.ubl_supplier, tar_gz({"a.xml": ubl_numbered("T-1"), "b.xml": UBL})
    )
    flow = await deposit(api, flow_parties, request)
    fake_structures.down = True

    async def given_back():
        rows = await api.fetch("SELECT state, lease_owner, attempts FROM flows")
        row = rows[0]
        return row["attempts"] >= 1 and row["lease_owner"] is None

    deadline = asyncio.get_running_loop().time() + 30
    while not await given_back():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert await api.count("flow_items") == 0  # no file reported as refused for it
    assert await api.count("invoices") == 0
    fake_structures.down = False
    await api.fetch("UPDATE flows SET lease_until = now() - interval '1 second'")
    done = await decided(api, flow_parties.user, flow.number)
    assert done.state == pb.FLOW_STATE_IN_INTEGRE
    assert [i.invoice_number for i in done.items] == ["T-1", "UBL-2024-0042"]


async def test_one_file_when_structures_is_unavailable_is_an_error_of_the_call(
    api, flow_parties, fake_structures
):
    request = flow_request(flow_parties.ubl_supplier, UBL)
    fake_structures.down = True
    error = await api.fails("DepositFlow", request, flow_parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, "STRUCTURES_UNAVAILABLE")
    assert await api.count("flows") == 0
    fake_structures.down = False
    assert (await deposit(api, flow_parties, request)).state == pb.FLOW_STATE_IN_INTEGRE
