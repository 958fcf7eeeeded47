"""The password policy: 12 to 128 characters and at least 3 of the 4 character classes.

Pure: :func:`password_problems` says, in French, exactly what a candidate password lacks.
"""

from __future__ import annotations

from enum import Enum

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_CLASSES = 3


class CharacterClass(Enum):
    LOWER = "minuscules"
    UPPER = "majuscules"
    DIGIT = "chiffres"
    OTHER = "caractères spéciaux"


def character_class(char: str) -> CharacterClass:
    """The class a character counts for (accented letters count as letters)."""
    if char.islower():
        return CharacterClass.LOWER
    if char.isupper():
        return CharacterClass.UPPER
    if char.isdigit():
        return CharacterClass.DIGIT
    return CharacterClass.OTHER


def password_problems(password: str) -> list[str]:
    """What ``password`` lacks, as French sentences; empty when it satisfies the policy."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(
            f"Le mot de passe doit contenir au moins {MIN_LENGTH} caractères "
            f"(il en contient {len(password)})."
        )
    elif len(password) > MAX_LENGTH:
        problems.append(
            f"Le mot de passe ne doit pas dépasser {MAX_LENGTH} caractères "
            f"(il en contient {len(password)})."
        )
    present = {character_class(c) for c in password}
    if len(present) < MIN_CLASSES:
        missing = [c.value for c in CharacterClass if c not in present]
        needed = MIN_CLASSES - len(present)
        kinds = "type" if needed == 1 else "types"
        problems.append(
            f"Le mot de passe doit mélanger au moins {MIN_CLASSES} des 4 types de caractères "
            "(minuscules, majuscules, chiffres, caractères spéciaux) : "
            f"ajoutez au moins {needed} {kinds} parmi : {', '.join(missing)}."
        )
    return problems


def password_policy_message(problems: list[str]) -> str:
    """One message for the user, listing every problem."""
    return " ".join(problems)
