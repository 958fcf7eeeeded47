"""DepositPdfInvoice over real gRPC and PostgreSQL: a plain PDF with its header and stated
totals, a Factur-X PDF read from its XML (with or without a form that must agree with it),
attachments kept with the invoice, and every refusal leaving nothing stored."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as spb
from pypdf import PdfReader, PdfWriter

CORPUS = Path(__file__).resolve().parent / "corpus"
PLAIN_PDF = (CORPUS / "invalid/plain-no-xml.pdf").read_bytes()
FACTURX_PDF = (CORPUS / "valid/facturx-invoice.pdf").read_bytes()
FX_SELLER, FX_BUYER = "14026066210005", "17500669110009"
# What valid/facturx-invoice.pdf says.
FX = {
    "number": "BEM-2024-318",
    "issue_date": "2024-06-10",
    "service_code": "DIR-TRAVAUX",
    "engagement_number": "EJ-CH-2024-55",
    "payment_terms": "Paiement à 30 jours à réception.",
}
FX_TOTALS = pb.Totals(
    net_total="3768.00",
    vat_total="513.60",
    gross_total="4281.60",
    vat_breakdown=[
        pb.VatBreakdown(rate="20", base="2568.00", amount="513.60"),
        pb.VatBreakdown(rate="0", base="1200.00", amount="0.00"),
    ],
)
MiB = 1024 * 1024


def stated(net="1000.00", vat="200.00", gross="1200.00", breakdown=(("20", "1000.00", "200.00"),)):
    return pb.Totals(
        net_total=net,
        vat_total=vat,
        gross_total=gross,
        vat_breakdown=[pb.VatBreakdown(rate=r, base=b, amount=a) for r, b, a in breakdown],
    )


def header(parties, **overrides) -> pb.CreateInvoiceRequest:
    """The header of a plain PDF deposit from ``parties``' supplier to their recipient."""
    fields = {
        "supplier_structure_id": parties.supplier.id,
        "recipient": pb.RecipientRef(structure_id=parties.recipient.id),
        "framework": pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
        "type": pb.INVOICE_TYPE_FACTURE,
        "number": f"P-{uuid.uuid4().hex[:8]}",
        "issue_date": "2025-03-14",
        "currency": "EUR",
    }
    fields.update(overrides)
    return pb.CreateInvoiceRequest(**fields)


def plain_deposit(parties, *, totals=None, attachments=(), content=PLAIN_PDF, **overrides):
    return pb.DepositPdfInvoiceRequest(
        header=header(parties, **overrides),
        totals=totals if totals is not None else stated(),
        filename="facture.pdf",
        content=content,
        attachments=[pb.AttachmentFile(filename=n, content=c) for n, c in attachments],
    )


