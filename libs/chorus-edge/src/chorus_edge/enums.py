"""Protobuf enums as REST sees them: the value names without their prefix.

``USER_STATUS_EN_ATTENTE_ACTIVATION`` is ``"EN_ATTENTE_ACTIVATION"`` in JSON; the
``*_UNSPECIFIED`` value is never shown (it reads as ``null``) and never accepted.
"""

from __future__ import annotations

import re
from enum import StrEnum

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper


def strip_prefix(name: str, prefix: str) -> str:
    """``strip_prefix("ROLE_UTILISATEUR", "ROLE_")`` -> ``"UTILISATEUR"``."""
    if not name.startswith(prefix):
        raise ValueError(f"{name} does not start with {prefix}")
    return name[len(prefix) :]


def enum_prefix(enum_name: str) -> str:
    """The buf-style value prefix of an enum type: ``IdentifierType`` -> ``IDENTIFIER_TYPE_``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum_name).upper() + "_"


class ProtoEnum:
    """One protobuf enum with its REST twin (a ``StrEnum`` usable in pydantic models)."""

    def __init__(self, wrapper: EnumTypeWrapper) -> None:
        self._wrapper = wrapper
        self.prefix = enum_prefix(wrapper.DESCRIPTOR.name)
        names = [
            strip_prefix(value.name, self.prefix)
            for value in wrapper.DESCRIPTOR.values
            if value.number != 0
        ]
        self.rest = StrEnum(wrapper.DESCRIPTOR.name, {name: name for name in names})

    def to_proto(self, value: str | None) -> int:
        """The proto number of a REST value; 0 (UNSPECIFIED) for ``None``."""
        return 0 if value is None else self._wrapper.Value(self.prefix + str(value))

    def to_rest(self, number: int) -> str | None:
        """The REST name of a proto number; ``None`` for UNSPECIFIED or a value unknown here."""
        if number == 0 or number not in self._wrapper.values():
            return None
        return strip_prefix(self._wrapper.Name(number), self.prefix)
