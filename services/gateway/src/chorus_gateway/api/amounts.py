"""Amounts in request bodies: decimal strings, numbers tolerated.

Amounts travel as strings (``"1200.00"``) so no precision is lost. A JSON number is accepted
for convenience and converted with ``Decimal(str(x))`` — ``0.1`` becomes ``"0.1"``, not the
binary float's expansion — but clients should send strings. The gateway checks the shape: a
finite decimal number of at most :data:`MAX_INTEGER_DIGITS` digits before the point — the
invoices service's amount cap (``AMOUNT_TOO_LARGE``: below 10^12, what the norm and a public
budget make plausible), told at once beside the field — and :data:`MAX_FRACTION_DIGITS` after.
The services still decide ranges, scale and rounding (a product of two capped numbers is
checked there), and ``1e999999`` never becomes a million-digit string.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

AMOUNT_HINT = 'Montant décimal attendu, par exemple "1200.00".'
MAX_INTEGER_DIGITS = 12
MAX_FRACTION_DIGITS = 12
OUT_OF_BOUNDS = (
    f"Montant hors bornes : {MAX_INTEGER_DIGITS} chiffres au plus avant la virgule (plafond "
    f"999 999 999 999,99 €) et {MAX_FRACTION_DIGITS} après."
)


def parse_amount(value: object) -> str:
    """The canonical decimal string of ``value`` (no exponent); ValueError when not a number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(AMOUNT_HINT)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(AMOUNT_HINT) from None
    if not number.is_finite():
        raise ValueError(AMOUNT_HINT)
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    fraction_digits = max(0, -exponent)
    integer_digits = max(0, len(digits) + exponent)
    if integer_digits > MAX_INTEGER_DIGITS or fraction_digits > MAX_FRACTION_DIGITS:
        raise ValueError(OUT_OF_BOUNDS)
    return format(number, "f")


Amount = Annotated[
    str,
    BeforeValidator(parse_amount),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": rf"^-?\d{{1,{MAX_INTEGER_DIGITS}}}(\.\d{{1,{MAX_FRACTION_DIGITS}}})?$",
            "examples": ["1200.00"],
            "description": "Decimal string; JSON numbers are accepted but discouraged.",
        }
    ),
]


def parse_positive_amount(value: object) -> str:
    """:func:`parse_amount`, refusing a negative number."""
    amount = parse_amount(value)
    if amount.startswith("-"):
        raise ValueError("Montant positif ou nul attendu.")
    return amount


PositiveAmount = Annotated[
    str,
    BeforeValidator(parse_positive_amount),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": rf"^\d{{1,{MAX_INTEGER_DIGITS}}}(\.\d{{1,{MAX_FRACTION_DIGITS}}})?$",
            "examples": ["1200.00"],
        }
    ),
]
"""A filter's amount (``min_amount``): positive or zero, bounded as :data:`Amount`."""