def encrypted(pdf: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def assert_nothing_stored(api) -> None:
    for table in ("invoices", "documents", "invoice_history", "outbox", "invoice_vat_breakdown"):
        assert await api.count(table) == 0, table


@dataclass
class FacturxParties:
    supplier: spb.Structure
    recipient: spb.Structure
    other_public: spb.Structure
    user: str


@pytest.fixture
def fx_parties(fake_structures) -> FacturxParties:
    """The Factur-X sample's seller as the supplier and its buyer as the recipient."""
    supplier = fake_structures.add("Bureau d'études Martin SAS", public=False)
    supplier.identifier = FX_SELLER
    recipient = fake_structures.add("CH de Bellerive", services=(("DIR-TRAVAUX", True, False),))
    recipient.identifier = FX_BUYER
    other = fake_structures.add("Commune de Valmont")
    user = str(uuid.uuid4())
    fake_structures.grant(user, supplier.id, "FACTURES_EMISES", "MODIFICATION")
    return FacturxParties(supplier, recipient, other, user)


def facturx_deposit(fx: FacturxParties, *, totals=None, attachments=(), **fields):
    request = pb.DepositPdfInvoiceRequest(
        header=pb.CreateInvoiceRequest(supplier_structure_id=fx.supplier.id, **fields),
        filename="BEM-2024-318.pdf",
        content=FACTURX_PDF,
        attachments=[pb.AttachmentFile(filename=n, content=c) for n, c in attachments],
    )
    if totals is not None:
        request.totals.CopyFrom(totals)
    return request


# --- plain PDF --------------------------------------------------------------------------


async def test_plain_pdf_is_deposited_with_its_totals_document_and_attachments(api, parties):
    request = plain_deposit(
        parties,
        totals=stated(
            net="1500.00",
            vat="250.00",
            gross="1750.00",
            breakdown=(("10", "500.00", "50.00"), ("20", "1000.00", "200.00"), ("0", "0.00", "0")),
        ),
        attachments=[("bon-de-commande.pdf", b"%PDF-1.4 bon"), ("releve.csv", b"a;b\n1;2\n")],
        payment_terms="30 jours",
        comment="Travaux de mars",
    )
    invoice = (await api.call("DepositPdfInvoice", request, parties.user)).invoice
    assert invoice.status == pb.INVOICE_STATUS_DEPOSEE
    assert list(invoice.lines) == []
    assert (invoice.totals.net_total, invoice.totals.vat_total, invoice.totals.gross_total) == (
        "1500.00",
        "250.00",
        "1750.00",
    )
    assert invoice.totals.amount_due == "1750.00"
    assert [(v.rate, v.base, v.amount) for v in invoice.totals.vat_breakdown] == [
        ("20", "1000.00", "200.00"),
        ("10", "500.00", "50.00"),
        ("0", "0.00", "0.00"),
    ]
    events = await api.fetch("SELECT ce_type FROM outbox WHERE key = $1", invoice.id)
    assert [e["ce_type"] for e in events] == ["chorus.invoices.events.v1.InvoiceSubmitted"]

    got = await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice.id), parties.user)
    assert got.invoice.totals == invoice.totals and list(got.invoice.lines) == []
    assert (got.invoice.payment_terms, got.invoice.comment) == ("30 jours", "Travaux de mars")
    assert sorted((d.role, d.filename, d.size) for d in got.invoice.documents) == [
        ("ATTACHMENT", "bon-de-commande.pdf", len(b"%PDF-1.4 bon")),
        ("ATTACHMENT", "releve.csv", len(b"a;b\n1;2\n")),
        ("ORIGINAL", "facture.pdf", len(PLAIN_PDF)),
    ]
    document = await api.document(pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), parties.user)
    assert (document.content, document.media_type) == (PLAIN_PDF, "application/pdf")
    csv = next(d for d in got.invoice.documents if d.filename == "releve.csv")
    attachment = await api.call(
        "GetInvoiceAttachment",
        pb.GetInvoiceAttachmentRequest(invoice_id=invoice.id, document_id=csv.id),
        parties.user,
    )
    assert (attachment.content, attachment.media_type) == (b"a;b\n1;2\n", "text/csv")


async def test_plain_pdf_is_routed_to_the_recipient(start_api, parties, wait_until):
    api = await start_api(background=True)
    invoice = (await api.call("DepositPdfInvoice", plain_deposit(parties), parties.user)).invoice

    async def made_available():
        rows = await api.fetch("SELECT status FROM invoices WHERE id = $1", invoice.id)
        return rows[0]["status"] == "MISE_A_DISPOSITION"

    await wait_until(made_available)


