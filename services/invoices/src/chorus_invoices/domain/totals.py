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
