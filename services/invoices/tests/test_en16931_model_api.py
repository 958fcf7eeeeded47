"""Issue 10 over real gRPC: every valid EN 16931 invoice goes in, whole, and comes out the
same — structured files with what Chorus once refused, the CHORUS-LINE-NET warning, the
header arithmetic still refused, the persisted model equal to the one read; and the portal
entry's new fields (allowances and charges, prepaid, references, payment means, delivery,
period, due date, exemption code, manual rate), good and bad."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from decimal import Decimal as D

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_invoices.documents import cii_writer, ubl_writer
from chorus_invoices.documents.facturx import read_facturx_model
from chorus_invoices.documents.formats import detect
from chorus_invoices.documents.mapping import read_model
from chorus_invoices.domain.en16931_codec import from_json

from .en16931_samples import (
    BUYER_SIRET,
    SELLER_SIRET,
    credit_note,
    line_net_differs,
    rich_invoice,
)
from .test_pdf_deposit_api import PLAIN_PDF

TABLES = ("invoices", "invoice_lines", "invoice_vat_breakdown", "documents", "outbox")


async def assert_nothing_stored(api) -> None:
    for table in TABLES:
        assert await api.count(table) == 0, table


@pytest.fixture
def seller(fake_structures):
    """The samples' seller as a supplier, their buyer as a recipient with service SERV-TECH."""
    supplier = fake_structures.add("Atelier Dupont SARL", public=False)
    supplier.identifier_type, supplier.identifier = spb.IDENTIFIER_TYPE_SIRET, SELLER_SIRET
    buyer = fake_structures.add("Commune de Valmont", services=(("SERV-TECH", True, False),))
    buyer.identifier_type, buyer.identifier = spb.IDENTIFIER_TYPE_SIRET, BUYER_SIRET
    user = str(uuid.uuid4())
    fake_structures.grant(user, supplier.id, "FACTURES_EMISES", "MODIFICATION")
    return supplier, user


async def deposit_file(api, seller, content: bytes, name="facture.xml"):
    supplier, user = seller
    request = pb.DepositStructuredInvoiceRequest(
        supplier_structure_id=supplier.id, filename=name, content=content
    )
    return await api.call("DepositStructuredInvoice", request, user)


async def get(api, seller, invoice_id: str) -> pb.Invoice:
    response = await api.call("GetInvoice", pb.GetInvoiceRequest(invoice_id=invoice_id), seller[1])
    return response.invoice


@pytest.mark.parametrize("writer", [ubl_writer, cii_writer], ids=["ubl", "cii"])
async def test_what_chorus_once_refused_goes_in_whole(api, seller, writer):
    content = writer.write_model(rich_invoice())

    deposited = (await deposit_file(api, seller, content)).invoice

    assert deposited.status == pb.INVOICE_STATUS_DEPOSEE
    invoice = await get(api, seller, deposited.id)
    assert (invoice.type_code, invoice.type) == ("389", pb.INVOICE_TYPE_FACTURE)
    assert (invoice.service_code, invoice.engagement_number) == ("SERV-TECH", "EJ-2025-9")
    totals = invoice.totals
    assert (totals.line_total, totals.allowance_total, totals.charge_total) == (
        "1400.00",
        "50.00",
        "20.00",
    )
    assert (totals.net_total, totals.vat_total, totals.gross_total) == (
        "1370.00",
        "184.30",
        "1554.30",
    )
    assert (totals.prepaid_amount, totals.rounding_amount, totals.amount_due) == (
        "500.00",
        "0.20",
        "1054.50",
    )
    assert [
        (v.category, v.rate, v.base, v.amount, v.exemption_reason, v.exemption_reason_code)
        for v in totals.vat_breakdown
    ] == [
        ("S", "19", "970.00", "184.30", "", ""),
        ("Z", "0", "100.00", "0.00", "", ""),
        ("E", "0", "300.00", "0.00", "", "VATEX-EU-132"),
    ]
    assert [(line.vat_category, line.net_amount) for line in invoice.lines] == [
        ("S", "1000.00"),
        ("Z", "100.00"),
        ("E", "300.00"),
    ]
    # The persisted model is the one read from the file, every term of it.
    stored = from_json(json.loads(invoice.document_json))
    assert stored == read_model(detect(content)) == rich_invoice()
    assert not [w for w in invoice.warnings if w.rule_id == "CHORUS-LINE-NET"]


