"""Milliseconds per Factur-X render of the bench's portal invoice (three lines at 20 / 10 /
5.5 %), in one process as a document worker runs it: ``make_facturx_model`` N times after a
warm-up, and the CII XML alone (what a deposit writes on the request path).

Run: ``.venv/bin/python tests/bench/facturx_render_bench.py [N]`` (not a pytest test: no
timing is asserted; the figures go in commit messages and the README)."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from datetime import date

from chorus_invoices.documents.cii_writer import write_model
from chorus_invoices.documents.content import buyer_of, seller_of
from chorus_invoices.documents.facturx import make_facturx_model
from chorus_invoices.domain.forms import InvoiceForm, LineForm, RecipientRef
from chorus_invoices.domain.routing import Recipient
from chorus_invoices.domain.validation import validate_invoice

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
    started = time.perf_counter()
    for _ in range(count):
        fn(model)
    return (time.perf_counter() - started) * 1000 / count


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    model = bench_model()
    make_facturx_model(model)  # warm-up: imports, XSD compiled, fonts loaded
    print(f"make_facturx_model: {per_call_ms(make_facturx_model, model, count):.2f} ms/render")
    print(f"write_model (CII XML): {per_call_ms(write_model, model, count * 5):.3f} ms/call")


if __name__ == "__main__":
    main()
