"""Validation of an invoice: as entered on the portal (raw strings in, domain values and its
EN 16931 model out, :func:`validate_invoice`), or as a deposited file states it (the model
read from the file, :func:`validate_model`).

Portal entry: every problem is reported at once, as field violations with paths like
``lines[2].vat_rate``; the error's reason is the first problem's reason. Drafts are validated
exactly like deposits: a draft is a complete invoice the supplier has not sent yet. The model
is built from the form with the totals computed the EN 16931 way
(:func:`~chorus_invoices.domain.totals.compute_document_totals`); its seller and buyer are
filled from the directory at deposit. An invoice deposited as a plain PDF has no lines: its
form states the totals instead (:class:`TotalsForm`), checked for their arithmetic by
:func:`~chorus_invoices.domain.totals.stated_totals`.

Files: the official schematron decides validity; Chorus keeps only what Chorus Pro itself
enforces — the buyer named by SIRET (scheme ``0009``, BT-47, else BT-46 or BT-49), the
invoice number (1–20 letters, digits, ``_ / -``), the framework (BT-23), the issue date, the
lengths of the routing fields — and the header arithmetic of the norm (BR-CO-10…17) as a
backstop. Line-level recomputation differences are warnings (``CHORUS-LINE-NET``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from chorus_platform.errors import FieldViolation, InvalidArgument
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban

from chorus_invoices.domain import amounts, en16931
from chorus_invoices.domain.forms import (
    AddressForm,
    AllowanceChargeForm,
    DeliveryForm,
    InvoiceForm,
    LineAllowanceChargeForm,
    LineForm,
    PaymentForm,
    RecipientRef,
    TotalsForm,
)
from chorus_invoices.domain.invoice import (
    FRAMEWORK_CODES,
    TYPE_CODES,
    Framework,
    InvoiceContent,
    InvoiceType,
    Line,
    framework_name,
    invoice_type_of,
    lines_of,
)
from chorus_invoices.domain.rule_violations import RuleViolation
from chorus_invoices.domain.totals import (
    VAT_RATE_MESSAGE,
    ZERO,
    Totals,
    VatAmount,
    compute_document_totals,
    default_category,
    format_decimal,
    format_rate,
    header_rule_violations,
    is_vat_rate,
    line_net,
    line_net_warnings,
    round_amount,
    stated_totals,
)

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
_CENTS = re.compile(r"\d{1,12}(\.\d{1,2})?")
_PERCENTAGE = re.compile(r"\d{1,3}(\.\d{1,2})?")
_VATEX = re.compile(r"VATEX-[A-Z0-9]+(-[A-Z0-9]+)*")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CHARGE_CODE = re.compile(r"[A-Z]{1,3}")
SIRET_SCHEME = "0009"
"""ISO 6523 ICD of the French SIRET, as the French CIUS writes it in schemeID."""
PORTAL_CATEGORIES = ("S", "Z", "E")
"""VAT categories the portal offers: standard (above 0 %), zero-rated and exempt (at 0 %)."""
ALLOWANCE_REASON_CODES = frozenset(
    [
        "41",
        "42",
        "60",
        "62",
        "63",
        "64",
        "65",
        "66",
        "67",
        "68",
        "70",
        "71",
        "88",
        "95",
        "100",
        "102",
        "103",
        "104",
        "105",
    ]
)
"""UNTDID 5189, the allowance reason codes EN 16931 allows (BR-CL-19)."""
PAYMENT_MEANS_CODES = frozenset(
    ["1", "10", "20", "30", "31", "42", "48", "49", "54", "55", "57", "58", "59", "68", "97", "ZZZ"]
)
"""UNTDID 4461 codes offered at entry: 30 credit transfer, 58 SEPA credit transfer, 49/59
direct debit, 48/54/55 card, 10 cash, 20 cheque, 1 not defined…"""
CREDIT_TRANSFER_CODES = frozenset({"30", "58"})
DEFAULT_PAYMENT_TERMS = "Paiement dans le délai légal de la commande publique."
"""BR-CO-25: an invoice with an amount due states a due date or payment terms."""
_TEXT_LIMITS = {
    "description": 1000,
    "service_code": 100,
    "engagement_number": 50,
    "payment_terms": 500,
    "comment": 2000,
    "vat_exemption_reason": 1000,
    "contract_reference": 100,
    "reason": 200,
    "party_name": 200,
    "address": 200,
    "account_name": 200,
    "remittance_information": 140,
}


@dataclass(frozen=True)
class ValidInvoice:
    supplier_structure_id: str
    recipient: RecipientRef
    content: InvoiceContent
    warnings: tuple[RuleViolation, ...] = ()
    """Kept with the invoice (a file's line-level differences, ``CHORUS-LINE-NET``)."""


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
    """The validated invoice with its EN 16931 model (seller and buyer left empty, filled at
    deposit), or InvalidArgument listing every problem found."""
    problems = _Problems()
    supplier = form.supplier_structure_id.strip()
    if not supplier:
        problems.required("supplier_structure_id", "La structure émettrice")
    recipient = _recipient(form.recipient, problems)
    framework = _enum(Framework, form.framework, "framework", "Le cadre de facturation", problems)
    kind = _enum(InvoiceType, form.type, "type", "Le type de facture", problems)
    number = _number(form.number, problems)
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
    contract = _text(form.contract_reference, "contract_reference", problems)
    exemption_code = _exemption_code(form.vat_exemption_reason_code, problems)
    preceding = _preceding_invoice(form.preceding_invoice, framework, kind, problems)
    due_date = _optional_date(form.due_date, "due_date", "DUE_DATE_INVALID", problems)
    if due_date is not None and due_date < issue_date:
        problems.add(
            "DUE_DATE_INVALID",
            "due_date",
            "La date d'échéance ne peut pas précéder la date de la facture.",
        )
    period = _period(form, problems)
    delivery = _delivery(form.delivery, problems)
    payment = _payment(form.payment, problems)
    prepaid = _optional_amount(form.prepaid_amount, "prepaid_amount", "L'acompte", problems)
    if form.totals is None:
        entered = _entered_lines(form.lines, problems)
        line_keys = {(line.vat_category, line.vat_rate.normalize()) for line in entered}
        line_total = sum((line.net_amount for line in entered), ZERO)
        adjustments = _allowances_charges(form.allowances_charges, line_total, line_keys, problems)
        stated = None
    else:
        if form.lines:
            problems.add(
                "LINES_NOT_ALLOWED",
                "lines",
                "Une facture déposée en PDF n'a pas de lignes : indiquez seulement ses totaux.",
            )
        entered = ()
        stated_keys = {
            (
                _category_of(v.category, _decimal(v.rate, _RATE) or ZERO),
                (_decimal(v.rate, _RATE) or ZERO).normalize(),
            )
            for v in form.totals.vat_breakdown
        }
        adjustments = _allowances_charges(form.allowances_charges, None, stated_keys, problems)
        stated = _stated_totals(form.totals, adjustments, prepaid, problems)
    categories = {line.vat_category for line in entered} | {a.vat_category for a in adjustments}
    if stated is not None:
        categories |= {v.category_code for v in stated.vat_breakdown if v.base != 0}
    exempt = "E" in categories
    reason = texts["vat_exemption_reason"]
    if exempt and not (reason or exemption_code):
        problems.add(
            "VAT_EXEMPTION_REASON_REQUIRED",
            "vat_exemption_reason",
            "Une partie de la facture est exonérée de TVA (catégorie E) : indiquez le motif"
            " d'exonération ou son code VATEX (ex. « TVA non applicable, art. 293 B du CGI »,"
            " VATEX-FR-FRANCHISE).",
        )
    if not exempt:
        texts["vat_exemption_reason"], exemption_code = "", ""
    computed = None
    if form.totals is None and not problems.items:
        computed = compute_document_totals(
            ((line.net_amount, line.vat_category, line.vat_rate) for line in entered),
            adjustments,
            prepaid,
            (texts["vat_exemption_reason"], exemption_code),
        )
        _check_bases(computed.vat_breakdown, problems)
    totals = computed.totals if computed is not None else None
    if stated is not None:
        totals = _document_totals(stated)
    if totals is not None and prepaid is not None and prepaid > totals.tax_inclusive:
        problems.add(
            "PREPAID_EXCEEDS_TOTAL",
            "prepaid_amount",
            f"L'acompte ({format_decimal(prepaid)}) dépasse le total TTC de la facture"
            f" ({format_decimal(totals.tax_inclusive)}).",
        )
    problems.raise_if_any()
    assert framework is not None and kind is not None and totals is not None
    breakdown = (
        computed.vat_breakdown
        if computed is not None
        else _model_breakdown(stated, texts["vat_exemption_reason"], exemption_code)
    )
    if stated is not None:
        stated = replace(
            stated,
            vat_breakdown=tuple(
                replace(
                    v,
                    category=v.category_code,
                    exemption_reason=texts["vat_exemption_reason"]
                    if v.category_code == "E"
                    else "",
                    exemption_reason_code=exemption_code if v.category_code == "E" else "",
                )
                for v in stated.vat_breakdown
            ),
        )
    model = en16931.Invoice(
        number=number,
        issue_date=issue_date,
        type_code=TYPE_CODES[kind],
        currency=currency,
        seller=en16931.Seller(name=""),
        buyer=en16931.Buyer(name=""),
        totals=totals,
        vat_breakdown=breakdown,
        lines=tuple(_model_line(i, line) for i, line in enumerate(entered)),
        business_process=FRAMEWORK_CODES[framework],
        due_date=due_date,
        buyer_reference=texts["service_code"],
        contract_reference=contract,
        purchase_order_reference=texts["engagement_number"],
        payment_terms=texts["payment_terms"]
        or ("" if due_date is not None or totals.amount_due <= 0 else DEFAULT_PAYMENT_TERMS),
        notes=(en16931.Note(texts["comment"]),) if texts["comment"] else (),
        preceding_invoices=(en16931.PrecedingInvoice(preceding),) if preceding else (),
        delivery=delivery,
        invoicing_period=period,
        payment_instructions=payment,
        allowances_charges=adjustments,
    )
    amounts.refuse_too_large(model)
    content = InvoiceContent(
        framework=framework,
        type=kind,
        type_code=TYPE_CODES[kind],
        number=number,
        issue_date=issue_date,
        currency=currency,
        lines=entered,
        stated_totals=stated,
        preceding_invoice=preceding,
        document=model,
        **texts,
    )
    return ValidInvoice(supplier, recipient, content)


def validate_model(model: en16931.Invoice, supplier_structure_id: str, today: date) -> ValidInvoice:
    """What Chorus itself demands of an invoice read from a file (the schematron having
    decided its validity): InvalidArgument with every problem found — the recipient's SIRET
    (``recipient``), INVOICE_NUMBER_INVALID, FRAMEWORK_INVALID, ISSUE_DATE_INVALID,
    FIELD_TOO_LONG, FRAMEWORK_TYPE_INCONSISTENT, and EN16931_RULES_FAILED for the header
    arithmetic (BR-CO-10…17, fields named after the rules). Line-level differences come back
    as warnings."""
    amounts.refuse_too_large(model)
    arithmetic = header_rule_violations(model)
    if arithmetic:
        raise InvalidArgument(
            "EN16931_RULES_FAILED",
            "Les totaux de la facture ne respectent pas la norme EN 16931 ("
            + ", ".join(sorted({v.field for v in arithmetic}))
            + ").",
            arithmetic,
            metadata={"rules": ",".join(sorted({v.field for v in arithmetic}))},
        )
    problems = _Problems()
    supplier = supplier_structure_id.strip()
    if not supplier:
        problems.required("supplier_structure_id", "La structure émettrice")
    siret = buyer_siret(model)
    if not siret:
        problems.add(
            "FIELD_REQUIRED",
            "recipient",
            "La facture doit désigner l'acheteur par son SIRET (BT-47, schéma 0009) :"
            " c'est ainsi que Chorus trouve le destinataire.",
        )
    recipient = RecipientRef(identifier_type="SIRET", identifier=siret)
    framework = _enum(
        Framework,
        framework_name(model.business_process),
        "framework",
        "Le cadre de facturation",
        problems,
    )
    kind = invoice_type_of(model.type_code)
    number = _number(model.number, problems)
    issue_date = model.issue_date
    if not EARLIEST_ISSUE_DATE <= issue_date <= today + timedelta(days=LATEST_ISSUE_DAYS_AHEAD):
        _issue_date(issue_date.isoformat(), today, problems)
    for name, value in (
        ("service_code", model.buyer_reference),
        ("engagement_number", model.purchase_order_reference),
    ):
        _text(value, name, problems)
    if kind is InvoiceType.AVOIR and framework is Framework.A2_FACTURE_FOURNISSEUR_DEJA_PAYEE:
        problems.add(
            "FRAMEWORK_TYPE_INCONSISTENT",
            "type",
            "Un avoir ne peut pas être déposé dans le cadre « facture déjà payée » (A2) :"
            " choisissez le cadre de la facture qu'il corrige.",
        )
    problems.raise_if_any()
    assert framework is not None
    exempt = next(
        (v for v in model.vat_breakdown if v.exemption_reason or v.exemption_reason_code), None
    )
    content = InvoiceContent(
        service_code=model.buyer_reference.strip(),
        engagement_number=model.purchase_order_reference.strip(),
        framework=framework,
        type=kind,
        type_code=model.type_code,
        number=number,
        issue_date=issue_date,
        currency=model.currency,
        payment_terms=model.payment_terms,
        comment="\n".join(note.text for note in model.notes),
        lines=lines_of(model),
        preceding_invoice=model.preceding_invoices[0].number if model.preceding_invoices else "",
        vat_exemption_reason=(exempt.exemption_reason or exempt.exemption_reason_code)
        if exempt
        else "",
        document=model,
    )
    return ValidInvoice(supplier, recipient, content, line_net_warnings(model))


def siret_of(*identifiers: en16931.Identifier | None) -> str:
    """The first identifier under the SIRET scheme (``0009``), spaces removed ("" when none)."""
    for identifier in identifiers:
        if identifier is not None and identifier.scheme.strip() == SIRET_SCHEME:
            return "".join(identifier.value.split())
    return ""


def buyer_siret(model: en16931.Invoice) -> str:
    """The buyer's SIRET: BT-47 legal registration, else BT-46 identifier, else BT-49
    electronic address, under scheme 0009."""
    buyer = model.buyer
    return siret_of(buyer.legal_registration, buyer.identifier, buyer.electronic_address)


def seller_siret(model: en16931.Invoice) -> str:
    """The seller's SIRET: BT-30 legal registration, else a BT-29 identifier, else BT-34,
    under scheme 0009."""
    seller = model.seller
    return siret_of(seller.legal_registration, *seller.identifiers, seller.electronic_address)


def _number(text: str, problems: _Problems) -> str:
    number = text.strip()
    if not _NUMBER.fullmatch(number):
        problems.add(
            "INVOICE_NUMBER_INVALID",
            "number",
            "Le numéro de facture doit faire 1 à 20 caractères parmi lettres, chiffres, _ / -.",
        )
    return number


def _preceding_invoice(
    text: str, framework: Framework | None, kind: InvoiceType | None, problems: _Problems
) -> str:
    """BT-25 (optional, as in the norm); a credit note cannot be "already paid" (A2)."""
    value = text.strip()
    if value and not _NUMBER.fullmatch(value):
        problems.add(
            "PRECEDING_INVOICE_INVALID",
            "preceding_invoice_number",
            "Le numéro de la facture corrigée doit faire 1 à 20 caractères parmi lettres,"
            " chiffres, _ / -.",
        )
    if kind is InvoiceType.AVOIR and framework is Framework.A2_FACTURE_FOURNISSEUR_DEJA_PAYEE:
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


def _optional_date(text: str, field: str, reason: str, problems: _Problems) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        problems.add(reason, field, "Date attendue au format AAAA-MM-JJ.")
        return None


def _period(form: InvoiceForm, problems: _Problems) -> en16931.Period | None:
    """BG-14: start and/or end; the end not before the start (BR-29)."""
    start = _optional_date(
        form.invoicing_period_start, "invoicing_period_start", "PERIOD_INVALID", problems
    )
    end = _optional_date(
        form.invoicing_period_end, "invoicing_period_end", "PERIOD_INVALID", problems
    )
    if start is not None and end is not None and end < start:
        problems.add(
            "PERIOD_INVALID",
            "invoicing_period_end",
            "La fin de la période de facturation ne peut pas précéder son début.",
        )
    if start is None and end is None:
        return None
    return en16931.Period(start, end)


def _delivery(form: DeliveryForm | None, problems: _Problems) -> en16931.Delivery | None:
    if form is None:
        return None
    name = _text(form.party_name, "party_name", problems, "delivery.party_name")
    when = _optional_date(form.date, "delivery.date", "DELIVERY_DATE_INVALID", problems)
    address = _address(form.address, "delivery.address", problems)
    if not (name or when or address):
        return None
    return en16931.Delivery(party_name=name, date=when, address=address)


def _address(form: AddressForm | None, path: str, problems: _Problems) -> en16931.Address | None:
    if form is None:
        return None
    parts = {
        name: _text(getattr(form, name), "address", problems, f"{path}.{name}")
        for name in ("line1", "line2", "line3", "postal_code", "city", "subdivision")
    }
    country = form.country.strip().upper()
    if not (country or any(parts.values())):
        return None
    if not country:
        problems.required(f"{path}.country", "Le pays de l'adresse de livraison")
    elif not _COUNTRY.fullmatch(country):
        problems.add("COUNTRY_INVALID", f"{path}.country", "Pays attendu : code ISO 3166 (ex. FR).")
    return en16931.Address(country=country, **parts)


def _payment(form: PaymentForm | None, problems: _Problems) -> en16931.PaymentInstructions | None:
    """BG-16 / BG-17: the IBAN and BIC checked (ISO 13616 check digits, ISO 9362)."""
    if form is None:
        return None
    iban = stdnum_iban.compact(form.iban) if form.iban.strip() else ""
    bic = stdnum_bic.compact(form.bic) if form.bic.strip() else ""
    name = _text(form.account_name, "account_name", problems, "payment.account_name")
    remittance = _text(
        form.remittance_information,
        "remittance_information",
        problems,
        "payment.remittance_information",
    )
    code = form.means_code.strip().upper()
    if not (code or iban or bic or name or remittance):
        return None
    code = code or ("30" if iban else "1")
    if code not in PAYMENT_MEANS_CODES:
        problems.add(
            "PAYMENT_MEANS_INVALID",
            "payment.means_code",
            "Moyen de paiement attendu : code UNTDID 4461 (30 virement, 58 virement SEPA,"
            " 49 prélèvement, 48 carte, 20 chèque, 10 espèces…).",
        )
    if iban and not stdnum_iban.is_valid(iban):
        problems.add(
            "IBAN_INVALID",
            "payment.iban",
            "L'IBAN est invalide (pays, longueur ou clé de contrôle) : vérifiez-le.",
        )
    if not iban and code in CREDIT_TRANSFER_CODES:
        problems.required("payment.iban", "L'IBAN du compte à créditer (virement)")
    if bic and not stdnum_bic.is_valid(bic):
        problems.add(
            "BIC_INVALID", "payment.bic", "Le BIC est invalide : 8 ou 11 caractères (ex. BNPAFRPP)."
        )
    if (bic or name) and not iban:
        problems.required("payment.iban", "L'IBAN du compte (avec son BIC ou son titulaire)")
    return en16931.PaymentInstructions(
        means_code=code,
        remittance_information=remittance,
        credit_transfers=(
            (en16931.CreditTransfer(account=iban, account_name=name, service_provider=bic),)
            if iban
            else ()
        ),
    )


def _exemption_code(text: str, problems: _Problems) -> str:
    code = text.strip().upper()
    if code and not _VATEX.fullmatch(code):
        problems.add(
            "VAT_EXEMPTION_CODE_INVALID",
            "vat_exemption_reason_code",
            "Code d'exonération attendu : un code VATEX (ex. VATEX-FR-FRANCHISE, VATEX-EU-F).",
        )
    return code


def _category_of(text: str, rate: Decimal) -> str:
    return text.strip().upper() or default_category(rate)


def _vat(
    category_text: str, rate_text: str, path: str, rate_field: str, problems: _Problems
) -> tuple[str, Decimal]:
    """(category, rate) as typed: any rate 0 <= r < 100 with 2 decimals at most; category S
    above 0 %, Z or E at 0 % ("": S or E by the rate)."""
    rate = _vat_rate(rate_text)
    if rate is None:
        problems.add("VAT_RATE_INVALID", f"{path}.{rate_field}", VAT_RATE_MESSAGE)
        # Nothing more to say of a rate that does not read (not "exempt" either).
        return category_text.strip().upper() or "S", ZERO
    category = _category_of(category_text, rate)
    if category not in PORTAL_CATEGORIES:
        problems.add(
            "VAT_CATEGORY_INVALID",
            f"{path}.vat_category",
            "Catégorie de TVA attendue : S (taux normal), Z (taux zéro) ou E (exonéré).",
        )
    elif (category == "S") != (rate > 0):
        problems.add(
            "VAT_CATEGORY_INVALID",
            f"{path}.vat_category",
            "La catégorie S s'applique à un taux positif, Z et E au taux 0.",
        )
    return category, rate


def _entered_lines(forms: tuple[LineForm, ...], problems: _Problems) -> tuple[Line, ...]:
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
    if unit_price is None and amounts.text_too_large(form.unit_price):
        problems.add(
            amounts.AMOUNT_TOO_LARGE,
            f"{path}.unit_price",
            amounts.message("Le prix unitaire"),
        )
    elif unit_price is None:
        problems.add(
            "UNIT_PRICE_INVALID",
            f"{path}.unit_price",
            "Le prix unitaire doit être un nombre positif ou nul (6 décimales au plus).",
        )
    category, vat_rate = _vat(form.vat_category, form.vat_rate, path, "vat_rate", problems)
    gross = line_net(quantity or ZERO, unit_price or ZERO)
    adjustments = tuple(
        _line_allowance(ac, gross, f"{path}.allowances_charges[{i}]", problems)
        for i, ac in enumerate(form.allowances_charges)
    )
    net = round_amount(
        gross + sum((a.amount if a.charge else -a.amount for a in adjustments), ZERO)
    )
    if amounts.too_large(gross) or amounts.too_large(net):
        problems.add(amounts.AMOUNT_TOO_LARGE, f"{path}.unit_price", amounts.line_message())
    if net < 0:
        problems.add(
            "ALLOWANCE_INVALID",
            f"{path}.allowances_charges",
            f"Les remises de la ligne dépassent son montant ({format_decimal(gross)}).",
        )
    return Line(
        description=description,
        quantity=quantity or Decimal(0),
        unit=unit,
        unit_price=unit_price or Decimal(0),
        vat_rate=vat_rate,
        vat_category=category,
        net=net,
        allowances_charges=adjustments,
    )


def _model_line(index: int, line: Line) -> en16931.Line:
    return en16931.Line(
        identifier=str(index + 1),
        quantity=line.quantity,
        unit=line.unit,
        net_amount=line.net_amount,
        price=en16931.Price(net_price=line.unit_price),
        vat_category=line.vat_category,
        vat_rate=line.vat_rate,
        item=en16931.Item(name=line.description),
        allowances_charges=line.allowances_charges,
    )


def _adjustment_amount(
    form: LineAllowanceChargeForm | AllowanceChargeForm,
    default_base: Decimal | None,
    path: str,
    problems: _Problems,
) -> tuple[Decimal, Decimal | None, Decimal | None] | None:
    """(amount, base, percentage) of an allowance or charge given as an amount or as a
    percentage of its base (``base_amount``, else ``default_base``); None when unreadable."""
    what = "Les frais" if form.charge else "La remise"
    amount_text, percentage_text = form.amount.strip(), form.percentage.strip()
    amount = _decimal(amount_text, _CENTS) if amount_text else None
    if amount_text and amount is None and amounts.text_too_large(amount_text):
        label = "Le montant des frais" if form.charge else "Le montant de la remise"
        problems.add(amounts.AMOUNT_TOO_LARGE, f"{path}.amount", amounts.message(label))
        return None
    if amount_text and amount is None:
        problems.add(
            "ALLOWANCE_INVALID",
            f"{path}.amount",
            f"{what} : montant positif attendu, au centime (ex. 50.00).",
        )
        return None
    percentage = _decimal(percentage_text, _PERCENTAGE) if percentage_text else None
    if percentage_text and (percentage is None or not 0 < percentage <= 100):
        problems.add(
            "ALLOWANCE_INVALID",
            f"{path}.percentage",
            f"{what} : pourcentage attendu entre 0 et 100 (2 décimales au plus).",
        )
        return None
    base_text = form.base_amount.strip()
    base = _decimal(base_text, _CENTS) if base_text else default_base
    if base_text and base is None:
        problems.add(
            "ALLOWANCE_INVALID", f"{path}.base_amount", f"{what} : base attendue au centime."
        )
        return None
    if amount is None and percentage is None:
        problems.add(
            "ALLOWANCE_INVALID",
            f"{path}.amount",
            f"{what} : indiquez un montant ou un pourcentage.",
        )
        return None
    if percentage is not None:
        if base is None:
            problems.required(f"{path}.base_amount", "La base du pourcentage")
            return None
        computed = round_amount(base * percentage / 100)
        if amount is not None and amount != computed:
            problems.add(
                "ALLOWANCE_INVALID",
                f"{path}.amount",
                f"{what} : {format_rate(percentage)} % de {format_decimal(base)} font"
                f" {format_decimal(computed)}, pas {format_decimal(amount)}.",
            )
            return None
        return computed, base, percentage
    return amount, (base if base_text else None), None


def _reason(
    form: LineAllowanceChargeForm | AllowanceChargeForm, path: str, problems: _Problems
) -> tuple[str, str]:
    """(reason, code): one of them is required (BR-33/38/42/44); the code from UNTDID 5189
    for an allowance, 7161 for a charge."""
    reason = _text(form.reason, "reason", problems, f"{path}.reason")
    code = form.reason_code.strip().upper()
    if not (reason or code):
        problems.add(
            "ALLOWANCE_INVALID",
            f"{path}.reason",
            "Indiquez le motif des frais (ou son code)."
            if form.charge
            else "Indiquez le motif de la remise (ou son code), ex. « Remise commerciale ».",
        )
    elif code and (
        not _CHARGE_CODE.fullmatch(code) if form.charge else code not in ALLOWANCE_REASON_CODES
    ):
        problems.add(
            "ALLOWANCE_INVALID",
            f"{path}.reason_code",
            "Code de motif attendu : UNTDID 7161 (ex. FC fret)."
            if form.charge
            else "Code de motif attendu : UNTDID 5189 (ex. 95 remise, 100 remise spéciale).",
        )
    return reason, code


def _line_allowance(
    form: LineAllowanceChargeForm, gross: Decimal, path: str, problems: _Problems
) -> en16931.LineAllowanceCharge:
    reason, code = _reason(form, path, problems)
    found = _adjustment_amount(form, gross, path, problems)
    amount, base, percentage = found if found is not None else (ZERO, None, None)
    return en16931.LineAllowanceCharge(
        charge=form.charge,
        amount=amount,
        base_amount=base,
        percentage=percentage,
        reason=reason,
        reason_code=code,
    )


def _allowances_charges(
    forms: tuple[AllowanceChargeForm, ...],
    line_total: Decimal | None,
    keys: set[tuple[str, Decimal]],
    problems: _Problems,
) -> tuple[en16931.AllowanceCharge, ...]:
    """Document-level allowances and charges; their VAT category and rate default to the
    invoice's when it has only one (category, rate)."""
    found = []
    for i, form in enumerate(forms):
        path = f"allowances_charges[{i}]"
        reason, code = _reason(form, path, problems)
        read = _adjustment_amount(form, line_total, path, problems)
        amount, base, percentage = read if read is not None else (ZERO, None, None)
        if form.vat_rate.strip() or form.vat_category.strip():
            if not form.vat_rate.strip():
                problems.required(f"{path}.vat_rate", "Le taux de TVA de la remise ou des frais")
                category, rate = form.vat_category.strip().upper(), ZERO
            else:
                category, rate = _vat(form.vat_category, form.vat_rate, path, "vat_rate", problems)
        elif len(keys) == 1:
            ((category, rate),) = keys
        else:
            problems.required(
                f"{path}.vat_rate",
                "La facture a plusieurs taux de TVA : le taux de la remise ou des frais",
            )
            category, rate = "S", ZERO
        found.append(
            en16931.AllowanceCharge(
                charge=form.charge,
                amount=amount,
                base_amount=base,
                percentage=percentage,
                vat_category=category,
                vat_rate=rate.quantize(Decimal("0.01"))
                if rate == rate.quantize(Decimal("0.01"))
                else rate,
                reason=reason,
                reason_code=code,
            )
        )
    return tuple(found)


def _check_bases(breakdown: tuple[en16931.VatBreakdown, ...], problems: _Problems) -> None:
    for vat in breakdown:
        if vat.taxable_amount < 0:
            problems.add(
                "ALLOWANCE_INVALID",
                "allowances_charges",
                f"Les remises globales dépassent la base HT de la catégorie {vat.category}"
                f" à {format_rate(vat.rate or ZERO)} % : réduisez-les.",
            )


def _stated_totals(
    form: TotalsForm,
    adjustments: tuple[en16931.AllowanceCharge, ...],
    prepaid: Decimal | None,
    problems: _Problems,
) -> Totals | None:
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
        category, rate = _vat(vat_form.category, vat_form.rate, path, "rate", problems)
        base = _amount(vat_form.base, f"{path}.base", "La base HT", problems)
        amount = _amount(vat_form.amount, f"{path}.amount", "Le montant de TVA", problems)
        breakdown.append(VatAmount(rate, base or Decimal(0), amount or Decimal(0), category))
    if len(problems.items) > before or net is None or vat is None or gross is None:
        return None
    allowances = [a.amount for a in adjustments if not a.charge]
    charges = [a.amount for a in adjustments if a.charge]
    try:
        return stated_totals(
            net,
            vat,
            gross,
            breakdown,
            prepaid=prepaid,
            allowance_total=sum(allowances, ZERO) if allowances else None,
            charge_total=sum(charges, ZERO) if charges else None,
        )
    except InvalidArgument as error:
        for violation in error.violations:
            problems.add(error.reason, violation.field, violation.description)
        return None


def _document_totals(stated: Totals) -> en16931.DocumentTotals:
    return en16931.DocumentTotals(
        line_total=stated.line_total if stated.line_total is not None else stated.net_total,
        tax_exclusive=stated.net_total,
        tax_inclusive=stated.gross_total,
        amount_due=stated.amount_due,
        allowance_total=stated.allowance_total,
        charge_total=stated.charge_total,
        vat_total=stated.vat_total,
        prepaid=stated.prepaid,
    )


def _model_breakdown(
    stated: Totals | None, reason: str, code: str
) -> tuple[en16931.VatBreakdown, ...]:
    if stated is None:
        return ()
    return tuple(
        en16931.VatBreakdown(
            category=v.category_code,
            taxable_amount=v.base,
            tax_amount=v.amount,
            rate=v.rate,
            exemption_reason=reason if v.category_code == "E" else "",
            exemption_reason_code=code if v.category_code == "E" else "",
        )
        for v in stated.vat_breakdown
    )


def _optional_amount(text: str, field: str, label: str, problems: _Problems) -> Decimal | None:
    if not text.strip():
        return None
    value = _decimal(text, _CENTS)
    if value is None and amounts.text_too_large(text):
        problems.add(amounts.AMOUNT_TOO_LARGE, field, amounts.message(label))
    elif value is None:
        problems.add(
            "AMOUNT_INVALID",
            field,
            f"{label} doit être un montant positif ou nul, au centime (ex. 300.00).",
        )
    return value or None


def _amount(text: str, field: str, label: str, problems: _Problems) -> Decimal | None:
    if not text.strip():
        problems.required(field, label)
        return None
    value = _decimal(text, _AMOUNT)
    if value is None and amounts.text_too_large(text):
        problems.add(amounts.AMOUNT_TOO_LARGE, field, amounts.message(label))
    elif value is None:
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
    """Any rate 0 <= r < 100 with at most 2 decimals ("20", "5.5", "8.5 %")."""
    try:
        value = Decimal(text.strip().removesuffix("%").strip())
    except InvalidOperation:
        return None
    return value if is_vat_rate(value) else None
