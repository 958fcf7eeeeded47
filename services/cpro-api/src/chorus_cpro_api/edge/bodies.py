"""Request bodies, read leniently and type-checked against the operation's schema.

Every ``/cpro/**`` POST takes a JSON object. :func:`read_body` parses it and checks each
documented field against the operation's body schema: the official Swagger files for the
factures and structures operations (``spec/``), the schemas of :mod:`.schemas` (taken from
the clients) for transverses, utilisateurs and engagementsJuridiques. The rules:

- an empty body is ``{}``; any ``Content-Type`` is read as JSON (clients send
  ``application/json``, ``application/json;charset=utf-8`` or nothing);
- unknown and extra keys are ignored (clients add their own: PHP-PG's ``syntaxFluxType``,
  PY-FE's ``fournisseur.siret``); ``null`` is read as absent;
- a documented field of the wrong JSON type, an integer out of its format's range
  (int32/int64), a number that is not finite, a value outside a documented enum (compared
  without regard to case, then given its documented spelling), or a string holding a NUL,
  a control character other than tab/CR/LF or a lone surrogate is refused: HTTP 400,
  ``codeRetour`` 20002, ``erreur.champs`` naming each field (``lignePoste[2].lignePosteTauxTva``);
- an object where the schema says array is read as a one-element array, and an array where
  it says object is checked element by element (PY-FE sends ``pieceJointePrincipale`` as an
  array; some clients send single objects for lists): the handler reads both with
  :func:`as_list`;
- formats are not enforced (clients send ``YYYY-MM-DD`` where the Swagger says
  ``date-time``): the handlers parse the dates they use (:mod:`.formats`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request

from chorus_cpro_api.edge import schemas
from chorus_cpro_api.edge.envelope import REQUEST_INVALID, CproError, FieldProblem

MAX_FIELD_PROBLEMS = 20
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
MAX_NUMBER_CHARACTERS = 64
MAX_DEPTH = 64

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

SPEC_FILES = ("factures-swagger.json", "structures-swagger.json")


def spec_dir() -> Path:
    """The Swagger copies: inside the package when installed from a wheel, else
    ``services/cpro-api/spec`` of the source tree."""
    packaged = Path(__file__).resolve().parent.parent / "spec"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "spec"


@cache
def _operations() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """operationId -> (body schema, definitions), from both Swagger files and :mod:`schemas`."""
    found: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for name in SPEC_FILES:
        document = json.loads((spec_dir() / name).read_text(encoding="utf-8"))
        definitions = document.get("definitions", {})
        for operations in document["paths"].values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "body":
                        found[operation["operationId"]] = (parameter["schema"], definitions)
    for operation_id, schema in schemas.OPERATIONS.items():
        found[operation_id] = (schema, schemas.DEFINITIONS)
    return found


def string_problem(value: str) -> str | None:
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    code = ord(found.group())
    if code == 0:
        return "caractère nul (U+0000) interdit."
    if 0xD800 <= code <= 0xDFFF:
        return f"texte mal encodé : demi-codet Unicode isolé (U+{code:04X})."
    return f"caractère de contrôle (U+{code:04X}) interdit ; seuls tabulation et retour à la ligne."


class _BadNumber:
    """A JSON number literal out of bounds (NaN, Infinity, 1e999, 40 digits), kept in place
    of its value so the checker names its field."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _parse_int(literal: str) -> int | _BadNumber:
    return _BadNumber(literal) if len(literal.lstrip("-")) > 30 else int(literal)


