"""Invoice amounts the EN 16931 way, in :class:`~decimal.Decimal` only.

Computed (a portal entry, :func:`compute_document_totals`):

- line net amount BT-131 = quantity × unit price − line allowances + line charges, rounded
  half-up to 2 decimals;
- BT-106 = Σ line nets (BR-CO-10), BT-107 / BT-108 = Σ document allowances / charges
  (BR-CO-11/12), BT-109 = BT-106 − BT-107 + BT-108 (BR-CO-13);
- per (VAT category, rate): base BT-116 = Σ line nets − allowances + charges of that category
  and rate, VAT BT-117 = base × rate / 100 rounded half-up to 2 decimals — on the summed base,
  never per line (BR-CO-17); BT-110 = Σ BT-117 (BR-CO-14);
- BT-112 = BT-109 + BT-110 (BR-CO-15), BT-115 = BT-112 − BT-113 paid + BT-114 rounding
  (BR-CO-16).

Stated (a file, :func:`totals_of`): the indexed :class:`Totals` are the model's BG-22 / BG-23 as
the file states them; :func:`header_rule_violations` checks the header arithmetic the norm
states (BR-CO-10…17, a backstop behind the schematron) and :func:`line_net_warnings` the
line-level recomputation the norm does not make (a warning, ``CHORUS-LINE-NET``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_invoices.domain import en16931
from chorus_invoices.domain.rule_violations import RuleViolation, Severity

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Wide enough that products and sums are exact before the one rounding to cents (the default
# 28 digits would round 9-digit quantities × 12-digit prices with 6 decimals each).
_EXACT = Context(prec=60, rounding=ROUND_HALF_UP)

# French VAT rates in percent: normal, intermediate, reduced, super-reduced, exempt. The portal
# offers them; any "taux manuel" 0 <= r < 100 with at most 2 decimals is accepted too.
VAT_RATES: tuple[Decimal, ...] = tuple(Decimal(r) for r in ("20", "10", "5.5", "2.1", "0"))
MAX_VAT_RATE = Decimal(100)
LINE_NET_RULE = "CHORUS-LINE-NET"
"""Rule id of the warning kept when a file's line net amount is not what its quantity, price
and line allowances/charges give (EN 16931 makes no such rule: a warning, never a refusal)."""


def round_amount(value: Decimal) -> Decimal:
    """``value`` rounded half-up to cents (0.005 → 0.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_decimal(value: Decimal) -> str:
    """Plain notation, no exponent, trailing zeros kept: ``Decimal("12.50")`` → ``"12.50"``."""
    return format(value, "f")


def format_rate(rate: Decimal) -> str:
    """A VAT rate the way it is written: ``20``, ``5.5``, ``0``."""
    return format(rate.normalize(), "f") if rate else "0"


def line_net(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """Net amount of one line."""
    with localcontext(_EXACT):
        return round_amount(quantity * unit_price)


def default_category(rate: Decimal) -> str:
    """The VAT category of a rate typed without one: S above 0 %, E (exempt) at 0 %."""
    return "S" if rate > 0 else "E"


@dataclass(frozen=True)
class VatAmount:
    """One VAT breakdown (BG-23): by category and rate (0 for category O, which has none)."""

    rate: Decimal
    base: Decimal
    amount: Decimal
    category: str = ""
    """BT-118; "" on rows stored before categories were kept (S above 0 %, E at 0 %)."""
    exemption_reason: str = ""
    exemption_reason_code: str = ""

    @property
    def category_code(self) -> str:
        return self.category or default_category(self.rate)


@dataclass(frozen=True)
class Totals:
    """The indexed totals of an invoice (what lists filter and sort on)."""

    net_total: Decimal
    """BT-109 total without VAT."""
    vat_total: Decimal
    """BT-110."""
    gross_total: Decimal
    """BT-112."""
    amount_due: Decimal
    """BT-115."""
    vat_breakdown: tuple[VatAmount, ...]
    line_total: Decimal | None = None
    """BT-106 (None: as ``net_total``, an invoice without document allowances or charges)."""
    allowance_total: Decimal | None = None
    """BT-107, None when none is stated."""
    charge_total: Decimal | None = None
    """BT-108."""
    prepaid: Decimal | None = None
    """BT-113."""
    rounding: Decimal | None = None
    """BT-114."""


def compute_totals(lines: Iterable[tuple[Decimal, Decimal]]) -> Totals:
    """Totals of lines given as ``(net_amount, vat_rate)``; breakdown by rate, highest first."""
    with localcontext(_EXACT):
        return _totals(lines)


def _totals(lines: Iterable[tuple[Decimal, Decimal]]) -> Totals:
    bases: dict[Decimal, Decimal] = {}
    for net, rate in lines:
        key = rate.normalize()
        bases[key] = bases.get(key, ZERO) + net
    breakdown = tuple(
        VatAmount(rate, base, round_amount(base * rate / 100))
        for rate, base in sorted(bases.items(), reverse=True)
    )
    net_total = sum((v.base for v in breakdown), ZERO)
    vat_total = sum((v.amount for v in breakdown), ZERO)
    gross_total = net_total + vat_total
    return Totals(net_total, vat_total, gross_total, gross_total, breakdown, line_total=net_total)


def is_vat_rate(rate: Decimal) -> bool:
    """A rate the portal accepts: 0 <= rate < 100 with at most 2 decimals (the French rates,
    or a "taux manuel")."""
    return rate.is_finite() and ZERO <= rate < MAX_VAT_RATE and rate == rate.quantize(CENT)


VAT_RATE_MESSAGE = (
    "Taux de TVA attendu : 20, 10, 5.5, 2.1 ou 0, ou un taux manuel entre 0 et 99.99"
    " (2 décimales au plus)."
)


def stated_totals(
    net_total: Decimal,
    vat_total: Decimal,
    gross_total: Decimal,
    vat_breakdown: Iterable[VatAmount],
    *,
    prepaid: Decimal | None = None,
    allowance_total: Decimal | None = None,
    charge_total: Decimal | None = None,
) -> Totals:
    """Totals stated by hand (an invoice deposited as a plain PDF, without lines), checked
    for the arithmetic EN 16931 demands of them: amounts in cents, rates the portal accepts
    (:func:`is_vat_rate`), each (category, rate) once, per category and rate VAT = base × rate
    rounded (BR-CO-17), Σ bases = net (BR-CO-13 with the document allowances and charges in
    the bases), Σ VAT = VAT total (BR-CO-14), net + VAT = gross (BR-CO-15); amount due =
    gross − ``prepaid`` (BR-CO-16); line total BT-106 = net + allowances − charges.
    Breakdown sorted by rate, highest first; amounts in cents.

    InvalidArgument TOTALS_INCONSISTENT naming every field in error (``net_total``,
    ``vat_total``, ``gross_total``, ``vat_breakdown[i].rate|base|amount``).
    """
    violations: list[FieldViolation] = []

    def wrong(field: str, message: str) -> None:
        violations.append(FieldViolation(field, message))

    breakdown = tuple(vat_breakdown)
    with localcontext(_EXACT):
        for name, value in (
            ("net_total", net_total),
            ("vat_total", vat_total),
            ("gross_total", gross_total),
        ):
            if value != round_amount(value):
                wrong(name, "Le montant doit être exprimé au centime (2 décimales au plus).")
        if not breakdown:
            wrong("vat_breakdown", "Indiquez la ventilation de la TVA par taux.")
        seen: set[tuple[str, Decimal]] = set()
        for i, vat in enumerate(breakdown):
            field = f"vat_breakdown[{i}]"
            rate = vat.rate.normalize()
            key = (vat.category_code, rate)
            if not is_vat_rate(vat.rate):
                wrong(f"{field}.rate", VAT_RATE_MESSAGE)
            elif key in seen:
                wrong(f"{field}.rate", "Ce taux de TVA figure déjà dans la ventilation.")
            seen.add(key)
            if vat.base != round_amount(vat.base) or vat.amount != round_amount(vat.amount):
                wrong(field, "Les montants doivent être exprimés au centime.")
            elif vat.amount != round_amount(vat.base * vat.rate / 100):
                expected = format_decimal(round_amount(vat.base * vat.rate / 100))
                wrong(
                    f"{field}.amount",
                    f"La TVA à {format_rate(vat.rate)} % d'une base de"
                    f" {format_decimal(vat.base)} est de {expected}.",
                )
        if breakdown and sum((v.base for v in breakdown), ZERO) != net_total:
            wrong("net_total", "Le total HT n'est pas la somme des bases de la ventilation.")
        if breakdown and sum((v.amount for v in breakdown), ZERO) != vat_total:
            wrong("vat_total", "Le total de TVA n'est pas la somme de la TVA par taux.")
        if net_total + vat_total != gross_total:
            wrong("gross_total", "Le total TTC doit être égal au total HT plus la TVA.")
    if violations:
        raise InvalidArgument(
            "TOTALS_INCONSISTENT",
            "Les totaux indiqués ne sont pas cohérents : corrigez les montants signalés.",
            violations,
        )
    # Written in cents from here on ("0" → "0.00"), as computed totals are.
    ordered = tuple(
        replace(v, base=round_amount(v.base), amount=round_amount(v.amount))
        for v in sorted(breakdown, key=lambda v: v.rate, reverse=True)
    )
    net, vat, gross = (round_amount(v) for v in (net_total, vat_total, gross_total))
    allowances = round_amount(allowance_total) if allowance_total else None
    charges = round_amount(charge_total) if charge_total else None
    paid = round_amount(prepaid) if prepaid else None
    return Totals(
        net,
        vat,
        gross,
        gross - (paid or ZERO),
        ordered,
        line_total=net + (allowances or ZERO) - (charges or ZERO),
        allowance_total=allowances,
        charge_total=charges,
        prepaid=paid,
    )


def line_net_amount(
    quantity: Decimal,
    net_price: Decimal,
    base_quantity: Decimal | None = None,
    allowances_charges: Iterable[en16931.LineAllowanceCharge] = (),
) -> Decimal:
    """BT-131 as EN 16931 describes it: quantity × (net price / base quantity) − line
    allowances + line charges, rounded half-up to cents."""
    with localcontext(_EXACT):
        price = net_price / base_quantity if base_quantity else net_price
        adjustments = sum(
            (ac.amount if ac.charge else -ac.amount for ac in allowances_charges), ZERO
        )
        return round_amount(quantity * price + adjustments)


@dataclass(frozen=True)
class ComputedTotals:
    """What a portal entry's lines and document allowances/charges add up to."""

    totals: en16931.DocumentTotals
    vat_breakdown: tuple[en16931.VatBreakdown, ...]


def compute_document_totals(
    lines: Iterable[tuple[Decimal, str, Decimal]],
    allowances_charges: Iterable[en16931.AllowanceCharge] = (),
    prepaid: Decimal | None = None,
    exemption: tuple[str, str] = ("", ""),
) -> ComputedTotals:
    """BG-22 and BG-23 of lines given as (net amount BT-131, VAT category, rate) and of the
    document allowances and charges (each with its category and rate), as the module
    docstring says. ``exemption``: (BT-120, BT-121) for the exempt (E) breakdowns.
    Breakdown by (category, rate), highest rate first."""
    with localcontext(_EXACT):
        lines = list(lines)
        adjustments = list(allowances_charges)
        bases: dict[tuple[str, Decimal], Decimal] = {}
        for net, category, rate in lines:
            key = (category, rate.normalize())
            bases[key] = bases.get(key, ZERO) + net
        for ac in adjustments:
            key = (ac.vat_category, (ac.vat_rate or ZERO).normalize())
            bases[key] = bases.get(key, ZERO) + (ac.amount if ac.charge else -ac.amount)
        breakdown = tuple(
            en16931.VatBreakdown(
                category=category,
                taxable_amount=round_amount(base),
                tax_amount=round_amount(base * rate / 100),
                rate=_rate_written(rate),
                exemption_reason=exemption[0] if category == "E" else "",
                exemption_reason_code=exemption[1] if category == "E" else "",
            )
            for (category, rate), base in sorted(
                bases.items(), key=lambda item: (item[0][1], item[0][0]), reverse=True
            )
        )
        line_total = round_amount(sum((net for net, _, _ in lines), ZERO))
        allowances = [ac.amount for ac in adjustments if not ac.charge]
        charges = [ac.amount for ac in adjustments if ac.charge]
        allowance_total = round_amount(sum(allowances, ZERO)) if allowances else None
        charge_total = round_amount(sum(charges, ZERO)) if charges else None
        tax_exclusive = line_total - (allowance_total or ZERO) + (charge_total or ZERO)
        vat_total = sum((v.tax_amount for v in breakdown), ZERO)
        gross = tax_exclusive + vat_total
        paid = round_amount(prepaid) if prepaid else None
        return ComputedTotals(
            en16931.DocumentTotals(
                line_total=line_total,
                tax_exclusive=tax_exclusive,
                tax_inclusive=gross,
                amount_due=gross - (paid or ZERO),
                allowance_total=allowance_total,
                charge_total=charge_total,
                vat_total=vat_total,
                prepaid=paid,
            ),
            breakdown,
        )


def _rate_written(rate: Decimal) -> Decimal:
    """A rate in plain notation with at least 2 decimals (``20.00``, ``5.50``)."""
    return rate.quantize(CENT) if rate == rate.quantize(CENT) else rate


def totals_of(model: en16931.Invoice) -> Totals:
    """The indexed totals of an invoice: its BG-22 and BG-23 as stated (rounded to cents only
    where a file gives more decimals), breakdown highest rate first."""
    stated = model.totals
    breakdown = tuple(
        VatAmount(
            rate=v.rate if v.rate is not None else ZERO,
            base=v.taxable_amount,
            amount=v.tax_amount,
            category=v.category,
            exemption_reason=v.exemption_reason,
            exemption_reason_code=v.exemption_reason_code,
        )
        for v in sorted(
            model.vat_breakdown, key=lambda v: (v.rate or ZERO, v.category), reverse=True
        )
    )
    return Totals(
        net_total=stated.tax_exclusive,
        vat_total=stated.vat_total if stated.vat_total is not None else ZERO,
        gross_total=stated.tax_inclusive,
        amount_due=stated.amount_due,
        vat_breakdown=breakdown,
        line_total=stated.line_total,
        allowance_total=stated.allowance_total,
        charge_total=stated.charge_total,
        prepaid=stated.prepaid,
        rounding=stated.rounding,
    )


def header_rule_violations(model: en16931.Invoice) -> list[FieldViolation]:
    """The header-level arithmetic EN 16931 states, on the stated values (BR-CO-10 … 17), the
    way the official schematron computes it (sums rounded to cents; BR-CO-17 within one
    unit). Field = the rule id, message = ``[BR-CO-n] …`` in French with both amounts."""
    found: list[FieldViolation] = []
    stated = model.totals

    def check(rule: str, what: str, given: Decimal, expected: Decimal) -> None:
        if round_amount(given) != round_amount(expected):
            found.append(
                FieldViolation(
                    rule,
                    f"[{rule}] {what} : la facture indique {format_decimal(given)}, la somme"
                    f" donne {format_decimal(round_amount(expected))}.",
                )
            )

    with localcontext(_EXACT):
        check(
            "BR-CO-10",
            "Somme des montants nets des lignes (BT-106)",
            stated.line_total,
            sum((line.net_amount for line in model.lines), ZERO),
        )
        if stated.allowance_total is not None:
            check(
                "BR-CO-11",
                "Somme des remises au niveau document (BT-107)",
                stated.allowance_total,
                sum((ac.amount for ac in model.allowances), ZERO),
            )
        if stated.charge_total is not None:
            check(
                "BR-CO-12",
                "Somme des frais au niveau document (BT-108)",
                stated.charge_total,
                sum((ac.amount for ac in model.charges), ZERO),
            )
        check(
            "BR-CO-13",
            "Total HT (BT-109)",
            stated.tax_exclusive,
            stated.line_total - (stated.allowance_total or ZERO) + (stated.charge_total or ZERO),
        )
        vat_total = stated.vat_total if stated.vat_total is not None else ZERO
        if stated.vat_total is not None:
            check(
                "BR-CO-14",
                "Total de la TVA (BT-110)",
                stated.vat_total,
                sum((v.tax_amount for v in model.vat_breakdown), ZERO),
            )
        check(
            "BR-CO-15", "Total TTC (BT-112)", stated.tax_inclusive, stated.tax_exclusive + vat_total
        )
        check(
            "BR-CO-16",
            "Montant à payer (BT-115)",
            stated.amount_due,
            stated.tax_inclusive - (stated.prepaid or ZERO) + (stated.rounding or ZERO),
        )
        for vat in model.vat_breakdown:
            if vat.rate is None:
                continue
            expected = round_amount(vat.taxable_amount * vat.rate / 100)
            if abs(vat.tax_amount - expected) >= 1:
                found.append(
                    FieldViolation(
                        "BR-CO-17",
                        f"[BR-CO-17] TVA de la catégorie {vat.category} à"
                        f" {format_rate(vat.rate)} % (BT-117) : la facture indique"
                        f" {format_decimal(vat.tax_amount)}, base × taux donne"
                        f" {format_decimal(expected)}.",
                    )
                )
    return found


def line_net_warnings(model: en16931.Invoice) -> tuple[RuleViolation, ...]:
    """A ``CHORUS-LINE-NET`` warning for each line whose stated net amount (BT-131) is not
    quantity × net price / base quantity − line allowances + line charges, rounded."""
    warnings = []
    for i, line in enumerate(model.lines):
        expected = line_net_amount(
            line.quantity, line.price.net_price, line.price.base_quantity, line.allowances_charges
        )
        if round_amount(line.net_amount) != expected:
            warnings.append(
                RuleViolation(
                    LINE_NET_RULE,
                    f"Ligne {line.identifier or i + 1} : le montant net indiqué"
                    f" ({format_decimal(line.net_amount)}) diffère de quantité × prix net"
                    f" − remises + frais ({format_decimal(expected)}).",
                    f"lines[{i}].net_amount",
                    Severity.WARNING,
                )
            )
    return tuple(warnings)
