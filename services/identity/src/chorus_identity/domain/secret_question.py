"""The secret question and answer chosen at activation (used later for password resets).

The answer is compared in a forgiving form: case, accents and spacing do not matter.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from chorus_platform.errors import FieldViolation, InvalidArgument

QUESTION_MAX_LENGTH = 200
ANSWER_MAX_LENGTH = 200


def normalise_answer(answer: str) -> str:
    """Case-folded, accents stripped, spaces collapsed: " Élodie  DUPONT" -> "elodie dupont"."""
    decomposed = unicodedata.normalize("NFKD", answer.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(unicodedata.normalize("NFC", stripped).split())


@dataclass(frozen=True)
class SecretQuestion:
    question: str
    normalised_answer: str


def _check(label: str, value: str, max_length: int) -> tuple[str, str] | None:
    """``(reason, description)`` when ``value`` is missing or too long."""
    if not value:
        return "FIELD_REQUIRED", f"{label} obligatoire."
    if len(value) > max_length:
        return "FIELD_TOO_LONG", f"{label} : {max_length} caractères au maximum."
    return None


def validate_secret_question(question: str, answer: str) -> SecretQuestion:
    """Question trimmed and answer normalised; InvalidArgument (FIELD_REQUIRED or
    FIELD_TOO_LONG, reason of the first bad field) when missing or too long."""
    text = " ".join(question.split())
    normalised = normalise_answer(answer)
    problems = [
        (field, problem)
        for field, problem in (
            ("secret_question", _check("Question secrète", text, QUESTION_MAX_LENGTH)),
            ("secret_answer", _check("Réponse secrète", normalised, ANSWER_MAX_LENGTH)),
        )
        if problem is not None
    ]
    if problems:
        raise InvalidArgument(
            problems[0][1][0],
            " ".join(description for _, (_, description) in problems),
            [FieldViolation(field, description) for field, (_, description) in problems],
        )
    return SecretQuestion(text, normalised)
