"""Amounts in request bodies: decimal strings, numbers tolerated.

Amounts travel as strings (``"1200.00"``) so no precision is lost. A JSON number is accepted
for convenience and converted with ``Decimal(str(x))`` — ``0.1`` becomes ``"0.1"``, not the
binary float's expansion — but clients should send strings. The gateway checks the shape only
(a finite decimal number); ranges, scale and rounding are the services' rules.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

AMOUNT_HINT = 'Montant décimal attendu, par exemple "1200.00".'


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
    return format(number, "f")


Amount = Annotated[
    str,
    BeforeValidator(parse_amount),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": r"^-?\d+(\.\d+)?$",
            "examples": ["1200.00"],
            "description": "Decimal string; JSON numbers are accepted but discouraged.",
        }
    ),
]
