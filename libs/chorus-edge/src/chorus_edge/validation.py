"""Request validation failures (FastAPI/pydantic) as 422 ``VALIDATION_FAILED`` problems.

Field paths use REST notation (``lines[0].quantity``); messages are French. A body that is
not JSON at all answers 400 ``MALFORMED_JSON``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chorus_edge.problems import FieldError, ProblemError

_LOCATIONS = {"body", "query", "path", "header", "cookie"}

_MESSAGES = {
    "missing": "Champ obligatoire.",
    "string_type": "Texte attendu.",
    "string_too_short": "Trop court : au moins {min_length} caractère(s).",
    "string_too_long": "Trop long : au plus {max_length} caractères.",
    "string_pattern_mismatch": "Format non reconnu.",
    "int_type": "Nombre entier attendu.",
    "int_parsing": "Nombre entier attendu.",
    "int_from_float": "Nombre entier attendu.",
    "bool_type": "Booléen attendu (true ou false).",
    "bool_parsing": "Booléen attendu (true ou false).",
    "enum": "Valeur non reconnue ; valeurs possibles : {expected}.",
    "literal_error": "Valeur non reconnue ; valeurs possibles : {expected}.",
    "date_type": "Date attendue au format AAAA-MM-JJ.",
    "date_parsing": "Date attendue au format AAAA-MM-JJ.",
    "date_from_datetime_parsing": "Date attendue au format AAAA-MM-JJ.",
    "date_from_datetime_inexact": "Date attendue au format AAAA-MM-JJ, sans heure.",
    "uuid_type": "Identifiant attendu (UUID).",
    "uuid_parsing": "Identifiant attendu (UUID).",
    "greater_than_equal": "Doit être supérieur ou égal à {ge}.",
    "less_than_equal": "Doit être inférieur ou égal à {le}.",
    "list_type": "Liste attendue.",
    "model_type": "Objet JSON attendu.",
    "model_attributes_type": "Objet JSON attendu.",
    "dict_type": "Objet JSON attendu.",
    "extra_forbidden": "Champ inconnu ; vérifiez son nom.",
}


def loc_path(loc: Sequence[Any]) -> str:
    """``("body", "lines", 0, "quantity")`` -> ``lines[0].quantity``."""
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or (str(loc[0]) if loc else "")


def french_message(error: Mapping[str, Any]) -> str:
    """A French message for one pydantic error (its own text when no translation fits)."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    template = _MESSAGES.get(kind)
    if template is None:
        return str(error.get("msg", "Valeur invalide."))
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return str(error.get("msg", "Valeur invalide."))


def problem_from_validation_error(errors: Iterable[Mapping[str, Any]]) -> ProblemError:
    """422 VALIDATION_FAILED listing each field; 400 MALFORMED_JSON for unreadable bodies."""
    errors = list(errors)
    if any(error.get("type") == "json_invalid" for error in errors):
        return ProblemError(
            400, "MALFORMED_JSON", "Le corps de la requête n'est pas un document JSON valide."
        )
    fields = [
        FieldError(field=loc_path(e.get("loc", ())), message=french_message(e)) for e in errors
    ]
    return ProblemError(
        422,
        "VALIDATION_FAILED",
        "La requête contient des champs invalides ; corrigez les champs indiqués.",
        fields,
    )
