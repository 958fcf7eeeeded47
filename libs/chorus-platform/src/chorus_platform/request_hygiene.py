"""One rule for every string entering a service, whatever the RPC.

:class:`RequestHygieneInterceptor` (wired in every service's ``main.py``, after the
AuthInterceptor and before anything that acts on the request) walks each request message —
nested messages, repeated fields, map keys and values — and refuses any string holding a
character no text field of Chorus accepts:

- NUL, or another C0 control character other than tab, line feed and carriage return
  (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F);
- a lone surrogate (U+D800–U+DFFF): protobuf cannot carry one (a string field must be valid
  UTF-8), so this is a guard should a representation ever allow it.

The answer is INVALID_ARGUMENT ``STRING_INVALID`` with one BadRequest field violation per
offending string, at most :data:`MAX_VIOLATIONS`, each naming its path in the request:
``lines[2].description``, ``header.number``, ``details["clé"]`` for a map value, the map's
own name for a bad key (the key is not echoed). A request whose bytes do not even decode
(a string field that is not valid UTF-8) is INVALID_ARGUMENT ``REQUEST_MALFORMED`` instead
of gRPC's UNKNOWN. Nothing of the request has run then.

Bytes fields are not strings: they are neither walked nor read (so not copied; files go
through their own checks). The fields to look at are worked out once per message type, and
a message type without any string field anywhere below it is skipped whole, so a request
carrying a large file costs a few attribute reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import grpc
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from chorus_platform.errors import FieldViolation, InvalidArgument

STRING_INVALID = "STRING_INVALID"
REQUEST_MALFORMED = "REQUEST_MALFORMED"
MAX_VIOLATIONS = 20
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
"""NUL, C0 controls other than tab, LF and CR, and surrogates."""

_FIELD_MESSAGE = (
    "Ce champ contient un caractère interdit (caractère nul, caractère de contrôle ou"
    " caractère invalide) : retirez-le."
)
_STRING_MESSAGE = (
    "La requête contient un texte avec un caractère interdit (caractère nul, caractère de"
    " contrôle ou caractère invalide)."
)
_MALFORMED_MESSAGE = (
    "La requête est illisible : un texte n'est pas de l'UTF-8 valide, ou le message est mal formé."
)

_STRING, _MESSAGE, _OTHER = "string", "message", "other"


def is_clean(text: str) -> bool:
    """Whether ``text`` holds none of the forbidden characters."""
    return FORBIDDEN_CHARACTERS.search(text) is None


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # _STRING, _MESSAGE, or "map"
    repeated: bool = False
    key_is_string: bool = False
    value_kind: str = _OTHER  # for maps


_plans: dict[str, tuple[_Field, ...]] = {}
_carries_strings: dict[str, bool] = {}


def _kind(field: FieldDescriptor) -> str:
    if field.type == FieldDescriptor.TYPE_STRING:
        return _STRING
    if field.type == FieldDescriptor.TYPE_MESSAGE and _has_strings(field.message_type):
        return _MESSAGE
    return _OTHER


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _has_strings(descriptor: Descriptor) -> bool:
    """Whether a string can be found anywhere in a message of this type (recursive types
    included: every type reachable from it is looked at once)."""
    known = _carries_strings.get(descriptor.full_name)
    if known is not None:
        return known
    found, seen, pending = False, set(), [descriptor]
    while pending and not found:
        current = pending.pop()
        if current.full_name in seen:
            continue
        seen.add(current.full_name)
        for field in current.fields:
            if field.type == FieldDescriptor.TYPE_STRING:
                found = True
                break
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                pending.append(field.message_type)
    _carries_strings[descriptor.full_name] = found
    return found


def _plan(descriptor: Descriptor) -> tuple[_Field, ...]:
    """The fields of this message type that may hold a string, worked out once."""
    plan = _plans.get(descriptor.full_name)
    if plan is not None:
        return plan
    fields = []
    for field in descriptor.fields:
        if _is_map(field):
            entry = field.message_type
            key_is_string = entry.fields_by_name["key"].type == FieldDescriptor.TYPE_STRING
            value_kind = _kind(entry.fields_by_name["value"])
            if key_is_string or value_kind != _OTHER:
                fields.append(_Field(field.name, "map", True, key_is_string, value_kind))
            continue
        kind = _kind(field)
        if kind != _OTHER:
            fields.append(_Field(field.name, kind, field.is_repeated))
    _plans[descriptor.full_name] = plan = tuple(fields)
    return plan


def string_violations(message: Message, limit: int = MAX_VIOLATIONS) -> list[FieldViolation]:
    """One violation per string of ``message`` (nested included) holding a forbidden
    character, by field path, at most ``limit``."""
    found: list[FieldViolation] = []
    _walk(message, "", found, limit)
    return found


def _walk(message: Message, prefix: str, found: list[FieldViolation], limit: int) -> None:
    for field in _plan(message.DESCRIPTOR):
        if len(found) >= limit:
            return
        path = prefix + field.name
        if field.kind == "map":
            _walk_map(getattr(message, field.name), field, path, found, limit)
        elif field.kind == _STRING:
            if field.repeated:
                for index, text in enumerate(getattr(message, field.name)):
                    _check(text, f"{path}[{index}]", found, limit)
            else:
                _check(getattr(message, field.name), path, found, limit)
        elif field.repeated:
            for index, item in enumerate(getattr(message, field.name)):
                _walk(item, f"{path}[{index}].", found, limit)
        elif message.HasField(field.name):
            _walk(getattr(message, field.name), f"{path}.", found, limit)


def _walk_map(entries, field: _Field, path: str, found: list[FieldViolation], limit: int):
    for key in entries:
        if field.key_is_string and not is_clean(key):
            _check(key, path, found, limit)
            continue
        label = f"{path}[{json.dumps(key)}]"
        if field.value_kind == _STRING:
            _check(entries[key], label, found, limit)
        elif field.value_kind == _MESSAGE:
            _walk(entries[key], f"{label}.", found, limit)


def _check(text: str, path: str, found: list[FieldViolation], limit: int) -> None:
    if text and len(found) < limit and not is_clean(text):
        found.append(FieldViolation(path, _FIELD_MESSAGE))


class _Unreadable:
    """Stands for a request whose bytes did not decode."""


_UNREADABLE = _Unreadable()


class RequestHygieneInterceptor(grpc.aio.ServerInterceptor):
    """Refuses, before the handler runs, a unary request carrying a forbidden character in any
    string (INVALID_ARGUMENT STRING_INVALID) or not decoding at all (REQUEST_MALFORMED)."""

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary
        deserialize = handler.request_deserializer

        def lenient(data: bytes):
            try:
                return deserialize(data) if deserialize is not None else data
            except Exception:
                return _UNREADABLE

        async def checked(request, context):
            if request is _UNREADABLE:
                raise InvalidArgument(REQUEST_MALFORMED, _MALFORMED_MESSAGE)
            if isinstance(request, Message):
                violations = string_violations(request)
                if violations:
                    raise InvalidArgument(STRING_INVALID, _STRING_MESSAGE, violations)
            return await inner(request, context)

        return handler._replace(unary_unary=checked, request_deserializer=lenient)