def _parse_float(literal: str) -> float | _BadNumber:
    number = float(literal)
    if len(literal) > MAX_NUMBER_CHARACTERS or not math.isfinite(number):
        return _BadNumber(literal)
    return number


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The JSON object of a body (``{}`` when empty); 400 when it does not read or is not an
    object."""
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8-sig")
        document = json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_BadNumber
        )
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise CproError(
            REQUEST_INVALID,
            "Requête invalide : le corps n'est pas un document JSON lisible (UTF-8).",
            "JSON_ILLISIBLE",
        ) from None
    if not isinstance(document, dict):
        raise CproError(
            REQUEST_INVALID,
            "Requête invalide : le corps doit être un objet JSON ({...}).",
            "JSON_OBJET_ATTENDU",
        )
    return document


def _resolve(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(schema: dict[str, Any]) -> str:
    return schema.get("type") or ("object" if "properties" in schema else "")


_EXPECTED = {
    "integer": "un entier",
    "number": "un nombre",
    "string": "une chaîne de caractères",
    "boolean": "un booléen (true ou false)",
    "object": "un objet JSON",
    "array": "une liste JSON",
}


def check(
    schema: dict[str, Any], value: Any, definitions: dict[str, Any], path: str = ""
) -> tuple[Any, list[FieldProblem]]:
    """``value`` checked against ``schema``: (the value with enums respelt and nulls dropped,
    the problems). Iterative over the stack of pending values."""
    problems: list[FieldProblem] = []
    root: dict[str, Any] = {"": value}
    pending: list[tuple[dict[str, Any], Any, str, Any, Any, int]] = [
        (schema, value, path, root, "", 0)
    ]
    while pending:
        schema, value, path, parent, key, depth = pending.pop()
        schema = _resolve(schema, definitions)
        kind = _type_name(schema)
        if depth > MAX_DEPTH:
            problems.append(FieldProblem(path, "imbrication trop profonde."))
            continue
        if isinstance(value, _BadNumber):
            problems.append(FieldProblem(path, "nombre illisible ou hors bornes (NaN, infini)."))
            continue
        if kind == "object":
            if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                items = list(value)
                parent[key] = items
                for index, item in enumerate(items):
                    pending.append((schema, item, f"{path}[{index}]", items, index, depth + 1))
                continue
            if not isinstance(value, dict):
                problems.append(FieldProblem(path, f"{_EXPECTED['object']} est attendu."))
                continue
            properties = schema.get("properties", {})
            cleaned: dict[str, Any] = {}
            for name, item in value.items():
                if (problem := string_problem(name)) is not None:
                    problems.append(FieldProblem(_join(path, "?"), f"nom de champ : {problem}"))
                    continue
                if item is None:
                    continue
                cleaned[name] = item
                if name in properties:
                    pending.append(
                        (properties[name], item, _join(path, name), cleaned, name, depth + 1)
                    )
            parent[key] = cleaned
            continue
        if kind == "array":
            items_schema = schema.get("items", {})
            if isinstance(value, dict):
                value = [value]
            if not isinstance(value, list):
                problems.append(FieldProblem(path, f"{_EXPECTED['array']} est attendue."))
                continue
            items = [item for item in value if item is not None]
            parent[key] = items
            for index, item in enumerate(items):
                pending.append((items_schema, item, f"{path}[{index}]", items, index, depth + 1))
            continue
        if kind == "integer":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
                parent[key] = value
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(FieldProblem(path, f"{_EXPECTED['integer']} est attendu."))
                continue
            low, high = INT32 if schema.get("format") == "int32" else INT64
            if not low <= value <= high:
                problems.append(FieldProblem(path, f"entier hors bornes ({low} à {high})."))
            continue
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(FieldProblem(path, f"{_EXPECTED['number']} est attendu."))
            continue
        if kind == "boolean":
            if not isinstance(value, bool):
                problems.append(FieldProblem(path, f"{_EXPECTED['boolean']} est attendu."))
            continue
        if kind == "string":
            if not isinstance(value, str):
                problems.append(FieldProblem(path, f"{_EXPECTED['string']} est attendue."))
                continue
            if (problem := string_problem(value)) is not None:
                problems.append(FieldProblem(path, problem))
                continue
            allowed = schema.get("enum")
            if allowed:
                match = next((a for a in allowed if a.upper() == value.strip().upper()), None)
                if match is None:
                    shown = ", ".join(allowed[:15]) + (", …" if len(allowed) > 15 else "")
                    problems.append(
                        FieldProblem(path, f"valeur inconnue ; valeurs admises : {shown}.")
                    )
                else:
                    parent[key] = match
            continue
        # No type: anything goes, but strings inside still obey the rule.
        for sub_path, text in _strings(value, path):
            if (problem := string_problem(text)) is not None:
                problems.append(FieldProblem(sub_path, problem))
    return root[""], problems


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    pending = [(path, value)]
    while pending:
        here, item = pending.pop()
        if isinstance(item, str):
            yield here, item
        elif isinstance(item, dict):
            pending.extend((_join(here, str(k)), v) for k, v in item.items())
        elif isinstance(item, list):
            pending.extend((f"{here}[{i}]", v) for i, v in enumerate(item))


def checked(operation_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` checked against the body schema of ``operation_id``; CproError 400
    naming the fields when any breaks it."""
    schema, definitions = _operations()[operation_id]
    value, problems = check(schema, document, definitions)
    if problems:
        shown = problems[:MAX_FIELD_PROBLEMS]
        names = ", ".join(p.champ or "(corps)" for p in shown)
        raise CproError(
            REQUEST_INVALID,
            f"Requête invalide : champ(s) {names} — "
            + " ; ".join(f"{p.champ or '(corps)'} : {p.message}" for p in shown[:3]),
            "CHAMP_INVALIDE",
            shown,
        )
    return value


async def read_body(request: Request, operation_id: str) -> dict[str, Any]:
    """The request's JSON object, checked against ``operation_id``'s schema (see module)."""
    return checked(operation_id, parse_json_object(await request.body()))


def as_list(value: Any) -> list[Any]:
    """A field the schema calls a list or an object, as a list (absent: empty)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def as_object(value: Any) -> dict[str, Any]:
    """A field the schema calls an object that a client may send as a one-element list."""
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], dict) else {}
    return value if isinstance(value, dict) else {}


def required(body: dict[str, Any], path: str) -> Any:
    """The value at ``path`` (``a.b``) of a checked body; 400 naming it when absent or empty."""
    value: Any = body
    for part in path.split("."):
        value = as_object(value).get(part) if isinstance(value, dict | list) else None
    if value is None or value == "" or value == [] or value == {}:
        raise CproError(
            REQUEST_INVALID,
            f"Requête invalide : le champ {path} est obligatoire.",
            "CHAMP_OBLIGATOIRE",
            [FieldProblem(path, "champ obligatoire.")],
        )
    return value
