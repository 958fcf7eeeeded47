"""The amount cap: no amount of an invoice reaches 10^12 (12 integer digits at most, i.e.
999 999 999 999.99 € with the norm's two decimals for amounts).

EN 16931 leaves the size of amounts open; a public budget does not. Without a cap, an entry of
1 200 000 quantity × 1 000 000 000 000 € (or a file stating 1.2 × 10^18 €) was stored. Every
channel goes through :func:`~chorus_invoices.domain.validation.validate_invoice` (portal entry,
REST, gRPC, PDF header data) or :func:`~chorus_invoices.domain.validation.validate_model`
(structured files, Factur-X), which refuse such an invoice with INVALID_ARGUMENT reason
``AMOUNT_TOO_LARGE`` and a French message naming the amount, before anything is stored.
"""

from __future__ import annotations

import re
from decimal import Decimal

from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_invoices.domain import en16931

MAX_INTEGER_DIGITS = 12
AMOUNT_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS
"""Every amount (and quantity) stays strictly below this, in absolute value."""
AMOUNT_TOO_LARGE = "AMOUNT_TOO_LARGE"
LIMIT_TEXT = "999 999 999 999,99"
_PLAIN_NUMBER = re.compile(r"-?(\d+)(\.\d*)?")


def too_large(value: Decimal | None) -> bool:
    return value is not None and value.is_finite() and abs(value) >= AMOUNT_LIMIT


def text_too_large(text: str) -> bool:
    """Whether ``text`` is a plain number with more than 12 integer digits (leading zeros not
    counted): it is then refused as too large rather than as malformed."""
    match = _PLAIN_NUMBER.fullmatch(text.strip())
    return bool(match) and len(match.group(1).lstrip("0")) > MAX_INTEGER_DIGITS


def message(label: str) -> str:
    """``label`` names the amount with its article: « Le total TTC »."""
    return (
        f"{label} dépasse le plafond de {LIMIT_TEXT} € (12 chiffres avant la virgule) :"
        " vérifiez le montant saisi."
    )


def line_message() -> str:
    return (
        "Le montant de la ligne (quantité × prix unitaire) dépasse le plafond de"
        f" {LIMIT_TEXT} € (12 chiffres avant la virgule) : vérifiez la quantité et le prix."
    )


def _totals(totals: en16931.DocumentTotals) -> list[tuple[str, str, Decimal | None]]:
    return [
        ("totals.line_total", "La somme des lignes HT (BT-106)", totals.line_total),
        ("totals.allowance_total", "Le total des remises (BT-107)", totals.allowance_total),
        ("totals.charge_total", "Le total des frais (BT-108)", totals.charge_total),
        ("totals.net_total", "Le total HT (BT-109)", totals.tax_exclusive),
        ("totals.vat_total", "Le total de TVA (BT-110)", totals.vat_total),
        ("totals.gross_total", "Le total TTC (BT-112)", totals.tax_inclusive),
        ("prepaid_amount", "L'acompte (BT-113)", totals.prepaid),
        ("totals.rounding", "L'arrondi (BT-114)", totals.rounding),
        ("totals.amount_due", "Le net à payer (BT-115)", totals.amount_due),
    ]


def violations(model: en16931.Invoice) -> list[FieldViolation]:
    """Every amount of ``model`` at or beyond the cap, as field violations (lines first, then
    document allowances and charges, the VAT breakdown and the totals)."""
    found: list[tuple[str, str, Decimal | None]] = []
    for i, line in enumerate(model.lines):
        path, n = f"lines[{i}]", i + 1
        found += [
            (f"{path}.quantity", f"La quantité de la ligne {n} (BT-129)", line.quantity),
            (
                f"{path}.unit_price",
                f"Le prix unitaire de la ligne {n} (BT-146)",
                line.price.net_price,
            ),
            (
                f"{path}.gross_price",
                f"Le prix brut de la ligne {n} (BT-148)",
                line.price.gross_price,
            ),
            (f"{path}.net_amount", f"Le montant de la ligne {n} (BT-131)", line.net_amount),
        ]
        for j, adjustment in enumerate(line.allowances_charges):
            found += [
                (
                    f"{path}.allowances_charges[{j}].amount",
                    f"Le montant de la remise ou des frais de la ligne {n} (BT-136/141)",
                    adjustment.amount,
                ),
                (
                    f"{path}.allowances_charges[{j}].base_amount",
                    f"La base de la remise ou des frais de la ligne {n} (BT-137/142)",
                    adjustment.base_amount,
                ),
            ]
    for j, adjustment in enumerate(model.allowances_charges):
        what = "des frais globaux" if adjustment.charge else "de la remise globale"
        found += [
            (
                f"allowances_charges[{j}].amount",
                f"Le montant {what} n° {j + 1} (BT-92/99)",
                adjustment.amount,
            ),
            (
                f"allowances_charges[{j}].base_amount",
                f"La base de la remise ou des frais n° {j + 1} (BT-93/100)",
                adjustment.base_amount,
            ),
        ]
    for k, vat in enumerate(model.vat_breakdown):
        found += [
            (
                f"vat_breakdown[{k}].base",
                "La base HT d'un taux de TVA (BT-116)",
                vat.taxable_amount,
            ),
            (f"vat_breakdown[{k}].amount", "Le montant de TVA d'un taux (BT-117)", vat.tax_amount),
        ]
    found += _totals(model.totals)
    return [
        FieldViolation(path, message(label)) for path, label, value in found if too_large(value)
    ]


def refuse_too_large(model: en16931.Invoice) -> None:
    """InvalidArgument AMOUNT_TOO_LARGE naming every amount of ``model`` beyond the cap."""
    found = violations(model)
    if found:
        raise InvalidArgument(
            AMOUNT_TOO_LARGE,
            found[0].description
            if len(found) == 1
            else f"{len(found)} montants dépassent le plafond. {found[0].description}",
            found[:100],
        )
