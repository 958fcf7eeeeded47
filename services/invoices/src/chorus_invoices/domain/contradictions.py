"""A form sent with a Factur-X PDF against what the PDF's XML says (pure rules, no I/O).

A PDF carrying Factur-X XML is deposited from its XML: the form (header data, totals) is
optional then, and every field it does give must say the same as the document, else the
deposit is refused (``FORM_CONTRADICTS_DOCUMENT``, one violation per contradicting field).
Fields the form leaves empty are not compared; the recipient given by its structure id is
resolved by the use case, which passes its SIRET here to be compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_invoices.domain.forms import InvoiceForm, RecipientRef, VatForm
from chorus_invoices.domain.invoice import InvoiceContent
from chorus_invoices.domain.totals import Totals, format_decimal, format_rate

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
    vat_breakdown: tuple[VatForm, ...] = ()


def form_of(content: InvoiceContent, recipient_siret: str) -> InvoiceForm:
    """The fields of a document's content a form is compared with (the recipient by SIRET)."""
    return InvoiceForm(
        recipient=RecipientRef(identifier_type="SIRET", identifier=recipient_siret),
        service_code=content.service_code,
        engagement_number=content.engagement_number,
        framework=content.framework.value,
        type=content.type.value,
        number=content.number,
        issue_date=content.issue_date.isoformat(),
        currency=content.currency,
        payment_terms=content.payment_terms,
        comment=content.comment,
    )


def check_form_matches_document(
    form: InvoiceForm,
    document: InvoiceForm,
    document_totals: Totals,
    amounts: StatedAmounts = StatedAmounts(),
    recipient_siret: str = "",
) -> None:
    """InvalidArgument FORM_CONTRADICTS_DOCUMENT naming each field of ``form`` (given, not
    empty) that differs from ``document`` — the form the PDF's XML amounts to.
    ``recipient_siret``: that of the structure the form names by id (``"-"`` when it names
    one that does not exist), compared with the document's buyer as ``recipient_structure_id``.
    """
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
    if recipient_siret and recipient_siret != document.recipient.identifier:
        differs(
            "recipient_structure_id",
            recipient_siret,
            document.recipient.identifier,
            "un destinataire de SIRET",
        )
    for field, found in (
        ("net_total", document_totals.net_total),
        ("vat_total", document_totals.vat_total),
        ("gross_total", document_totals.gross_total),
    ):
        stated = getattr(amounts, field).strip()
        if stated and _decimal(stated) != found:
            differs(field, stated, format_decimal(found), "le montant")
    if amounts.vat_breakdown:
        stated_vat = {
            (_rate(v.rate), _decimal(v.base), _decimal(v.amount)) for v in amounts.vat_breakdown
        }
        found_vat = {(v.rate.normalize(), v.base, v.amount) for v in document_totals.vat_breakdown}
        if stated_vat != found_vat:
            differs(
                "vat_breakdown",
                _breakdown(amounts.vat_breakdown),
                "; ".join(
                    f"{format_rate(v.rate)} % : {format_decimal(v.base)} / "
                    f"{format_decimal(v.amount)}"
                    for v in document_totals.vat_breakdown
                ),
                "la ventilation de TVA",
            )
    if violations:
        raise InvalidArgument(
            REASON,
            "Le formulaire contredit la facture Factur-X jointe : les données de la facture"
            " font foi, corrigez ou retirez les champs signalés.",
            violations,
        )


def _breakdown(stated: tuple[VatForm, ...]) -> str:
    return "; ".join(f"{v.rate.strip()} % : {v.base.strip()} / {v.amount.strip()}" for v in stated)


def _date(value: str) -> date | str:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return value.strip()


def _decimal(value: str) -> Decimal | str:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return value
    return number if number.is_finite() else value


def _rate(value: str) -> Decimal | str:
    rate = _decimal(value)
    return rate.normalize() if isinstance(rate, Decimal) else rate
