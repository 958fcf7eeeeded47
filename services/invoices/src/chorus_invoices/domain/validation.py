"""Validation of an invoice as entered on the portal: raw strings in, domain values out.

Every problem is reported at once, as field violations with paths like ``lines[2].vat_rate``;
the error's reason is the first problem's reason. Drafts are validated exactly like deposits:
a draft is a complete invoice the supplier has not sent yet. An invoice deposited as a plain
PDF has no lines: its form states the totals instead (:class:`TotalsForm`), checked for
their arithmetic by :func:`~chorus_invoices.domain.totals.stated_totals`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_invoices.domain.forms import InvoiceForm, LineForm, RecipientRef, TotalsForm
from chorus_invoices.domain.invoice import Framework, InvoiceContent, InvoiceType, Line
from chorus_invoices.domain.totals import VAT_RATES, Totals, VatAmount, stated_totals

MAX_LINES = 1000
MAX_VIOLATIONS = 100
DEFAULT_CURRENCY = "EUR"
DEFAULT_UNIT = "C62"
EARLIEST_ISSUE_DATE = date(2000, 1, 1)
LATEST_ISSUE_DAYS_AHEAD = 365
IDENTIFIER_TYPES = ("SIRET", "UE_HORS_FRANCE", "HORS_UE", "RIDET", "TAHITI", "PARTICULIER", "AUTRE")

_NUMBER = re.compile(r"[A-Za-z0-9_/-]{1,20}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_UNIT = re.compile(r"[A-Z0-9]{1,3}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_QUANTITY = re.compile(r"\d{1,9}(\.\d{1,6})?")
_UNIT_PRICE = re.compile(r"\d{1,12}(\.\d{1,6})?")
_AMOUNT = re.compile(r"\d{1,12}(\.\d{1,6})?")
_RATE = re.compile(r"\d{1,3}(\.\d{1,6})?")
_TEXT_LIMITS = {
    "description": 1000,
    "service_code": 100,
    "engagement_number": 50,
    "payment_terms": 500,
    "comment": 2000,
    "vat_exemption_reason": 1000,
}


@dataclass(frozen=True)
class ValidInvoice:
    supplier_structure_id: str
    recipient: RecipientRef
    content: InvoiceContent


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, FieldViolation]] = []

    def add(self, reason: str, field: str, message: str) -> None:
        if len(self.items) < MAX_VIOLATIONS:
            self.items.append((reason, FieldViolation(field, message)))

    def required(self, field: str, label: str) -> None:
        self.add("FIELD_REQUIRED", field, f"{label} est obligatoire.")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        reason, first = self.items[0]
        message = (
            first.description
            if len(self.items) == 1
            else f"La facture comporte {len(self.items)} erreurs : corrigez les champs signalés."
        )
        raise InvalidArgument(reason, message, [violation for _, violation in self.items])


def validate_invoice(form: InvoiceForm, today: date) -> ValidInvoice:
    """The validated invoice, or InvalidArgument listing every problem found."""
    problems = _Problems()
    supplier = form.supplier_structure_id.strip()
    if not supplier:
        problems.required("supplier_structure_id", "La structure émettrice")
    recipient = _recipient(form.recipient, problems)
    framework = _enum(Framework, form.framework, "framework", "Le cadre de facturation", problems)
    kind = _enum(InvoiceType, form.type, "type", "Le type de facture", problems)
    number = form.number.strip()
    if not _NUMBER.fullmatch(number):
        problems.add(
            "INVOICE_NUMBER_INVALID",
            "number",
            "Le numéro de facture doit faire 1 à 20 caractères parmi lettres, chiffres, _ / -.",
        )
    issue_date = _issue_date(form.issue_date, today, problems)
    currency = (form.currency.strip() or DEFAULT_CURRENCY).upper()
    if not _CURRENCY.fullmatch(currency):
        problems.add(
            "CURRENCY_INVALID", "currency", "La devise doit être un code ISO 4217 (ex. EUR)."
        )
    texts = {
        name: _text(getattr(form, name), name, problems)
        for name in (
            "service_code",
            "engagement_number",
            "payment_terms",
            "comment",
            "vat_exemption_reason",
        )
    }
    preceding = _preceding_invoice(form.preceding_invoice, framework, kind, problems)
    if form.totals is None:
        lines, stated = _lines(form.lines, problems), None
    else:
        if form.lines:
            problems.add(
                "LINES_NOT_ALLOWED",
                "lines",
                "Une facture déposée en PDF n'a pas de lignes : indiquez seulement ses totaux.",
            )
        lines, stated = (), _stated_totals(form.totals, problems)
    content = InvoiceContent(
        framework=framework,
        type=kind,
        number=number,
        issue_date=issue_date,
        currency=currency,
        lines=lines,
        stated_totals=stated,
        preceding_invoice=preceding,
        **texts,
    )
    if _exempt_in_form(form) and not content.vat_exemption_reason:
        problems.add(
            "VAT_EXEMPTION_REASON_REQUIRED",
            "vat_exemption_reason",
            "Une partie de la facture est à 0 % : indiquez le motif d'exonération de TVA"
            " (ex. « TVA non applicable, art. 293 B du CGI »).",
        )
    problems.raise_if_any()
    if not content.has_exempt_amounts:
        content = replace(content, vat_exemption_reason="")
    return ValidInvoice(supplier, recipient, content)


def _exempt_in_form(form: InvoiceForm) -> bool:
    """Whether a line (or a non-zero base of the stated VAT breakdown) is at 0 %, among the
    rates that read."""
    if form.totals is not None:
        rates = [vat.rate for vat in form.totals.vat_breakdown if _nonzero(vat.base)]
    else:
        rates = [line.vat_rate for line in form.lines]
    return any(_vat_rate(rate) == 0 for rate in rates)


def _nonzero(text: str) -> bool:
    try:
        return Decimal(text.strip() or "0") != 0
    except InvalidOperation:
        return True


def _preceding_invoice(
    text: str, framework: Framework | None, kind: InvoiceType | None, problems: _Problems
) -> str:
    """BT-25: required for a credit note, which the "already paid" framework cannot carry."""
    value = text.strip()
    if value and not _NUMBER.fullmatch(value):
        problems.add(
            "PRECEDING_INVOICE_INVALID",
            "preceding_invoice_number",
            "Le numéro de la facture corrigée doit faire 1 à 20 caractères parmi lettres,"
            " chiffres, _ / -.",
        )
    if kind is InvoiceType.AVOIR:
        if not value:
            problems.add(
                "CREDIT_NOTE_REFERENCE_REQUIRED",
                "preceding_invoice_number",
                "Un avoir doit indiquer le numéro de la facture qu'il corrige.",
            )
        if framework is Framework.A2_FACTURE_FOURNISSEUR_DEJA_PAYEE:
            problems.add(
                "FRAMEWORK_TYPE_INCONSISTENT",
                "type",
                "Un avoir ne peut pas être déposé dans le cadre « facture déjà payée » (A2) :"
                " choisissez le cadre de la facture qu'il corrige.",
            )
    return value


def _text(value: str, field: str, problems: _Problems, path: str | None = None) -> str:
    value = value.strip()
    limit = _TEXT_LIMITS[field]
    if len(value) > limit:
        problems.add("FIELD_TOO_LONG", path or field, f"{limit} caractères au plus.")
    return value


def _enum(kind, name: str, field: str, label: str, problems: _Problems):
    if not name:
        problems.required(field, label)
        return None
    try:
        return kind(name)
    except ValueError:
        problems.add(f"{field.upper()}_INVALID", field, f"{label} « {name} » est inconnu.")
        return None


def _recipient(ref: RecipientRef, problems: _Problems) -> RecipientRef:
    ref = RecipientRef(
        ref.structure_id.strip(),
        ref.identifier_type.strip().upper().removeprefix("IDENTIFIER_TYPE_"),
        "".join(ref.identifier.split()),
    )
    if ref.structure_id:
        return RecipientRef(structure_id=ref.structure_id)
    if not ref.identifier_type and not ref.identifier:
        problems.required("recipient", "Le destinataire (identifiant de structure ou SIRET)")
    elif not ref.identifier:
        problems.required("recipient.identifier", "L'identifiant du destinataire")
    elif ref.identifier_type not in IDENTIFIER_TYPES:
        problems.add(
            "IDENTIFIER_TYPE_INVALID",
            "recipient.identifier_type",
            "Type d'identifiant inconnu : " + ", ".join(IDENTIFIER_TYPES) + ".",
        )
    return ref


def _issue_date(text: str, today: date, problems: _Problems) -> date:
    text = text.strip()
    if not text:
        problems.required("issue_date", "La date de facture")
        return today
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        value = date.fromisoformat(text)
    except ValueError:
        problems.add("ISSUE_DATE_INVALID", "issue_date", "Date attendue au format AAAA-MM-JJ.")
        return today
    latest = today + timedelta(days=LATEST_ISSUE_DAYS_AHEAD)
    if not EARLIEST_ISSUE_DATE <= value <= latest:
        problems.add(
            "ISSUE_DATE_INVALID",
            "issue_date",
            f"La date de facture doit être comprise entre le {EARLIEST_ISSUE_DATE:%d/%m/%Y}"
            f" et le {latest:%d/%m/%Y}.",
        )
    return value


def _lines(forms: tuple[LineForm, ...], problems: _Problems) -> tuple[Line, ...]:
    if not forms:
        problems.add("LINES_REQUIRED", "lines", "Ajoutez au moins une ligne à la facture.")
        return ()
    if len(forms) > MAX_LINES:
        problems.add("LINES_TOO_MANY", "lines", f"{MAX_LINES} lignes au plus par facture.")
        return ()
    return tuple(_line(form, f"lines[{i}]", problems) for i, form in enumerate(forms))


def _line(form: LineForm, path: str, problems: _Problems) -> Line:
    description = _text(form.description, "description", problems, f"{path}.description")
    if not description:
        problems.required(f"{path}.description", "Le libellé de la ligne")
    unit = form.unit.strip().upper() or DEFAULT_UNIT
    if not _UNIT.fullmatch(unit):
        problems.add("UNIT_INVALID", f"{path}.unit", "Unité attendue : code UN/ECE (ex. C62, HUR).")
    quantity = _decimal(form.quantity, _QUANTITY)
    if quantity is None or quantity <= 0:
        problems.add(
            "QUANTITY_INVALID",
            f"{path}.quantity",
            "La quantité doit être un nombre positif (6 décimales au plus, ex. 2.5).",
        )
    unit_price = _decimal(form.unit_price, _UNIT_PRICE)
    if unit_price is None:
        problems.add(
            "UNIT_PRICE_INVALID",
            f"{path}.unit_price",
            "Le prix unitaire doit être un nombre positif ou nul (6 décimales au plus).",
        )
    vat_rate = _vat_rate(form.vat_rate)
    if vat_rate is None:
        problems.add(
            "VAT_RATE_INVALID",
            f"{path}.vat_rate",
            "Taux de TVA attendu : 20, 10, 5.5, 2.1 ou 0.",
        )
    return Line(
        description=description,
        quantity=quantity or Decimal(0),
        unit=unit,
        unit_price=unit_price or Decimal(0),
        vat_rate=vat_rate or Decimal(0),
    )


def _stated_totals(form: TotalsForm, problems: _Problems) -> Totals | None:
    """The stated totals once each amount reads as a number, checked by stated_totals (its
    violations reported as TOTALS_INCONSISTENT); None when something is missing or wrong."""
    before = len(problems.items)
    net, vat, gross = (
        _amount(getattr(form, name), name, label, problems)
        for name, label in (
            ("net_total", "Le total HT"),
            ("vat_total", "Le total de TVA"),
            ("gross_total", "Le total TTC"),
        )
    )
    if not form.vat_breakdown:
        problems.required("vat_breakdown", "La ventilation de la TVA par taux")
    breakdown = []
    for i, vat_form in enumerate(form.vat_breakdown):
        path = f"vat_breakdown[{i}]"
        rate = _decimal(vat_form.rate, _RATE)
        if rate is None:
            problems.add(
                "VAT_RATE_INVALID", f"{path}.rate", "Taux de TVA attendu : 20, 10, 5.5, 2.1 ou 0."
            )
        base = _amount(vat_form.base, f"{path}.base", "La base HT", problems)
        amount = _amount(vat_form.amount, f"{path}.amount", "Le montant de TVA", problems)
        breakdown.append(VatAmount(rate or Decimal(0), base or Decimal(0), amount or Decimal(0)))
    if len(problems.items) > before or net is None or vat is None or gross is None:
        return None
    try:
        return stated_totals(net, vat, gross, breakdown)
    except InvalidArgument as error:
        for violation in error.violations:
            problems.add(error.reason, violation.field, violation.description)
        return None


def _amount(text: str, field: str, label: str, problems: _Problems) -> Decimal | None:
    if not text.strip():
        problems.required(field, label)
        return None
    value = _decimal(text, _AMOUNT)
    if value is None:
        problems.add(
            "AMOUNT_INVALID",
            field,
            f"{label} doit être un montant positif ou nul, au centime (ex. 1200.00).",
        )
    return value


def _decimal(text: str, pattern: re.Pattern[str]) -> Decimal | None:
    text = text.strip()
    return Decimal(text) if pattern.fullmatch(text) else None


def _vat_rate(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().removesuffix("%"))
    except InvalidOperation:
        return None
    return next((rate for rate in VAT_RATES if value.is_finite() and value == rate), None)
