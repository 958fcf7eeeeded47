"""Input hygiene at the edge: one rule for every string a client sends, checked before any
call to a service.

Every string in a path parameter, a query parameter (name and value), a form field (name,
value, uploaded file name) or a JSON body (keys and values, at any depth) is refused when it
holds a character no service can store or show:

- ``U+0000`` (PostgreSQL refuses it in text),
- a lone surrogate (``"\\ud800"`` in JSON: no UTF-8 encoding exists, protobuf refuses it),
- a C0 control other than tab, line feed and carriage return (``U+0001``–``U+001F``).

Such a request answers 422 ``STRING_INVALID`` naming each field (REST notation,
``lines[0].description``; a query parameter by its name). A JSON number must be finite and
of reasonable size: ``NaN``, ``Infinity``, ``1e999999`` (which overflows to infinity) or an
integer of more than :data:`MAX_INTEGER_DIGITS` digits answer 422 ``NUMBER_INVALID`` with the
field; finer bounds are each field's own (page sizes, amounts). A query string that is not
UTF-8 once percent-decoded answers 400 ``ENCODING_INVALID``; a JSON body that does not parse,
400 ``MALFORMED_JSON``; a body sent with another content type to an operation that takes
JSON, 415 ``UNSUPPORTED_MEDIA_TYPE``. Files' contents are not strings: their services read
them.

:func:`checked_input` is a dependency of the REST API's and the portal's routers, so it runs
before any route's own dependencies and its body; the portal shows the same refusal as its
French error page.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import Request
from fastapi import params as fastapi_params
from starlette.datastructures import UploadFile

from chorus_edge.problems import FieldError, ProblemError

STRING_INVALID = "STRING_INVALID"
NUMBER_INVALID = "NUMBER_INVALID"
ENCODING_INVALID = "ENCODING_INVALID"
MALFORMED_JSON = "MALFORMED_JSON"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"

MAX_INTEGER_DIGITS = 30
"""Digits of a JSON integer (no field takes more: amounts have 18 before the point)."""
MAX_NUMBER_CHARACTERS = 64
"""Characters of any other JSON number literal (``1.5e-3``)."""
MAX_FIELD_ERRORS = 20
"""Fields named in one refusal; the rest are refused all the same."""

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

STRING_DETAIL = (
    "La requête contient des caractères interdits (caractère nul, de contrôle ou texte mal "
    "encodé) ; corrigez les champs indiqués."
)
NUMBER_DETAIL = "La requête contient des nombres illisibles ou hors bornes ; corrigez-les."
NUMBER_MESSAGE = "Nombre fini attendu, de taille raisonnable (ni NaN, ni infini)."


def string_problem(value: str) -> str | None:
    """What is wrong with ``value`` under the rule (French), ``None`` when nothing is."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    code = ord(found.group())
    if code == 0:
        return "Caractère nul (U+0000) interdit."
    if 0xD800 <= code <= 0xDFFF:
        return f"Texte mal encodé : demi-codet Unicode isolé (U+{code:04X}) interdit."
    return (
        f"Caractère de contrôle (U+{code:04X}) interdit ; seuls tabulation et retour à la "
        "ligne sont admis."
    )


def printable(value: str) -> str:
    """``value`` with each forbidden character replaced by U+FFFD: safe to echo back."""
    return _FORBIDDEN.sub("\ufffd", value)


@dataclass(frozen=True)
class _BadNumber:
    """A JSON number literal out of bounds, kept in place of its value to name its field."""

    literal: str


def _parse_int(literal: str) -> int | _BadNumber:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        return _BadNumber(literal)
    return int(literal)


def _parse_float(literal: str) -> float | _BadNumber:
    number = float(literal)
    if len(literal) > MAX_NUMBER_CHARACTERS or not math.isfinite(number):
        return _BadNumber(literal)
    return number