@pytest.mark.parametrize(
    ("totals", "reason", "fields"),
    [
        (
            stated(net="1000.00", gross="1200.00", vat="200.00", breakdown=()),
            "FIELD_REQUIRED",
            ["vat_breakdown"],
        ),
        (
            stated(net="", vat="", gross=""),
            "FIELD_REQUIRED",
            ["net_total", "vat_total", "gross_total"],
        ),
        (stated(net="mille"), "AMOUNT_INVALID", ["net_total"]),
        (
            stated(breakdown=(("20", "-1000.00", "200.00"),)),
            "AMOUNT_INVALID",
            ["vat_breakdown[0].base"],
        ),
        (stated(net="900.00", gross="1100.00"), "TOTALS_INCONSISTENT", ["net_total"]),
        (stated(vat="210.00", gross="1210.00"), "TOTALS_INCONSISTENT", ["vat_total"]),
        (stated(gross="1200.01"), "TOTALS_INCONSISTENT", ["gross_total"]),
        (
            stated(vat="190.00", gross="1190.00", breakdown=(("20", "1000.00", "190.00"),)),
            "TOTALS_INCONSISTENT",
            ["vat_breakdown[0].amount"],
        ),
        (
            # Any rate 0 <= r < 100 with 2 decimals at most is accepted ("taux manuel").
            stated(breakdown=(("19.666", "1000.00", "196.66"),), vat="196.66", gross="1196.66"),
            "VAT_RATE_INVALID",
            ["vat_breakdown[0].rate"],
        ),
        (
            stated(breakdown=(("20", "500.00", "100.00"), ("20", "500.00", "100.00"))),
            "TOTALS_INCONSISTENT",
            ["vat_breakdown[1].rate"],
        ),
        (
            stated(net="1000.001", gross="1200.001"),
            "TOTALS_INCONSISTENT",
            ["net_total", "gross_total"],
        ),
    ],
)
async def test_inconsistent_totals_are_refused_per_field(api, parties, totals, reason, fields):
    error = await api.fails(
        "DepositPdfInvoice", plain_deposit(parties, totals=totals), parties.user
    )
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    for field in fields:
        assert field in [v.field for v in error.violations]
    assert all(v.description for v in error.violations)
    await assert_nothing_stored(api)


async def test_plain_pdf_needs_the_header_data(api, parties):
    request = plain_deposit(parties, number="", framework=pb.FRAMEWORK_UNSPECIFIED)
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {"number", "framework"} <= {v.field for v in error.violations}
    await assert_nothing_stored(api)


async def test_plain_pdf_without_totals_is_refused(api, parties):
    request = plain_deposit(parties)
    request.ClearField("totals")
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.reason == "FIELD_REQUIRED"
    assert {"net_total", "vat_total", "gross_total", "vat_breakdown"} <= {
        v.field for v in error.violations
    }


async def test_lines_and_drafts_are_refused(api, parties):
    request = plain_deposit(parties)
    request.header.lines.add(description="x", quantity="1", unit_price="1", vat_rate="20")
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert (error.reason, error.violations[0].field) == ("LINES_NOT_ALLOWED", "lines")
    request = plain_deposit(parties)
    request.header.draft = True
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.reason == "DRAFT_NOT_ALLOWED"
    await assert_nothing_stored(api)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (encrypted(PLAIN_PDF), "PDF_ENCRYPTED"),
        (b"Facture n 12 : 1200 euros TTC\n", "PDF_MALFORMED"),
        (b"%PDF-1.7\n" + b"garbage " * 64, "PDF_MALFORMED"),
        (PLAIN_PDF + b" " * (10 * MiB), "PDF_TOO_LARGE"),
        (b"", "FILE_REQUIRED"),
    ],
    ids=["encrypted", "text-renamed-pdf", "broken-pdf", "oversized", "empty"],
)
async def test_unusable_pdf_is_refused(api, parties, content, reason):
    request = plain_deposit(parties, content=content)
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert error.violations and error.violations[0].field == "file"
    await assert_nothing_stored(api)


@pytest.mark.parametrize(
    ("attachment", "reason"),
    [
        (("programme.exe", b"MZ"), "ATTACHMENT_EXTENSION_FORBIDDEN"),
        (("gros.pdf", b"x" * (10 * MiB + 1)), "ATTACHMENT_TOO_LARGE"),
        (("n" * 47 + ".pdf", b"x"), "ATTACHMENT_NAME_TOO_LONG"),
        (("../etc/passwd.txt", b"x"), "ATTACHMENT_NAME_INVALID"),
        (("vide.pdf", b""), "ATTACHMENT_EMPTY"),
    ],
)
async def test_a_refused_attachment_refuses_the_whole_deposit(api, parties, attachment, reason):
    request = plain_deposit(parties, attachments=[("ok.pdf", b"%PDF-1.4"), attachment])
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert [v.field for v in error.violations] == ["attachments[1]"]
    await assert_nothing_stored(api)


