"""The pure rules of flows (domain/flows.py): the call's checks, formats, numbers, states and
how a refusal becomes report entries with rule ids and XPaths."""

from __future__ import annotations

import pytest
from chorus_invoices.domain.flows import (
    SYNTAXES,
    FlowError,
    FlowItem,
    FlowNotFound,
    FlowState,
    Format,
    check_deposit,
    errors_of,
    final_state,
    flow_number,
    mislabel_note,
    parse_flow_number,
    sniff,
    xpath_of,
)
from chorus_platform.errors import FieldViolation, InvalidArgument


def test_the_thirteen_syntaxes_of_the_swagger():
    assert len(SYNTAXES) == 13
    assert {"IN_DP_E2_CII_FACTURX", "IN_DP_E1_UBL_INVOICE", "IN_DP_E1_CII_16B"} <= set(SYNTAXES)


def test_numbers_are_cpp_and_22_digits():
    assert flow_number(42) == "CPP0000000000000000000042"
    assert parse_flow_number(" cpp0000000000000000000042 ") == "CPP0000000000000000000042"
    for bad in (
        "",
        "CPP42",
        "XYZ0000000000000000000042",
        "CPP000000000000000000004²",
        "CPP" + "1" * 23,
    ):
        with pytest.raises(FlowNotFound):
            parse_flow_number(bad)


def test_check_deposit_names_every_problem():
    check_deposit("s", "IN_DP_E1_CII", b"<x/>")
    with pytest.raises(InvalidArgument) as raised:
        check_deposit(" ", "NOPE", b"")
    assert raised.value.reason == "FIELD_REQUIRED"
    assert [v.field for v in raised.value.violations] == [
        "supplier_structure_id",
        "syntax",
        "content",
    ]
    assert "IN_DP_E2_CII_FACTURX" in raised.value.violations[1].description


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"PK\x03\x04...", Format.ZIP),
        (b"\x1f\x8b\x08...", Format.TAR_GZ),
        (b"junk%PDF-1.7", Format.PDF),
        (
            b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>',
            Format.UBL_INVOICE,
        ),
        (
            b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>',
            Format.UBL_CREDIT_NOTE,
        ),
        (
            b'<r:CrossIndustryInvoice xmlns:r="urn:un:unece:uncefact:data:standard:'
            b'CrossIndustryInvoice:100"/>',
            Format.CII,
        ),
        (b"<PES_Facture/>", Format.OTHER),
    ],
)
def test_sniff(content, found):
    assert sniff(content) is found


def test_notes_say_what_was_mislabelled_once_per_format():
    assert mislabel_note("IN_DP_E1_UBL_INVOICE", [Format.UBL_INVOICE, Format.UBL_CREDIT_NOTE]) == ()
    notes = mislabel_note(
        "IN_DP_E2_CII_FACTURX", [Format.UBL_INVOICE, Format.CII, Format.UBL_INVOICE]
    )
    assert len(notes) == 2
    assert "UBL 2.1" in notes[0] and "UN/CEFACT CII" in notes[1]
    assert mislabel_note("IN_DP_E1_CII", [Format.OTHER]) == ()


def test_final_states():
    ok = FlowItem(0, "a", invoice_id="i")
    refused = FlowItem(1, "b", errors=(FlowError("R", "/", "m", "R"),))
    assert final_state([ok, ok]) is FlowState.IN_INTEGRE
    assert final_state([ok, refused]) is FlowState.IN_INTEGRE_PARTIEL
    assert final_state([refused]) is FlowState.IN_REJETE
    assert final_state([]) is FlowState.IN_REJETE
    assert final_state([], [FlowError("ARCHIVE_EMPTY", "/", "m", "ARCHIVE_EMPTY")]) is (
        FlowState.IN_REJETE
    )


def test_schematron_findings_keep_their_rule_and_location():
    error = InvalidArgument(
        "EN16931_RULES_FAILED",
        "La facture ne respecte pas la norme EN 16931 : 1 règle(s) en échec (BR-CO-10).",
        [FieldViolation("/Invoice[1]/cac:LegalMonetaryTotal[1]", "[BR-CO-10] Sum of lines")],
    )
    assert errors_of(error, Format.UBL_INVOICE) == (
        FlowError(
            "BR-CO-10",
            "/Invoice[1]/cac:LegalMonetaryTotal[1]",
            "Sum of lines",
            "EN16931_RULES_FAILED",
        ),
    )


def test_header_totals_and_chorus_checks_get_the_xpath_of_their_element():
    arithmetic = InvalidArgument(
        "EN16931_RULES_FAILED", "…", [FieldViolation("BR-CO-15", "TTC = HT + TVA")]
    )
    assert errors_of(arithmetic, Format.CII) == (
        FlowError(
            "BR-CO-15",
            "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
            "/ram:ApplicableHeaderTradeSettlement"
            "/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount",
            "TTC = HT + TVA",
            "EN16931_RULES_FAILED",
        ),
    )
    unknown_service = InvalidArgument(
        "SERVICE_CODE_UNKNOWN",
        "Le service « X » n'existe pas chez ce destinataire.",
        [FieldViolation("service_code", "Service inconnu.")],
    )
    [entry] = errors_of(unknown_service, Format.UBL_CREDIT_NOTE)
    assert (entry.rule, entry.xpath) == ("SERVICE_CODE_UNKNOWN", "/CreditNote/cbc:BuyerReference")
    assert entry.message == unknown_service.message
    whole = InvalidArgument("XML_MALFORMED", "Le fichier n'est pas un XML bien formé.")
    assert errors_of(whole) == (
        FlowError("XML_MALFORMED", "/", "Le fichier n'est pas un XML bien formé.", "XML_MALFORMED"),
    )


def test_xpaths_by_format():
    assert xpath_of("type", Format.UBL_INVOICE) == "/Invoice/cbc:InvoiceTypeCode"
    assert xpath_of("type", Format.UBL_CREDIT_NOTE) == "/CreditNote/cbc:CreditNoteTypeCode"
    assert (
        xpath_of("number", Format.PDF) == "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID"
    )
    assert xpath_of("/Invoice[1]/cbc:ID[1]", Format.OTHER) == "/Invoice[1]/cbc:ID[1]"
    assert xpath_of("file", Format.UBL_INVOICE) == "/"
    assert xpath_of("number", Format.OTHER) == "/"
