"""A form sent with a Factur-X PDF against the document's data (domain/contradictions.py)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from chorus_invoices.domain.contradictions import StatedAmounts, check_form_matches_document
from chorus_invoices.domain.forms import InvoiceForm, RecipientRef
from chorus_invoices.domain.totals import Totals
from chorus_platform.errors import InvalidArgument

DOCUMENT = InvoiceForm(
    recipient=RecipientRef(identifier_type="SIRET", identifier="11000201100010"),
    framework="A1_FACTURE_FOURNISSEUR",
    type="FACTURE",
    number="FX-2026-001",
    issue_date="2026-11-02",
    currency="EUR",
)
TOTALS = Totals(D("100.00"), D("20.00"), D("120.00"), D("120.00"), ())


def test_an_empty_or_agreeing_form_passes():
    check_form_matches_document(InvoiceForm(), DOCUMENT, TOTALS)
    agreeing = InvoiceForm(
        recipient=RecipientRef(identifier_type="SIRET", identifier="110 002 011 00010"),
        number=" FX-2026-001 ",
        issue_date="2026-11-02",
        currency="eur",
    )
    check_form_matches_document(agreeing, DOCUMENT, TOTALS, StatedAmounts(gross_total="120.0"))


def test_each_contradicting_field_is_named():
    form = InvoiceForm(
        recipient=RecipientRef(identifier_type="SIRET", identifier="11000201100028"),
        number="FX-2026-002",
        issue_date="2026-11-03",
        currency="USD",
    )
    with pytest.raises(InvalidArgument) as raised:
        check_form_matches_document(form, DOCUMENT, TOTALS, StatedAmounts(net_total="99.99"))
    assert raised.value.reason == "FORM_CONTRADICTS_DOCUMENT"
    assert [v.field for v in raised.value.violations] == [
        "number",
        "currency",
        "issue_date",
        "recipient.identifier",
        "net_total",
    ]
    assert "FX-2026-002" in raised.value.violations[0].description