async def test_depositor_needs_access_to_the_supplier(api, parties, fake_structures):
    stranger = str(uuid.uuid4())
    fake_structures.grant(stranger, parties.supplier.id, "FACTURES_EMISES", "CONSULTATION")
    error = await api.fails("DepositPdfInvoice", plain_deposit(parties), stranger)
    assert (error.code, error.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ACCESS_DENIED")
    await assert_nothing_stored(api)


async def test_duplicate_number_is_refused_and_keeps_nothing_more(api, parties):
    first = plain_deposit(parties, attachments=[("a.pdf", b"%PDF-1.4")])
    await api.call("DepositPdfInvoice", first, parties.user)
    again = plain_deposit(parties, number=first.header.number, attachments=[("b.pdf", b"%PDF-1.4")])
    error = await api.fails("DepositPdfInvoice", again, parties.user)
    assert (error.code, error.reason) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "INVOICE_NUMBER_DUPLICATE",
    )
    assert await api.count("invoices") == 1
    assert await api.count("documents") == 2


async def test_routing_parameters_of_the_recipient_apply(api, parties, fake_structures):
    strict = fake_structures.add(
        "Préfecture de Valmont",
        service_code_required=True,
        services=(("COMPTA", True, True),),
    )
    request = plain_deposit(parties, recipient=pb.RecipientRef(structure_id=strict.id))
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.reason == "SERVICE_CODE_REQUIRED"
    request = plain_deposit(
        parties, recipient=pb.RecipientRef(structure_id=strict.id), service_code="COMPTA"
    )
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.reason == "ENGAGEMENT_REQUIRED"
    await assert_nothing_stored(api)


async def test_unknown_recipient_is_refused(api, parties):
    request = plain_deposit(
        parties, recipient=pb.RecipientRef(identifier_type="SIRET", identifier="00000000000000")
    )
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.reason == "RECIPIENT_NOT_FOUND"


# --- Factur-X PDF -----------------------------------------------------------------------


async def test_facturx_pdf_without_form_is_read_from_its_xml(api, fx_parties):
    request = facturx_deposit(fx_parties, attachments=[("annexe.png", b"\x89PNG")])
    invoice = (await api.call("DepositPdfInvoice", request, fx_parties.user)).invoice
    assert invoice.status == pb.INVOICE_STATUS_DEPOSEE
    assert invoice.recipient_structure_id == fx_parties.recipient.id
    assert (invoice.number, invoice.service_code, invoice.engagement_number) == (
        FX["number"],
        FX["service_code"],
        FX["engagement_number"],
    )
    assert invoice.totals.gross_total == "4281.60" and len(invoice.lines) == 3
    got = await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice.id), fx_parties.user)
    assert sorted(d.role for d in got.invoice.documents) == ["ATTACHMENT", "ORIGINAL"]
    document = await api.document(
        pb.GetInvoiceDocumentRequest(invoice_id=invoice.id), fx_parties.user
    )
    assert document.content == FACTURX_PDF and document.filename == "BEM-2024-318.pdf"


async def test_facturx_pdf_with_a_consistent_form_is_deposited(api, fx_parties):
    request = facturx_deposit(
        fx_parties,
        totals=FX_TOTALS,
        recipient=pb.RecipientRef(structure_id=fx_parties.recipient.id),
        framework=pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
        type=pb.INVOICE_TYPE_FACTURE,
        currency="eur",
        **FX,
    )
    invoice = (await api.call("DepositPdfInvoice", request, fx_parties.user)).invoice
    assert invoice.number == FX["number"] and invoice.totals.net_total == "3768.00"