async def test_a_credit_note_without_preceding_invoice_goes_in(api, seller):
    deposited = (await deposit_file(api, seller, ubl_writer.write_model(credit_note()))).invoice
    invoice = await get(api, seller, deposited.id)
    assert (invoice.type, invoice.type_code, invoice.preceding_invoice_number) == (
        pb.INVOICE_TYPE_AVOIR,
        "381",
        "",
    )
    assert from_json(json.loads(invoice.document_json)) == credit_note()


async def test_a_line_net_differing_from_quantity_times_price_is_a_kept_warning(api, seller):
    content = ubl_writer.write_model(line_net_differs())

    response = await deposit_file(api, seller, content)

    warnings = [w for w in response.invoice.warnings if w.rule_id == "CHORUS-LINE-NET"]
    assert [(w.location, w.fatal) for w in warnings] == [("lines[1].net_amount", False)]
    assert "Ligne 2" in warnings[0].message and "29.00" in warnings[0].message
    assert "30.00" in warnings[0].message
    invoice = await get(api, seller, response.invoice.id)
    assert [w.rule_id for w in invoice.warnings if w.rule_id == "CHORUS-LINE-NET"] == [
        "CHORUS-LINE-NET"
    ]
    assert invoice.lines[1].net_amount == "29.00"  # as the file states it
    assert invoice.totals.gross_total == "154.80"


@pytest.mark.parametrize(
    ("totals", "rule"),
    [
        ({"tax_inclusive": D("1554.31"), "amount_due": D("1054.51")}, "BR-CO-15"),
        ({"amount_due": D("1054.00")}, "BR-CO-16"),
        ({"allowance_total": D("40.00")}, "BR-CO-11"),
    ],
)
async def test_header_arithmetic_errors_are_still_refused(api, seller, totals, rule):
    invoice = rich_invoice()
    content = ubl_writer.write_model(replace(invoice, totals=replace(invoice.totals, **totals)))
    request = pb.DepositStructuredInvoiceRequest(
        supplier_structure_id=seller[0].id, filename="faux.xml", content=content
    )

    error = await api.fails("DepositStructuredInvoice", request, seller[1])

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "EN16931_RULES_FAILED")
    assert rule in error.metadata["rules"].split(",")
    await assert_nothing_stored(api)


# --- portal entry -----------------------------------------------------------------------------


def rich_request(parties, **overrides) -> pb.CreateInvoiceRequest:
    """A portal entry with every new field: line discount (percentage) and charge, a global
    discount, prepaid, contract, payment by IBAN, delivery, period, due date, exempt line
    with a VATEX code only, a manual rate."""
    fields = {
        "supplier_structure_id": parties.supplier.id,
        "recipient": pb.RecipientRef(structure_id=parties.recipient.id),
        "framework": pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
        "type": pb.INVOICE_TYPE_FACTURE,
        "number": f"F-{uuid.uuid4().hex[:8]}",
        "issue_date": "2025-03-14",
        "engagement_number": "EJ-77",
        "contract_reference": "MARCHE-2024-12",
        "lines": [
            pb.InvoiceLine(
                description="Pose de fenêtres",
                quantity="3",
                unit_price="410.50",
                vat_rate="20",
                allowances_charges=[
                    pb.LineAllowanceCharge(percentage="10", reason="Remise quantité"),
                    pb.LineAllowanceCharge(charge=True, amount="15.00", reason_code="FC"),
                ],
            ),
            pb.InvoiceLine(description="Formation", quantity="1", unit_price="500", vat_rate="0"),
            pb.InvoiceLine(
                description="Produit DOM", quantity="2", unit_price="100", vat_rate="8.5"
            ),
        ],
        "allowances_charges": [
            pb.DocumentAllowanceCharge(
                amount="50.00", vat_rate="20", reason="Remise globale", reason_code="95"
            )
        ],
        "prepaid_amount": "300.00",
        "payment": pb.PaymentMeans(
            iban="FR76 3000 6000 0112 3456 7890 189", bic="BNPAFRPP", account_name="Dupont"
        ),
        "delivery": pb.Delivery(
            party_name="Mairie annexe",
            date="2025-03-10",
            address=pb.PostalAddress(line1="1 place de la Mairie", city="Villebois", country="fr"),
        ),
        "invoicing_period_start": "2025-02-01",
        "invoicing_period_end": "2025-02-28",
        "due_date": "2025-04-14",
        "vat_exemption_reason_code": "VATEX-FR-FRANCHISE",
    }
    fields.update(overrides)
    return pb.CreateInvoiceRequest(**fields)


