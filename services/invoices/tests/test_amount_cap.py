"""The amount cap (12 integer digits) on every channel of the invoices service: portal-style
entry (CreateInvoice, the same RPC REST and the portal call), the PDF deposit's stated totals,
and structured files; each refusal is AMOUNT_TOO_LARGE naming the amount, nothing stored."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as spb
from chorus_invoices.domain import amounts
from chorus_invoices.domain.forms import InvoiceForm, LineForm, RecipientRef
from chorus_invoices.domain.validation import validate_invoice
from chorus_platform.errors import InvalidArgument

CORPUS = Path(__file__).resolve().parent / "corpus"
PLAIN_PDF = (CORPUS / "invalid/plain-no-xml.pdf").read_bytes()
UBL_SELLER, UBL_BUYER = "33738480410006", "26197306910005"
TABLES = ("invoices", "invoice_lines", "invoice_vat_breakdown", "invoice_history", "outbox")
TODAY = date(2025, 3, 20)


async def assert_nothing_stored(api) -> None:
    for table in (*TABLES, "documents"):
        assert await api.count(table) == 0, table


def line(quantity="1", unit_price="100", vat_rate="20"):
    return pb.InvoiceLine(
        description="Prestation", quantity=quantity, unit_price=unit_price, vat_rate=vat_rate
    )


def entered(quantity: str, unit_price: str) -> LineForm:
    return LineForm(description="Ouvrage", quantity=quantity, unit_price=unit_price, vat_rate="20")


def form(*lines: LineForm) -> InvoiceForm:
    return InvoiceForm(
        supplier_structure_id="s",
        recipient=RecipientRef(identifier_type="SIRET", identifier="21750001600019"),
        framework="A1_FACTURE_FOURNISSEUR",
        type="FACTURE",
        number="F-1",
        issue_date="2025-03-14",
        lines=lines,
    )


# --- domain ------------------------------------------------------------------------------


def test_the_largest_amount_below_the_cap_is_accepted():
    valid = validate_invoice(form(entered("1", "833333333333.32")), TODAY)
    assert str(valid.content.document.totals.tax_inclusive) == "999999999999.98"


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        # 1 200 000 × 999 999 999 999: a line of 1.2 × 10^18.
        ((entered("1200000", "999999999999"),), "lines[0].unit_price"),
        # a unit price of 13 digits
        ((entered("1", "1200000000000000000"),), "lines[0].unit_price"),
        # each line below the cap, their sum above it
        (
            (
                entered("1", "600000000000"),
                entered("1", "600000000000"),
            ),
            "totals.line_total",
        ),
        # the net below the cap, the VAT bringing the gross above it
        ((entered("1", "900000000000"),), "totals.gross_total"),
    ],
)
def test_amounts_beyond_twelve_digits_are_refused_naming_the_field(lines, field):
    with pytest.raises(InvalidArgument) as refused:
        validate_invoice(form(*lines), TODAY)
    assert refused.value.reason == "AMOUNT_TOO_LARGE"
    assert field in [v.field for v in refused.value.violations]
    assert "999 999 999 999,99 €" in str(refused.value.message)


def test_text_too_large_counts_integer_digits_only():
    assert not amounts.text_too_large("999999999999.999999")
    assert not amounts.text_too_large("000000000000001")
    assert amounts.text_too_large("1000000000000")
    assert not amounts.text_too_large("abc")


# --- gRPC CreateInvoice (portal entry, REST) ---------------------------------------------


async def test_create_invoice_refuses_1_2e18_and_stores_nothing(api, parties, make_request):
    request = make_request(parties, lines=[line("1200000", "999999999999")])

    error = await api.fails("CreateInvoice", request, parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "AMOUNT_TOO_LARGE")
    assert [v.field for v in error.violations] == ["lines[0].unit_price"]
    assert "quantité × prix unitaire" in error.message
    await assert_nothing_stored(api)


async def test_a_draft_beyond_the_cap_is_refused_too(api, parties, make_request):
    request = make_request(parties, lines=[line("1", "1200000000000000000")], draft=True)

    error = await api.fails("CreateInvoice", request, parties.user)

    assert error.reason == "AMOUNT_TOO_LARGE"
    assert "Le prix unitaire dépasse le plafond" in error.message
    await assert_nothing_stored(api)


# --- PDF deposit (stated totals) ---------------------------------------------------------


async def test_pdf_deposit_with_stated_totals_beyond_the_cap_is_refused(api, parties):
    big = "1200000000000000000.00"
    request = pb.DepositPdfInvoiceRequest(
        header=pb.CreateInvoiceRequest(
            supplier_structure_id=parties.supplier.id,
            recipient=pb.RecipientRef(structure_id=parties.recipient.id),
            framework=pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
            type=pb.INVOICE_TYPE_FACTURE,
            number=f"P-{uuid.uuid4().hex[:8]}",
            issue_date="2025-03-14",
            currency="EUR",
        ),
        totals=pb.Totals(
            net_total=big,
            vat_total="0.00",
            gross_total=big,
            vat_breakdown=[pb.VatBreakdown(rate="0", base=big, amount="0.00")],
        ),
        filename="facture.pdf",
        content=PLAIN_PDF,
    )

    error = await api.fails("DepositPdfInvoice", request, parties.user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "AMOUNT_TOO_LARGE")
    fields = {v.field for v in error.violations}
    assert {"net_total", "gross_total", "vat_breakdown[0].base"} <= fields
    assert "Le total HT dépasse le plafond" in error.violations[0].description
    await assert_nothing_stored(api)


# --- structured files --------------------------------------------------------------------

_SCALE = {
    # every amount and quantity of the corpus UBL invoice × 10^11 (13 to 14 integer digits,
    # within what the reading accepts), the VAT of the 5.5 % rate recomputed exactly.
    'unitCode="HUR">6<': 'unitCode="HUR">600000000000<',
    'unitCode="C62">2<': 'unitCode="C62">200000000000<',
    'unitCode="C62">4<': 'unitCode="C62">400000000000<',
    ">390.00<": ">39000000000000.00<",
    ">297.00<": ">29700000000000.00<",
    ">49.40<": ">4940000000000.00<",
    ">687.00<": ">68700000000000.00<",
    ">137.40<": ">13740000000000.00<",
    ">2.72<": ">271700000000.00<",
    ">140.12<": ">14011700000000.00<",
    ">736.40<": ">73640000000000.00<",
    ">876.52<": ">87651700000000.00<",
}


def huge_ubl() -> bytes:
    text = (CORPUS / "valid/ubl-invoice.xml").read_text(encoding="utf-8")
    for old, new in _SCALE.items():
        assert old in text, old
        text = text.replace(old, new)
    return text.encode()


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda xml: xml, "totals.gross_total"),
        # 1.2 × 10^18: beyond even what the reading accepts, named where it is
        (
            lambda xml: xml.replace(
                b">87651700000000.00</cbc:PayableAmount>",
                b">1200000000000000000.00</cbc:PayableAmount>",
            ),
            "/cac:LegalMonetaryTotal[1]/cbc:PayableAmount",
        ),
    ],
)
async def test_structured_file_beyond_the_cap_is_refused(api, fake_structures, edit, field):
    supplier = fake_structures.add("Atelier Dupont SARL", public=False)
    supplier.identifier_type = spb.IDENTIFIER_TYPE_SIRET
    supplier.identifier = UBL_SELLER
    buyer = fake_structures.add("Commune de Valmont", services=(("SERV-TECH", True, False),))
    buyer.identifier_type = spb.IDENTIFIER_TYPE_SIRET
    buyer.identifier = UBL_BUYER
    user = str(uuid.uuid4())
    fake_structures.grant(user, supplier.id, "FACTURES_EMISES", "MODIFICATION")
    request = pb.DepositStructuredInvoiceRequest(
        supplier_structure_id=supplier.id, filename="grosse.xml", content=edit(huge_ubl())
    )

    error = await api.fails("DepositStructuredInvoice", request, user)

    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "AMOUNT_TOO_LARGE")
    assert any(v.field.endswith(field) for v in error.violations), error.violations
    assert "999 999 999 999,99" in error.message
    await assert_nothing_stored(api)
