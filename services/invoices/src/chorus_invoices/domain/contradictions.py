"""A form sent with a Factur-X PDF against what the PDF's XML says (pure rules, no I/O).

A PDF carrying Factur-X XML is deposited from its XML: the form (header data, totals) is
optional then, and every field it does give must say the same as the document, else the
deposit is refused (``FORM_CONTRADICTS_DOCUMENT``, one violation per contradicting field).
Fields the form leaves empty are not compared; the recipient given by its structure id is
resolved (and compared) by the use case, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_invoices.domain.totals import Totals, format_decimal
from chorus_invoices.domain.validation import InvoiceForm

REASON = "FORM_CONTRADICTS_DOCUMENT"

_TEXT_FIELDS = (
    ("number", "le numéro"),
    ("service_code", "le code service"),
    ("engagement_number", "le numéro d'engagement"),
    ("framework", "le cadre de facturation"),
    ("type", "le type de facture"),
    ("payment_terms", "les conditions de paiement"),
)


@dataclass(frozen=True)
class StatedAmounts:
    """Totals as typed in the form ("" when not given)."""

    net_total: str = ""
    vat_total: str = ""
    gross_total: str = ""


def check_form_matches_document(
    form: InvoiceForm,
    document: InvoiceForm,
    document_totals: Totals,
    amounts: StatedAmounts = StatedAmounts(),
) -> None:
    """InvalidArgument FORM_CONTRADICTS_DOCUMENT naming each field of ``form`` (given, not
    empty) that differs from ``document`` — the form the PDF's XML amounts to."""
    violations: list[FieldViolation] = []

    def differs(field: str, stated: str, found: str, what: str) -> None:
        violations.append(
            FieldViolation(
                field,
                f"Le formulaire indique {what} « {stated} », la facture Factur-X « {found} ».",
            )
        )

    for field, what in _TEXT_FIELDS:
        stated, found = getattr(form, field).strip(), getattr(document, field).strip()
        if stated and stated != found:
            differs(field, stated, found, what)
    if form.currency.strip() and form.currency.strip().upper() != document.currency.upper():
        differs("currency", form.currency.strip(), document.currency, "la devise")
    if form.issue_date.strip() and _date(form.issue_date) != _date(document.issue_date):
        differs("issue_date", form.issue_date.strip(), document.issue_date, "la date")
    stated_recipient = form.recipient.identifier.replace(" ", "")
    if stated_recipient and stated_recipient != document.recipient.identifier:
        differs(
            "recipient.identifier",
            stated_recipient,
            document.recipient.identifier,
            "le destinataire",
        )
    for field, found in (
        ("net_total", document_totals.net_total),
        ("vat_total", document_totals.vat_total),
        ("gross_total", document_totals.gross_total),
    ):
        stated = getattr(amounts, field).strip()
        if stated and _decimal(stated) != found:
            differs(field, stated, format_decimal(found), "le montant")
    if violations:
        raise InvalidArgument(
            REASON,
            "Le formulaire contredit la facture Factur-X jointe : les données de la facture"
            " font foi, corrigez ou retirez les champs signalés.",
            violations,
        )


def _date(value: str) -> date | str:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return value.strip()


def _decimal(value: str) -> Decimal | str:
    try:
        return Decimal(value)
    except InvalidOperation:
        return value