async def test_portal_entry_builds_the_whole_model_and_its_facturx(api, parties):
    created = (await api.call("CreateInvoice", rich_request(parties), parties.user)).invoice

    # Line 1: 3 × 410.50 = 1231.50 − 10 % (123.15) + 15.00 = 1123.35.
    assert [(line.net_amount, line.vat_category) for line in created.lines] == [
        ("1123.35", "S"),
        ("500.00", "E"),
        ("200.00", "S"),
    ]
    totals = created.totals
    assert (totals.line_total, totals.allowance_total, totals.net_total) == (
        "1823.35",
        "50.00",
        "1773.35",
    )
    # S 20 %: 1073.35 → 214.67; S 8.5 %: 200.00 → 17.00; E: 500.00.
    assert [(v.category, v.rate, v.base, v.amount) for v in totals.vat_breakdown] == [
        ("S", "20", "1073.35", "214.67"),
        ("S", "8.5", "200.00", "17.00"),
        ("E", "0", "500.00", "0.00"),
    ]
    assert (totals.vat_total, totals.gross_total, totals.prepaid_amount, totals.amount_due) == (
        "231.67",
        "2005.02",
        "300.00",
        "1705.02",
    )
    assert totals.vat_breakdown[2].exemption_reason_code == "VATEX-FR-FRANCHISE"
    invoice = await get(api, (None, parties.user), created.id)
    model = from_json(json.loads(invoice.document_json))
    assert model.seller.name == parties.supplier.raison_sociale
    assert model.seller.legal_registration.value == parties.supplier.identifier
    assert model.buyer.legal_registration.value == parties.recipient.identifier
    assert (model.contract_reference, model.purchase_order_reference) == ("MARCHE-2024-12", "EJ-77")
    transfer = model.payment_instructions.credit_transfers[0]
    assert (model.payment_instructions.means_code, transfer.account, transfer.service_provider) == (
        "30",
        "FR7630006000011234567890189",
        "BNPAFRPP",
    )
    assert (model.delivery.party_name, model.delivery.address.country) == ("Mairie annexe", "FR")
    assert (str(model.invoicing_period.start), str(model.due_date)) == ("2025-02-01", "2025-04-14")
    assert [(a.reason, a.amount) for a in model.lines[0].allowances_charges] == [
        ("Remise quantité", D("123.15")),
        ("", D("15.00")),
    ]
    assert [(a.amount, a.reason_code) for a in invoice.lines[0].allowances_charges] == [
        ("123.15", ""),
        ("15.00", "FC"),
    ]
    # The Factur-X carries the whole model.
    document = await api.document(pb.GetInvoiceDocumentRequest(invoice_id=created.id), parties.user)
    assert read_facturx_model(document.content) == model


async def test_a_draft_keeps_its_model_for_its_submission(api, parties):
    draft = (
        await api.call("CreateInvoice", rich_request(parties, draft=True), parties.user)
    ).invoice
    submitted = await api.call(
        "SubmitInvoice", pb.SubmitInvoiceRequest(invoice_id=draft.id), parties.user
    )
    assert submitted.invoice.totals.amount_due == "1705.02"
    document = await api.document(pb.GetInvoiceDocumentRequest(invoice_id=draft.id), parties.user)
    assert read_facturx_model(document.content).totals.prepaid == D("300.00")


