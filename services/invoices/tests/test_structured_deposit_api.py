"""DepositStructuredInvoice and GetInvoiceDocument over real gRPC: corpus files deposited,
refused with their rule ids, kept and served back; portal deposits get their Factur-X."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_invoices.documents.facturx import read_facturx_model

CORPUS = Path(__file__).resolve().parent / "corpus"
UBL_SELLER, UBL_BUYER = "33738480410006", "26197306910005"
CII_SELLER, CII_BUYER = "14026066210005", "17500669110009"


@dataclass
class FileParties:
    ubl_supplier: spb.Structure
    cii_supplier: spb.Structure
    user: str


def with_siret(structure: spb.Structure, siret: str) -> spb.Structure:
    structure.identifier_type = spb.IDENTIFIER_TYPE_SIRET
    structure.identifier = siret
    return structure


@pytest.fixture
def file_parties(fake_structures) -> FileParties:
    """The corpus' sellers as suppliers (one user issuing for both) and buyers as recipients."""
    add = fake_structures.add
    ubl_supplier = with_siret(add("Atelier Dupont SARL", public=False), UBL_SELLER)
    cii_supplier = with_siret(add("Bureau d'études Martin SAS", public=False), CII_SELLER)
    with_siret(add("Commune de Valmont", services=(("SERV-TECH", True, False),)), UBL_BUYER)
    with_siret(add("CH de Bellerive", services=(("DIR-TRAVAUX", True, False),)), CII_BUYER)
    user = str(uuid.uuid4())
    for supplier in (ubl_supplier, cii_supplier):
        fake_structures.grant(user, supplier.id, "FACTURES_EMISES", "MODIFICATION")
    return FileParties(ubl_supplier, cii_supplier, user)


def deposit(supplier: spb.Structure, name: str, content: bytes | None = None):
    return pb.DepositStructuredInvoiceRequest(
        supplier_structure_id=supplier.id,
        filename=name.rsplit("/", 1)[-1],
        content=content if content is not None else (CORPUS / name).read_bytes(),
    )


async def test_ubl_file_is_deposited_kept_and_announced(api, file_parties):
    request = deposit(file_parties.ubl_supplier, "valid/ubl-invoice.xml")
    response = await api.call("DepositStructuredInvoice", request, file_parties.user)
    invoice = response.invoice
    assert invoice.status == pb.INVOICE_STATUS_DEPOSEE
    assert (invoice.number, invoice.service_code, invoice.engagement_number) == (
        "UBL-2024-0042",
        "SERV-TECH",
        "EJ-2024-117",
    )
    assert invoice.totals.gross_total == "876.52"
    assert [line.vat_rate for line in invoice.lines] == ["20", "20", "5.5"]
    events = await api.fetch("SELECT ce_type FROM outbox WHERE key = $1", invoice.id)
    assert [e["ce_type"] for e in events] == ["chorus.invoices.events.v1.InvoiceSubmitted"]
    document = await api.document(
        pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), file_parties.user
    )
    assert document.content == request.content
    assert (document.filename, document.media_type) == ("ubl-invoice.xml", "application/xml")
    got = await api.call(
        "GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice.id), file_parties.user
    )
    assert [(d.role, d.size) for d in got.invoice.documents] == [("ORIGINAL", len(request.content))]


async def test_facturx_pdf_is_deposited_with_its_pdf(api, file_parties):
    request = deposit(file_parties.cii_supplier, "valid/facturx-invoice.pdf")
    invoice = (await api.call("DepositStructuredInvoice", request, file_parties.user)).invoice
    assert (invoice.number, invoice.totals.gross_total) == ("BEM-2024-318", "4281.60")
    document = await api.document(
        pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), file_parties.user
    )
    assert document.media_type == "application/pdf" and document.content == request.content


async def test_warnings_are_kept_on_the_invoice(api, file_parties):
    # An EXTENDED CII naming its document (ExchangedDocument/Name, outside EN 16931): the CEN
    # CII schematron warns (CII-SR-013, "should not be present") and accepts it.
    content = (
        (CORPUS / "valid/cii-invoice.xml")
        .read_bytes()
        .replace(
            b"urn:cen.eu:en16931:2017",
            b"urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
            1,
        )
    )
    type_code = content.index(b"<ram:TypeCode>", content.index(b"<rsm:ExchangedDocument>"))
    named = content[:type_code] + b"<ram:Name>Facture</ram:Name>" + content[type_code:]
    request = deposit(file_parties.cii_supplier, "valid/cii-invoice.xml", named)
    invoice = (await api.call("DepositStructuredInvoice", request, file_parties.user)).invoice
    assert [(w.rule_id, w.fatal) for w in invoice.warnings] == [("CII-SR-013", False)]
    got = await api.call(
        "GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice.id), file_parties.user
    )
    assert [w.rule_id for w in got.invoice.warnings] == ["CII-SR-013"]
    assert got.invoice.warnings[0].location.endswith("rsm:ExchangedDocument[1]")


