"""Milliseconds per Factur-X render of the bench's portal invoice (three lines at 20 / 10 /
5.5 %), in one process as a document worker runs it: ``make_facturx_model`` N times after a
warm-up, with the fonts parsed once and subset once per glyph set (``documents/pdf_fonts``)
and, alternately in the same minute, with fpdf's own font handling (each font parsed and
subset for every PDF); and the CII XML alone (what a deposit writes on the request path).

Run: ``.venv/bin/python tests/bench/facturx_render_bench.py [N]`` (not a pytest test: no
timing is asserted; the figures go in commit messages and the README)."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import date

from chorus_invoices.documents import pdf_rendering
from chorus_invoices.documents.cii_writer import write_model
from chorus_invoices.documents.content import buyer_of, seller_of
from chorus_invoices.documents.facturx import make_facturx_model
from chorus_invoices.domain.forms import InvoiceForm, LineForm, RecipientRef
from chorus_invoices.domain.routing import Recipient
from chorus_invoices.domain.validation import validate_invoice
from fpdf.output import OutputProducer

SUPPLIER = Recipient(
    "s-1",
    "Atelier Dupont SARL",
    public=False,
    active=True,
    identifier_type="SIRET",
    identifier="33738480410006",
    address=("12 avenue des Tilleuls", "", "69003", "Lyon", "FR"),
)
RECIPIENT = Recipient(
    "r-1",
    "Commune de Valmont-sur-Loire",
    public=True,
    active=True,
    identifier_type="SIRET",
    identifier="26197306910005",
    address=("1 place de la Mairie", "", "45000", "Valmont-sur-Loire", "FR"),
)


def bench_model():
    """The bench's portal invoice (tests/bench/test_invoice_deposit_bench.py) as a model."""
    form = InvoiceForm(
        supplier_structure_id="s-1",
        recipient=RecipientRef(structure_id="r-1"),
        framework="A1_FACTURE_FOURNISSEUR",
        type="FACTURE",
        number="BENCH-000001",
        issue_date=date.today().isoformat(),
        lines=(
            LineForm("Ramettes de papier recyclé A4", "12", "C62", "4.35", "20"),
            LineForm("Reliure de rapports", "3", "C62", "12.90", "10"),
            LineForm("Brochures d'information", "40", "C62", "0.45", "5.5"),
        ),
    )
    valid = validate_invoice(form, today=date.today())
    return replace(valid.content.document, seller=seller_of(SUPPLIER), buyer=buyer_of(RECIPIENT))


def per_call_ms(fn, model, count: int) -> float:
    """CPU milliseconds per call (process time: other processes loading the machine count
    less than in wall time)."""
    started = time.process_time()
    for _ in range(count):
        fn(model)
    return (time.process_time() - started) * 1000 / count


SHARED_FONTS = (pdf_rendering.add_shared_font, pdf_rendering.SubsetCachingProducer)
FPDF_FONTS = (
    lambda pdf, family, style, path: pdf.add_font(family, style, path),
    OutputProducer,
)


def fonts(handling) -> None:
    pdf_rendering.add_shared_font, pdf_rendering.SubsetCachingProducer = handling


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    model = bench_model()
    for handling in (FPDF_FONTS, SHARED_FONTS):  # warm-up: imports, XSD, fonts
        fonts(handling)
        make_facturx_model(model)
    for round_ in range(3):
        fonts(FPDF_FONTS)
        before = per_call_ms(make_facturx_model, model, count // 3)
        fonts(SHARED_FONTS)
        after = per_call_ms(make_facturx_model, model, count // 3)
        print(
            f"round {round_ + 1}: make_facturx_model {before:.1f} ms/render with fpdf's fonts,"
            f" {after:.1f} ms with shared fonts and cached subsets"
        )
    print(f"write_model (CII XML): {per_call_ms(write_model, model, count * 5):.3f} ms/call")


if __name__ == "__main__":
    main()
