"""DepositPdfInvoice naming the PDF itself by a staged file (``staged_pdf_id``, what the Chorus
Pro API's ``ajouter/fichier`` then ``soumettre`` in ``DEPOT_PDF_API`` amount to), over real
gRPC and PostgreSQL: a plain PDF with its header and totals, a Factur-X read and compared like
an uploaded one, the integer id accepted, the file taken from staging once deposited, and each
refusal (unknown, someone else's, not a PDF, both sources, used twice, a contradiction) keeping
no invoice."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb

CORPUS = Path(__file__).resolve().parent / "corpus"
PLAIN_PDF = (CORPUS / "invalid/plain-no-xml.pdf").read_bytes()
FACTURX_PDF = (CORPUS / "valid/facturx-invoice.pdf").read_bytes()
# What valid/facturx-invoice.pdf says (see test_pdf_deposit_api).
FX_SELLER, FX_BUYER, FX_NUMBER = "14026066210005", "17500669110009", "BEM-2024-318"


def plain_header(parties, **overrides) -> pb.CreateInvoiceRequest:
    fields = {
        "supplier_structure_id": parties.supplier.id,
        "recipient": pb.RecipientRef(structure_id=parties.recipient.id),
        "framework": pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
        "type": pb.INVOICE_TYPE_FACTURE,
        "number": f"S-{uuid.uuid4().hex[:8]}",
        "issue_date": "2025-03-14",
        "currency": "EUR",
    } | overrides
    return pb.CreateInvoiceRequest(**fields)


TOTALS = pb.Totals(
    net_total="1000.00",
    vat_total="200.00",
    gross_total="1200.00",
    vat_breakdown=[pb.VatBreakdown(rate="20", base="1000.00", amount="200.00")],
)


def staged_deposit(parties, staged_pdf_id: str, **overrides) -> pb.DepositPdfInvoiceRequest:
    return pb.DepositPdfInvoiceRequest(
        header=plain_header(parties, **overrides), totals=TOTALS, staged_pdf_id=staged_pdf_id
    )


async def stage(api, user: str, filename: str, content: bytes, supplier: str):
    request = pb.StageAttachmentRequest(
        file=pb.AttachmentFile(filename=filename, content=content),
        supplier_structure_id=supplier,
    )
    return await api.call("StageAttachment", request, user)


async def staged_ids(api) -> list[str]:
    return [str(r["id"]) for r in await api.fetch("SELECT id FROM staged_attachments")]


async def original(api, invoice_id: str):
    (row,) = await api.fetch(
        "SELECT filename, media_type, sha256 FROM documents"
        " WHERE invoice_id = $1 AND role = 'ORIGINAL'",
        invoice_id,
    )
    return row


@pytest.mark.parametrize("by_integer", [False, True])
async def test_a_staged_plain_pdf_is_the_invoice_and_leaves_staging(api, parties, by_integer):
    staged = await stage(api, parties.user, "scan-facture.pdf", PLAIN_PDF, parties.supplier.id)
    name = str(staged.cpp_id) if by_integer else staged.staged_attachment_id
    invoice = (
        await api.call("DepositPdfInvoice", staged_deposit(parties, name), parties.user)
    ).invoice
    assert invoice.status == pb.INVOICE_STATUS_DEPOSEE
    assert invoice.deposit_mode == pb.DEPOSIT_MODE_PDF
    assert invoice.totals.gross_total == "1200.00"
    document = await original(api, invoice.id)
    assert document["filename"] == "scan-facture.pdf"  # the staged name when none is given
    assert document["media_type"] == "application/pdf"
    assert document["sha256"] == hashlib.sha256(PLAIN_PDF).hexdigest()
    assert await staged_ids(api) == []
    # Used once: naming it again is refused, nothing more is stored.
    again = await api.fails("DepositPdfInvoice", staged_deposit(parties, name), parties.user)
    assert (again.reason, [v.field for v in again.violations]) == (
        "STAGED_ATTACHMENT_UNKNOWN",
        ["staged_pdf_id"],
    )
    assert await api.count("invoices") == 1


async def test_a_staged_plain_pdf_still_needs_its_header_and_totals(api, parties):
    staged = await stage(api, parties.user, "scan.pdf", PLAIN_PDF, parties.supplier.id)
    request = staged_deposit(parties, staged.staged_attachment_id, issue_date="")
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert "issue_date" in {v.field for v in error.violations}, error.reason
    request = staged_deposit(parties, staged.staged_attachment_id)
    request.totals.gross_total = "1300.00"
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.reason == "TOTALS_INCONSISTENT"
    assert await api.count("invoices") == 0
    # A refusal leaves the PDF staged: the corrected call names it again.
    assert await staged_ids(api) == [staged.staged_attachment_id]
    ok = await api.call(
        "DepositPdfInvoice", staged_deposit(parties, staged.staged_attachment_id), parties.user
    )
    assert ok.invoice.status == pb.INVOICE_STATUS_DEPOSEE
    assert await staged_ids(api) == []


@pytest.fixture
def fx(fake_structures):
    """The Factur-X sample's seller as the supplier (with its user), its buyer as recipient."""
    supplier = fake_structures.add("Bureau d'études Martin SAS", public=False)
    supplier.identifier = FX_SELLER
    recipient = fake_structures.add("CH de Bellerive", services=(("DIR-TRAVAUX", True, False),))
    recipient.identifier = FX_BUYER
    user = str(uuid.uuid4())
    fake_structures.grant(user, supplier.id, "FACTURES_EMISES", "MODIFICATION")
    return supplier, recipient, user


