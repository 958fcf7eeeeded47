"""The EN 16931 model as a JSON document, and back: what the invoices database keeps (JSONB)
and what the API hands out.

The shape follows the dataclasses of :mod:`chorus_invoices.domain.en16931` field by field:

- a dataclass is an object of its fields; optional fields at their default (``""``,
  ``None``, ``()``) are left out, so a document carries only what the invoice states;
- :class:`~decimal.Decimal` is a string in plain notation, exactly as stated (``"12.50"``
  stays ``"12.50"``); a date is ``"YYYY-MM-DD"``; bytes are base64; tuples are arrays.

``from_json(to_json(model)) == model`` for every model (property-tested).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import types
import typing
from datetime import date
from decimal import Decimal
from typing import Any

from chorus_invoices.domain import en16931

JSON = dict[str, Any]


def to_json(invoice: en16931.Invoice) -> JSON:
    """The invoice as a JSON-ready dict."""
    return _encode(invoice)


def from_json(document: JSON) -> en16931.Invoice:
    """The invoice a :func:`to_json` document describes (ValueError/TypeError/KeyError on a
    document that does not fit the model)."""
    return _decode(en16931.Invoice, document)


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if field.default is not dataclasses.MISSING and _is_default(item, field.default):
                continue
            out[field.name] = _encode(item)
        return out
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    raise TypeError(f"cannot encode {type(value).__name__}")


def _is_default(item: Any, default: Any) -> bool:
    # type too: Decimal("0") == 0 and False == 0, but neither is a missing term
    return type(item) is type(default) and item == default


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    # The module as locals too: a field named like its type (Delivery.date: date | None)
    # would otherwise resolve to the class attribute (None) instead of datetime.date.
    return typing.get_type_hints(cls, vars(en16931), vars(en16931))


def _decode(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if value is None:
            return None
        return _decode(options[0], value)
    if origin is tuple:
        (item_kind, _ellipsis) = typing.get_args(kind)
        if not isinstance(value, list):
            raise TypeError("array expected")
        return tuple(_decode(item_kind, item) for item in value)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise TypeError(f"object expected for {kind.__name__}")
        hints = _hints(kind)
        known = {field.name for field in dataclasses.fields(kind)}
        unknown = set(value) - known
        if unknown:
            raise ValueError(f"unknown fields in {kind.__name__}: {sorted(unknown)}")
        return kind(**{name: _decode(hints[name], item) for name, item in value.items()})
    if kind is Decimal:
        if not isinstance(value, str):
            raise TypeError("decimal string expected")
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError("finite decimal expected")
        return number
    if kind is date:
        return date.fromisoformat(value)
    if kind is bytes:
        return base64.b64decode(value, validate=True)
    if kind in (str, bool):
        if not isinstance(value, kind):
            raise TypeError(f"{kind.__name__} expected")
        return value
    raise TypeError(f"cannot decode {kind!r}")