@pytest.mark.parametrize(
    ("name", "reason", "rule"),
    [
        ("invalid/ubl-br-co-10-line-sum.xml", "EN16931_RULES_FAILED", "BR-CO-10"),
        ("invalid/ubl-br-16-no-lines.xml", "XML_SCHEMA_INVALID", "XSD"),
        ("invalid/ubl-br-co-15-gross.xml", "EN16931_RULES_FAILED", "BR-CO-15"),
        ("hostile/xxe-file.xml", "XML_FORBIDDEN_CONSTRUCT", None),
        ("hostile/billion-laughs.xml", "XML_FORBIDDEN_CONSTRUCT", None),
        ("hostile/encrypted.pdf", "PDF_ENCRYPTED", None),
        ("hostile/fake.pdf", "PDF_MALFORMED", None),
    ],
)
async def test_refused_files_leave_no_trace(api, file_parties, name, reason, rule):
    request = deposit(file_parties.ubl_supplier, name)
    error = await api.fails("DepositStructuredInvoice", request, file_parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert error.violations
    if rule:
        assert any(v.description.startswith(f"[{rule}]") for v in error.violations)
        assert all(v.field for v in error.violations)
    assert await api.count("invoices") == 0
    assert await api.count("documents") == 0


async def test_a_file_the_schematron_fails_on_is_refused_naming_it(api, file_parties):
    # The CEN CII schematron stops on this file (two VAT ids for the tax representative):
    # a clear refusal naming the file, never INTERNAL nor DOCUMENT_UNREADABLE.
    data = (CORPUS / "hostile/cii-two-tax-representative-vat-ids.xml").read_bytes()
    request = deposit(file_parties.cii_supplier, "facture-représentant.xml", data)
    error = await api.fails("DepositStructuredInvoice", request, file_parties.user)
    assert (error.code, error.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_ENGINE_FAILED",
    )
    assert "« facture-représentant.xml »" in error.message
    assert [v.field for v in error.violations] == ["file"]
    assert await api.count("invoices") == 0


async def test_empty_file_is_required(api, file_parties):
    request = deposit(file_parties.ubl_supplier, "x.xml", b"")
    error = await api.fails("DepositStructuredInvoice", request, file_parties.user)
    assert error.reason == "FILE_REQUIRED"


async def test_file_of_another_seller_is_refused(api, file_parties):
    request = deposit(file_parties.cii_supplier, "valid/ubl-invoice.xml")
    error = await api.fails("DepositStructuredInvoice", request, file_parties.user)
    assert error.reason == "SELLER_MISMATCH"
    assert UBL_SELLER in error.message and CII_SELLER in error.message


async def test_deposit_rules_of_the_portal_apply(api, file_parties, fake_structures):
    request = deposit(file_parties.ubl_supplier, "valid/ubl-invoice.xml")
    stranger = str(uuid.uuid4())
    error = await api.fails("DepositStructuredInvoice", request, stranger)
    assert (error.code, error.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")
    await api.call("DepositStructuredInvoice", request, file_parties.user)
    error = await api.fails("DepositStructuredInvoice", request, file_parties.user)
    assert (error.code, error.reason) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "INVOICE_NUMBER_DUPLICATE",
    )
    other_service = (
        (CORPUS / "valid/ubl-credit-note.xml").read_bytes().replace(b"SERV-TECH", b"SERV-INCONNU")
    )
    request = deposit(file_parties.ubl_supplier, "avoir.xml", other_service)
    error = await api.fails("DepositStructuredInvoice", request, file_parties.user)
    assert error.reason == "SERVICE_CODE_UNKNOWN"


async def test_portal_deposit_gets_a_facturx_that_reads_back(api, parties, make_request):
    request = make_request(parties)
    invoice = (await api.call("CreateInvoice", request, parties.user)).invoice
    document = await api.document(pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), parties.user)
    assert document.media_type == "application/pdf"
    assert document.filename == f"facture-{invoice.number}.pdf"
    back = read_facturx_model(document.content)
    assert (back.number, str(back.totals.tax_inclusive)) == (
        invoice.number,
        invoice.totals.gross_total,
    )
    assert back.seller.legal_registration.value == parties.supplier.identifier
    assert (back.seller.name, back.buyer.name) == (
        parties.supplier.raison_sociale,
        parties.recipient.raison_sociale,
    )