@pytest.mark.parametrize(
    ("fields", "totals", "field"),
    [
        ({"number": "BEM-2024-319"}, None, "number"),
        ({"issue_date": "2024-06-11"}, None, "issue_date"),
        ({"service_code": "DIR-ACHATS"}, None, "service_code"),
        ({"engagement_number": "EJ-1"}, None, "engagement_number"),
        ({"framework": pb.FRAMEWORK_A2_FACTURE_FOURNISSEUR_DEJA_PAYEE}, None, "framework"),
        ({"type": pb.INVOICE_TYPE_AVOIR}, None, "type"),
        ({"currency": "USD"}, None, "currency"),
        ({"payment_terms": "Comptant"}, None, "payment_terms"),
        (
            {"recipient": pb.RecipientRef(identifier_type="SIRET", identifier="21750001600019")},
            None,
            "recipient.identifier",
        ),
        ({}, pb.Totals(net_total="3768.01"), "net_total"),
        ({}, pb.Totals(vat_total="513.00"), "vat_total"),
        ({}, pb.Totals(gross_total="4281.00"), "gross_total"),
        (
            {},
            pb.Totals(vat_breakdown=[pb.VatBreakdown(rate="20", base="3768.00", amount="753.60")]),
            "vat_breakdown",
        ),
    ],
)
async def test_each_contradiction_with_the_facturx_is_refused(
    api, fx_parties, fields, totals, field
):
    request = facturx_deposit(fx_parties, totals=totals, **fields)
    error = await api.fails("DepositPdfInvoice", request, fx_parties.user)
    assert (error.code, error.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "FORM_CONTRADICTS_DOCUMENT",
    )
    assert [v.field for v in error.violations] == [field]
    assert "Factur-X" in error.violations[0].description
    await assert_nothing_stored(api)


async def test_recipient_structure_other_than_the_buyer_contradicts(api, fx_parties):
    request = facturx_deposit(
        fx_parties, recipient=pb.RecipientRef(structure_id=fx_parties.other_public.id)
    )
    error = await api.fails("DepositPdfInvoice", request, fx_parties.user)
    assert error.reason == "FORM_CONTRADICTS_DOCUMENT"
    assert [v.field for v in error.violations] == ["recipient_structure_id"]
    assert FX_BUYER in error.violations[0].description


async def test_several_contradictions_are_named_together(api, fx_parties):
    request = facturx_deposit(
        fx_parties, totals=pb.Totals(gross_total="1.00"), number="AUTRE-1", currency="USD"
    )
    error = await api.fails("DepositPdfInvoice", request, fx_parties.user)
    assert {v.field for v in error.violations} == {"number", "currency", "gross_total"}


async def test_facturx_needs_the_supplier_structure(api, fx_parties):
    request = facturx_deposit(fx_parties)
    request.header.supplier_structure_id = ""
    error = await api.fails("DepositPdfInvoice", request, fx_parties.user)
    assert (error.reason, error.violations[0].field) == ("FIELD_REQUIRED", "supplier_structure_id")


async def test_facturx_of_another_seller_is_refused(api, fx_parties, parties):
    request = facturx_deposit(fx_parties)
    request.header.supplier_structure_id = parties.supplier.id
    error = await api.fails("DepositPdfInvoice", request, parties.user)
    assert error.reason == "SELLER_MISMATCH"
    await assert_nothing_stored(api)


async def test_facturx_breaking_en16931_is_refused_with_its_rules(api, fx_parties):
    request = facturx_deposit(fx_parties)
    request.content = (CORPUS / "invalid/facturx-br-co-10-line-sum.pdf").read_bytes()
    error = await api.fails("DepositPdfInvoice", request, fx_parties.user)
    assert error.reason == "EN16931_RULES_FAILED"
    assert any(v.description.startswith("[BR-CO-10]") for v in error.violations)
    await assert_nothing_stored(api)


async def test_facturx_attachments_are_checked_too(api, fx_parties):
    request = facturx_deposit(fx_parties, attachments=[("script.sh", b"rm -rf /")])
    error = await api.fails("DepositPdfInvoice", request, fx_parties.user)
    assert error.reason == "ATTACHMENT_EXTENSION_FORBIDDEN"
    await assert_nothing_stored(api)