async def test_a_staged_facturx_is_read_from_its_xml(api, fx):
    supplier, recipient, user = fx
    staged = await stage(api, user, "BEM-2024-318.pdf", FACTURX_PDF, supplier.id)
    request = pb.DepositPdfInvoiceRequest(
        header=pb.CreateInvoiceRequest(
            supplier_structure_id=supplier.id,
            number=FX_NUMBER,
            recipient=pb.RecipientRef(identifier_type="SIRET", identifier=FX_BUYER),
        ),
        totals=pb.Totals(gross_total="4281.60"),
        staged_pdf_id=str(staged.cpp_id),
    )
    invoice = (await api.call("DepositPdfInvoice", request, user)).invoice
    assert (invoice.number, invoice.issue_date) == (FX_NUMBER, "2024-06-10")
    assert invoice.recipient_structure_id == recipient.id
    assert invoice.service_code == "DIR-TRAVAUX"
    assert len(invoice.lines) > 0  # the XML's lines
    assert (await original(api, invoice.id))["sha256"] == hashlib.sha256(FACTURX_PDF).hexdigest()
    assert await staged_ids(api) == []


async def test_a_staged_facturx_contradicted_by_the_form_is_refused(api, fx):
    supplier, _, user = fx
    staged = await stage(api, user, "BEM-2024-318.pdf", FACTURX_PDF, supplier.id)
    request = pb.DepositPdfInvoiceRequest(
        header=pb.CreateInvoiceRequest(supplier_structure_id=supplier.id, number="AUTRE-1"),
        totals=pb.Totals(net_total="1.00"),
        staged_pdf_id=staged.staged_attachment_id,
    )
    error = await api.fails("DepositPdfInvoice", request, user)
    assert error.reason == "FORM_CONTRADICTS_DOCUMENT"
    assert {v.field for v in error.violations} == {"number", "net_total"}
    assert await api.count("invoices") == 0
    assert await staged_ids(api) == [staged.staged_attachment_id]


async def test_unknown_foreign_and_malformed_staged_pdfs_are_refused(api, parties, fake_structures):
    other = str(uuid.uuid4())
    fake_structures.grant(other, parties.supplier.id, "FACTURES_EMISES", "MODIFICATION")
    theirs = await stage(api, other, "leur.pdf", PLAIN_PDF, parties.supplier.id)
    for name in (
        theirs.staged_attachment_id,  # someone else's, by id
        str(theirs.cpp_id),  # someone else's, by integer id
        str(uuid.uuid4()),
        "999999",
        "pas-un-id",
        "9" * 40,
    ):
        error = await api.fails("DepositPdfInvoice", staged_deposit(parties, name), parties.user)
        assert (error.reason, [v.field for v in error.violations]) == (
            "STAGED_ATTACHMENT_UNKNOWN",
            ["staged_pdf_id"],
        ), name
    assert await api.count("invoices") == 0
    assert await staged_ids(api) == [theirs.staged_attachment_id]  # left alone


@pytest.mark.parametrize(
    ("filename", "content"),
    [("releve.csv", b"date;montant\n2025-01-01;12\n"), ("faux.pdf", b"ceci n'est pas un PDF")],
)
async def test_a_staged_file_that_is_not_a_pdf_is_refused(api, parties, filename, content):
    staged = await stage(api, parties.user, filename, content, parties.supplier.id)
    request = staged_deposit(parties, staged.staged_attachment_id)
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert (error.reason, [v.field for v in error.violations]) == (
        "STAGED_FILE_NOT_PDF",
        ["staged_pdf_id"],
    )
    assert filename in error.message or filename in error.violations[0].description
    assert await api.count("invoices") == 0


async def test_a_staged_pdf_that_does_not_open_is_refused_like_an_uploaded_one(api, parties):
    staged = await stage(api, parties.user, "casse.pdf", b"%PDF-1.7\ngarbage", parties.supplier.id)
    error = await api.fails(
        "DepositPdfInvoice", staged_deposit(parties, staged.staged_attachment_id), parties.user
    )
    assert error.reason == "PDF_MALFORMED"
    assert await api.count("invoices") == 0


async def test_content_and_a_staged_pdf_together_are_refused(api, parties):
    staged = await stage(api, parties.user, "scan.pdf", PLAIN_PDF, parties.supplier.id)
    request = staged_deposit(parties, staged.staged_attachment_id)
    request.content = PLAIN_PDF
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert (error.reason, [v.field for v in error.violations]) == (
        "PDF_SOURCE_AMBIGUOUS",
        ["staged_pdf_id"],
    )
    assert await api.count("invoices") == 0


async def test_a_staged_pdf_needs_the_right_to_issue_for_the_supplier(
    api, parties, fake_structures
):
    outsider = str(uuid.uuid4())
    own = fake_structures.add("Autre SARL", public=False)
    fake_structures.grant(outsider, own.id, "FACTURES_EMISES", "MODIFICATION")
    staged = await stage(api, outsider, "scan.pdf", PLAIN_PDF, own.id)
    # Its own PDF, but for a supplier it may not issue for.
    error = await api.fails(
        "DepositPdfInvoice", staged_deposit(parties, staged.staged_attachment_id), outsider
    )
    assert error.code.name == "PERMISSION_DENIED"
    assert await api.count("invoices") == 0
