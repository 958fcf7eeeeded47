"""Invoice amounts computed the EN 16931 way, in :class:`~decimal.Decimal` only.

- line net amount = quantity × unit price, rounded half-up to 2 decimals (BT-131);
- per VAT rate: base = Σ line nets of that rate (BT-116), VAT = base × rate / 100 rounded
  half-up to 2 decimals (BT-117) — VAT is computed on the summed base, never per line;
- net total = Σ line nets (BT-106, BR-CO-10); VAT total = Σ per-rate VAT (BT-110, BR-CO-14);
  gross total = net + VAT (BT-112, BR-CO-15); amount due = gross (BT-115, no prepaid yet).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from chorus_platform.errors import FieldViolation, InvalidArgument

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Wide enough that products and sums are exact before the one rounding to cents (the default
# 28 digits would round 9-digit quantities × 12-digit prices with 6 decimals each).
_EXACT = Context(prec=60, rounding=ROUND_HALF_UP)

# French VAT rates in percent: normal, intermediate, reduced, super-reduced, exempt.
VAT_RATES: tuple[Decimal, ...] = tuple(Decimal(r) for r in ("20", "10", "5.5", "2.1", "0"))


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


@dataclass(frozen=True)
class VatAmount:
    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    net_total: Decimal
    vat_total: Decimal
    gross_total: Decimal
    amount_due: Decimal
    vat_breakdown: tuple[VatAmount, ...]


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
    return Totals(net_total, vat_total, gross_total, gross_total, breakdown)


def stated_totals(
    net_total: Decimal,
    vat_total: Decimal,
    gross_total: Decimal,
    vat_breakdown: Iterable[VatAmount],
) -> Totals:
    """Totals stated by hand (an invoice deposited as a plain PDF, without lines), checked
    for the arithmetic EN 16931 demands of them: amounts in cents, rates from
    :data:`VAT_RATES` (each once), per rate VAT = base × rate rounded (BR-CO-17),
    Σ bases = net (BR-CO-13 without allowances), Σ VAT = VAT total (BR-CO-14),
    net + VAT = gross (BR-CO-15). Breakdown sorted by rate, highest first; amounts in cents.

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
        seen: set[Decimal] = set()
        for i, vat in enumerate(breakdown):
            field = f"vat_breakdown[{i}]"
            rate = vat.rate.normalize()
            if rate not in VAT_RATES:
                wrong(f"{field}.rate", "Taux de TVA inconnu : 20, 10, 5.5, 2.1 ou 0.")
            elif rate in seen:
                wrong(f"{field}.rate", "Ce taux de TVA figure déjà dans la ventilation.")
            seen.add(rate)
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
        VatAmount(v.rate, round_amount(v.base), round_amount(v.amount))
        for v in sorted(breakdown, key=lambda v: v.rate, reverse=True)
    )
    net, vat, gross = (round_amount(v) for v in (net_total, vat_total, gross_total))
    return Totals(net, vat, gross, gross, ordered)