def strict_json(raw: bytes) -> Any:
    """The JSON document ``raw`` with out-of-bounds numbers as markers (see
    :func:`json_problems`); ProblemError 400 MALFORMED_JSON when it does not parse."""
    try:
        return json.loads(
            raw, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_BadNumber
        )
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ProblemError(
            400,
            MALFORMED_JSON,
            "Le corps de la requête n'est pas un document JSON valide (UTF-8).",
        ) from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def json_problems(document: Any) -> Iterator[FieldError]:
    """Each string or number of a parsed document (:func:`strict_json`) breaking the rule,
    depth first, without recursion (a deeply nested document cannot exhaust the stack)."""
    pending: list[tuple[str, Any]] = [("", document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if problem := string_problem(value):
                yield FieldError(field=printable(path), message=problem)
        elif isinstance(value, _BadNumber):
            yield FieldError(field=printable(path), message=NUMBER_MESSAGE)
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                child = _join(path, key)
                if problem := string_problem(key):
                    yield FieldError(field=printable(child), message=f"Nom de champ : {problem}")
                pending.append((child, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))


def query_problems(query_string: bytes) -> Iterator[FieldError]:
    """Each query parameter breaking the rule; ProblemError 400 ENCODING_INVALID when a name
    or value is not UTF-8 once percent-decoded."""
    for pair in query_string.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        try:
            name, value = (
                unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
                for part in (raw_name, raw_value)
            )
        except UnicodeDecodeError:
            raise ProblemError(
                400,
                ENCODING_INVALID,
                "Les paramètres de l'adresse ne sont pas encodés en UTF-8 ; corrigez le lien.",
            ) from None
        for text in (name, value):
            if problem := string_problem(text):
                yield FieldError(field=printable(name), message=problem)
                break


def _form_problems(form: Any) -> Iterator[FieldError]:
    for name, value in form.multi_items():
        if problem := string_problem(name):
            yield FieldError(field=printable(name), message=f"Nom de champ : {problem}")
        elif isinstance(value, UploadFile):
            if value.filename and (problem := string_problem(value.filename)):
                yield FieldError(field=name, message=f"Nom du fichier : {problem}")
        elif isinstance(value, str) and (problem := string_problem(value)):
            yield FieldError(field=name, message=problem)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _body_field(request: Request) -> Any:
    return getattr(request.scope.get("route"), "body_field", None)


def _takes_json(request: Request) -> bool:
    """The matched operation declares a JSON body (not a form)."""
    body_field = _body_field(request)
    return body_field is not None and not isinstance(body_field.field_info, fastapi_params.Form)


def _takes_form(request: Request) -> bool:
    """The matched operation declares form fields (FastAPI has parsed the form)."""
    return isinstance(getattr(_body_field(request), "field_info", None), fastapi_params.Form)


async def _body_problems(request: Request) -> list[FieldError]:
    media_type = _media_type(request)
    if media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if _takes_json(request):
            raise _unsupported()
        if media_type == "application/x-www-form-urlencoded" and not _takes_form(request):
            # Read whole first (small: bounded by body_limits), so the form is parsed from the
            # kept body and a route reading the body itself still can. A route declaring form
            # fields had FastAPI parse the form already: it is reused.
            await request.body()
        return list(_form_problems(await request.form()))
    raw = await request.body()
    if not raw:
        return []
    if not media_type or _is_json(media_type):
        return list(json_problems(strict_json(raw)))
    if _takes_json(request):
        raise _unsupported()
    return []


def _unsupported() -> ProblemError:
    return ProblemError(
        415,
        UNSUPPORTED_MEDIA_TYPE,
        "Type de contenu non pris en charge : envoyez le corps en JSON "
        "(Content-Type: application/json).",
    )


async def checked_input(request: Request) -> None:
    """Dependency: ProblemError 422 STRING_INVALID / NUMBER_INVALID naming the fields that
    break the rule (path, query, form or JSON body), 400 / 415 for an unreadable request."""
    problems = [
        FieldError(field=printable(name), message=problem)
        for name, value in request.path_params.items()
        if isinstance(value, str) and (problem := string_problem(value))
    ]
    problems += query_problems(request.scope.get("query_string", b""))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        problems += await _body_problems(request)
    if not problems:
        return
    numbers_only = all(p.message == NUMBER_MESSAGE for p in problems)
    raise ProblemError(
        422,
        NUMBER_INVALID if numbers_only else STRING_INVALID,
        NUMBER_DETAIL if numbers_only else STRING_DETAIL,
        problems[:MAX_FIELD_ERRORS],
    )