async def test_drafts_get_their_facturx_when_submitted(api, parties, make_request):
    request = make_request(parties, draft=True)
    draft = (await api.call("CreateInvoice", request, parties.user)).invoice
    lookup = pb.GetInvoiceDocumentRequest(invoice_id=draft.id)
    error = await api.fails("GetInvoiceDocument", lookup, parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "DOCUMENT_NOT_FOUND")
    await api.call("SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user)
    document = await api.document(lookup, parties.user)
    assert read_facturx_model(document.content).number == draft.number


async def test_a_draft_stored_before_the_model_gets_its_facturx_from_what_it_holds(
    api, parties, make_request
):
    request = make_request(parties, draft=True)
    draft = (await api.call("CreateInvoice", request, parties.user)).invoice
    await api.fetch("UPDATE invoices SET document = NULL WHERE id = $1", draft.id)
    await api.call("SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user)
    lookup = pb.GetInvoiceDocumentRequest(invoice_id=draft.id)
    document = await api.document(lookup, parties.user)
    back = read_facturx_model(document.content)
    assert back.number == draft.number
    assert str(back.totals.tax_inclusive) == draft.totals.gross_total
    assert back.seller.legal_registration.value == parties.supplier.identifier
    assert back.buyer.name == parties.recipient.raison_sociale
    assert [line.item.name for line in back.lines] == [line.description for line in draft.lines]


async def test_documents_are_as_private_as_their_invoice(api, parties, make_request):
    invoice = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice
    lookup = pb.GetInvoiceDocumentRequest(invoice_id=invoice.id)
    error = await api.fails("GetInvoiceDocument", lookup, str(uuid.uuid4()))
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "INVOICE_NOT_FOUND")


async def test_deposit_request_may_exceed_grpc_default_message_size(api, file_parties):
    padded = (CORPUS / "valid/ubl-invoice.xml").read_bytes() + b" " * (5 * 1024 * 1024)
    request = deposit(file_parties.ubl_supplier, "big.xml", padded)
    invoice = (await api.call("DepositStructuredInvoice", request, file_parties.user)).invoice
    assert invoice.number == "UBL-2024-0042"


def zip_of(files: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


async def test_batch_reports_each_file_and_deposits_the_good_ones(api, file_parties):
    ubl = (CORPUS / "valid/ubl-invoice.xml").read_bytes()
    archive = zip_of(
        {
            "lot/../../ubl-invoice.xml": ubl,
            "ubl-br-co-10-line-sum.xml": (
                CORPUS / "invalid/ubl-br-co-10-line-sum.xml"
            ).read_bytes(),
            "again.xml": ubl,
            "nested.zip": zip_of({"x.xml": ubl}),
        }
    )
    request = pb.DepositInvoiceBatchRequest(
        supplier_structure_id=file_parties.ubl_supplier.id, content=archive
    )
    response = await api.call("DepositInvoiceBatch", request, file_parties.user)
    items = {item.file: item for item in response.items}
    assert list(items) == [
        "ubl-invoice.xml",
        "ubl-br-co-10-line-sum.xml",
        "again.xml",
        "nested.zip",
    ]
    deposited = items["ubl-invoice.xml"]
    assert deposited.status == pb.BATCH_ITEM_STATUS_DEPOSEE and not deposited.errors
    got = await api.call(
        "GetInvoice", pb.GetInvoiceRequest(invoice_id=deposited.invoice_id), file_parties.user
    )
    assert got.invoice.number == "UBL-2024-0042"
    refused = {name: [e.reason for e in item.errors] for name, item in items.items()}
    assert refused["ubl-br-co-10-line-sum.xml"][0] == "EN16931_RULES_FAILED"
    assert any("[BR-CO-10]" in e.message for e in items["ubl-br-co-10-line-sum.xml"].errors)
    assert refused["again.xml"][0] == "INVOICE_NUMBER_DUPLICATE"
    assert refused["nested.zip"] == ["ARCHIVE_NESTED"]
    assert all(
        items[name].status == pb.BATCH_ITEM_STATUS_REJETEE and not items[name].invoice_id
        for name in ("ubl-br-co-10-line-sum.xml", "again.xml", "nested.zip")
    )
    assert await api.count("invoices") == 1


async def test_batch_refuses_what_is_not_an_archive_whole(api, file_parties):
    request = pb.DepositInvoiceBatchRequest(
        supplier_structure_id=file_parties.ubl_supplier.id,
        content=(CORPUS / "valid/ubl-invoice.xml").read_bytes(),
    )
    error = await api.fails("DepositInvoiceBatch", request, file_parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "ARCHIVE_UNSUPPORTED")
    assert await api.count("invoices") == 0


async def test_a_keyed_batch_is_one_transaction_whose_refused_files_roll_back_alone(
    api, file_parties
):
    """With an Idempotency-Key the batch runs in one transaction (a crash leaves none of its
    invoices); a file refused by the database (a duplicate number) rolls back to its own
    savepoint, the others stay, and a retry replays the report."""
    ubl = (CORPUS / "valid/ubl-invoice.xml").read_bytes()
    request = pb.DepositInvoiceBatchRequest(
        supplier_structure_id=file_parties.ubl_supplier.id,
        content=zip_of({"first.xml": ubl, "again.xml": ubl}),
    )
    keyed = (*api.as_user(file_parties.user), ("idempotency-key", f"erp-{uuid.uuid4()}"))

    response = await api.stub.DepositInvoiceBatch(request, metadata=keyed)
    replayed = await api.stub.DepositInvoiceBatch(request, metadata=keyed)

    statuses = [(item.file, item.status) for item in response.items]
    assert statuses == [
        ("first.xml", pb.BATCH_ITEM_STATUS_DEPOSEE),
        ("again.xml", pb.BATCH_ITEM_STATUS_REJETEE),
    ]
    assert response.items[1].errors[0].reason == "INVOICE_NUMBER_DUPLICATE"
    assert replayed == response
    assert await api.count("invoices") == 1
    assert await api.count("outbox") == 1