def line(**fields) -> pb.InvoiceLine:
    base = {"description": "Prestation", "quantity": "1", "unit_price": "100", "vat_rate": "20"}
    return pb.InvoiceLine(**(base | fields))


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        (
            {"payment": pb.PaymentMeans(iban="FR7630006000011234567890188")},
            "IBAN_INVALID",
            "payment.iban",
        ),
        (
            {"payment": pb.PaymentMeans(iban="FR76 3000 6000 0112", bic="X")},
            "IBAN_INVALID",
            "payment.iban",
        ),
        (
            {"payment": pb.PaymentMeans(iban="FR7630006000011234567890189", bic="BNP")},
            "BIC_INVALID",
            "payment.bic",
        ),
        ({"payment": pb.PaymentMeans(means_code="30")}, "FIELD_REQUIRED", "payment.iban"),
        (
            {"payment": pb.PaymentMeans(means_code="999")},
            "PAYMENT_MEANS_INVALID",
            "payment.means_code",
        ),
        (
            {"allowances_charges": [pb.DocumentAllowanceCharge(amount="10.00")]},
            "ALLOWANCE_INVALID",
            "allowances_charges[0].reason",
        ),
        (
            {"allowances_charges": [pb.DocumentAllowanceCharge(reason="Remise")]},
            "ALLOWANCE_INVALID",
            "allowances_charges[0].amount",
        ),
        (
            {"allowances_charges": [pb.DocumentAllowanceCharge(percentage="120", reason="R")]},
            "ALLOWANCE_INVALID",
            "allowances_charges[0].percentage",
        ),
        (
            {"allowances_charges": [pb.DocumentAllowanceCharge(amount="-5", reason="R")]},
            "ALLOWANCE_INVALID",
            "allowances_charges[0].amount",
        ),
        (
            {
                "allowances_charges": [
                    pb.DocumentAllowanceCharge(amount="10", reason="R", reason_code="ZZ9")
                ]
            },
            "ALLOWANCE_INVALID",
            "allowances_charges[0].reason_code",
        ),
        (
            {
                "lines": [line()],
                "allowances_charges": [pb.DocumentAllowanceCharge(amount="500.00", reason="R")],
            },
            "ALLOWANCE_INVALID",
            "allowances_charges",
        ),
        (
            {
                "lines": [line(), line(vat_rate="10")],
                "allowances_charges": [pb.DocumentAllowanceCharge(amount="5.00", reason="R")],
            },
            "FIELD_REQUIRED",
            "allowances_charges[0].vat_rate",
        ),
        (
            {
                "lines": [
                    line(allowances_charges=[pb.LineAllowanceCharge(amount="150", reason="R")])
                ]
            },
            "ALLOWANCE_INVALID",
            "lines[0].allowances_charges",
        ),
        (
            {"lines": [line()], "prepaid_amount": "120.01"},
            "PREPAID_EXCEEDS_TOTAL",
            "prepaid_amount",
        ),
        ({"prepaid_amount": "dix"}, "AMOUNT_INVALID", "prepaid_amount"),
        (
            {"invoicing_period_start": "2025-03-01", "invoicing_period_end": "2025-02-01"},
            "PERIOD_INVALID",
            "invoicing_period_end",
        ),
        ({"invoicing_period_start": "01/03/2025"}, "PERIOD_INVALID", "invoicing_period_start"),
        ({"due_date": "2025-03-01"}, "DUE_DATE_INVALID", "due_date"),
        ({"due_date": "2025-02-30"}, "DUE_DATE_INVALID", "due_date"),
        ({"delivery": pb.Delivery(date="hier")}, "DELIVERY_DATE_INVALID", "delivery.date"),
        (
            {"delivery": pb.Delivery(address=pb.PostalAddress(city="Lyon"))},
            "FIELD_REQUIRED",
            "delivery.address.country",
        ),
        (
            {"delivery": pb.Delivery(address=pb.PostalAddress(country="France"))},
            "COUNTRY_INVALID",
            "delivery.address.country",
        ),
        (
            {"lines": [line(vat_category="S", vat_rate="0")]},
            "VAT_CATEGORY_INVALID",
            "lines[0].vat_category",
        ),
        ({"lines": [line(vat_category="AE")]}, "VAT_CATEGORY_INVALID", "lines[0].vat_category"),
        ({"lines": [line(vat_rate="5.555")]}, "VAT_RATE_INVALID", "lines[0].vat_rate"),
        (
            {"lines": [line(vat_rate="0")], "vat_exemption_reason_code": "ART-293B"},
            "VAT_EXEMPTION_CODE_INVALID",
            "vat_exemption_reason_code",
        ),
        ({"lines": [line(vat_rate="0")]}, "VAT_EXEMPTION_REASON_REQUIRED", "vat_exemption_reason"),
        ({"contract_reference": "C" * 101}, "FIELD_TOO_LONG", "contract_reference"),
    ],
)
async def test_each_bad_new_field_is_refused_with_its_path_and_nothing_stored(
    api, parties, make_request, changes, reason, field
):
    error = await api.fails("CreateInvoice", make_request(parties, **changes), parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert field in [v.field for v in error.violations]
    assert all(v.description for v in error.violations)
    await assert_nothing_stored(api)


async def test_zero_rated_needs_no_reason_and_exempt_takes_a_code_alone(api, parties, make_request):
    request = make_request(
        parties,
        lines=[line(vat_rate="0", vat_category="Z"), line(vat_rate="0"), line(vat_rate="19.6")],
        vat_exemption_reason_code="vatex-eu-132",
    )
    invoice = (await api.call("CreateInvoice", request, parties.user)).invoice
    assert [
        (v.category, v.rate, v.exemption_reason_code) for v in invoice.totals.vat_breakdown
    ] == [
        ("S", "19.6", ""),
        ("Z", "0", ""),
        ("E", "0", "VATEX-EU-132"),
    ]


async def test_the_iban_may_be_typed_with_spaces_and_in_lower_case(api, parties, make_request):
    request = make_request(
        parties, payment=pb.PaymentMeans(iban="fr76 3000 6000 0112 3456 7890 189")
    )
    invoice = (await api.call("CreateInvoice", request, parties.user)).invoice
    got = await get(api, (None, parties.user), invoice.id)
    model = from_json(json.loads(got.document_json))
    assert model.payment_instructions.credit_transfers[0].account == "FR7630006000011234567890189"


async def test_plain_pdf_takes_the_same_header_fields_with_its_stated_totals(api, parties):
    header = rich_request(parties, lines=[])
    header.ClearField("allowances_charges")
    header.allowances_charges.append(
        pb.DocumentAllowanceCharge(amount="100.00", vat_rate="20", reason="Remise globale")
    )
    request = pb.DepositPdfInvoiceRequest(
        header=header,
        totals=pb.Totals(
            net_total="900.00",
            vat_total="180.00",
            gross_total="1080.00",
            vat_breakdown=[pb.VatBreakdown(rate="20", base="900.00", amount="180.00")],
        ),
        filename="facture.pdf",
        content=PLAIN_PDF,
    )

    invoice = (await api.call("DepositPdfInvoice", request, parties.user)).invoice

    totals = invoice.totals
    assert (totals.line_total, totals.allowance_total, totals.net_total) == (
        "1000.00",
        "100.00",
        "900.00",
    )
    assert (totals.prepaid_amount, totals.amount_due) == ("300.00", "780.00")
    got = await get(api, (None, parties.user), invoice.id)
    model = from_json(json.loads(got.document_json))
    assert (model.contract_reference, model.delivery.party_name) == (
        "MARCHE-2024-12",
        "Mairie annexe",
    )
    assert model.allowances_charges[0].reason == "Remise globale"
    assert model.lines == ()


async def test_invoices_stored_before_the_model_have_no_document(api, parties, make_request):
    invoice = (await api.call("CreateInvoice", make_request(parties), parties.user)).invoice
    await api.fetch("UPDATE invoices SET document = NULL WHERE id = $1", invoice.id)
    got = await get(api, (None, parties.user), invoice.id)
    assert got.document_json == ""
    assert got.totals.gross_total == invoice.totals.gross_total
    assert got.type_code == "380"
