"""The password policy, in two profiles, each rule with its own reason code.

- ``anssi`` (default): 12 to 128 characters and at least 3 of the 4 character classes.
- ``nist`` (NIST SP 800-63B): 15 to 128 characters, no composition rule.

Both refuse the most common passwords (a list the caller gives, the bundled one in
:mod:`chorus_identity.store.common_passwords`; also when only digits or symbols were added
around one, "Football2024!") and passwords containing the login's local part or the user's
names. Pure: :func:`check_password` lists every problem, in French.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Set
from dataclasses import dataclass
from enum import Enum, StrEnum

MIN_LENGTH = 12
NIST_MIN_LENGTH = 15
MAX_LENGTH = 128
MIN_CLASSES = 3
_PERSONAL_MIN_LENGTH = 3
_AROUND = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_WORDS = re.compile(r"[\W_]+")


class PasswordProfile(StrEnum):
    ANSSI = "anssi"
    NIST = "nist"


class CharacterClass(Enum):
    LOWER = "minuscules"
    UPPER = "majuscules"
    DIGIT = "chiffres"
    OTHER = "caractères spéciaux"


@dataclass(frozen=True)
class PasswordProblem:
    """One broken rule: its stable reason code and what to fix, in French."""

    code: str
    message: str


@dataclass(frozen=True)
class PersonalData:
    """What a password may not contain: the login e-mail's local part and the user's names."""

    login_email: str = ""
    first_name: str = ""
    last_name: str = ""

    def fragments(self) -> set[str]:
        local = self.login_email.partition("@")[0]
        candidates = [local, *_WORDS.split(local), self.first_name, self.last_name]
        candidates += _WORDS.split(self.first_name) + _WORDS.split(self.last_name)
        folded = {_fold(c) for c in candidates}
        return {c for c in folded if len(c) >= _PERSONAL_MIN_LENGTH}


def _fold(text: str) -> str:
    """Lower case, accents removed: comparisons ignore both."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def character_class(char: str) -> CharacterClass:
    """The class a character counts for (accented letters count as letters)."""
    if char.islower():
        return CharacterClass.LOWER
    if char.isupper():
        return CharacterClass.UPPER
    if char.isdigit():
        return CharacterClass.DIGIT
    return CharacterClass.OTHER


def is_common(password: str, common: Set[str]) -> bool:
    """In ``common`` (lower-cased) as is, or once the digits and symbols around it are
    removed."""
    folded = password.casefold()
    return folded in common or _AROUND.sub("", folded) in common


def _length_problem(password: str, minimum: int) -> PasswordProblem | None:
    if len(password) < minimum:
        return PasswordProblem(
            "PASSWORD_TOO_SHORT",
            f"Le mot de passe doit contenir au moins {minimum} caractères "
            f"(il en contient {len(password)}).",
        )
    if len(password) > MAX_LENGTH:
        return PasswordProblem(
            "PASSWORD_TOO_LONG",
            f"Le mot de passe ne doit pas dépasser {MAX_LENGTH} caractères "
            f"(il en contient {len(password)}).",
        )
    return None


def _classes_problem(password: str) -> PasswordProblem | None:
    present = {character_class(c) for c in password}
    if len(present) >= MIN_CLASSES:
        return None
    missing = [c.value for c in CharacterClass if c not in present]
    needed = MIN_CLASSES - len(present)
    kinds = "type" if needed == 1 else "types"
    return PasswordProblem(
        "PASSWORD_TOO_WEAK",
        f"Le mot de passe doit mélanger au moins {MIN_CLASSES} des 4 types de caractères "
        "(minuscules, majuscules, chiffres, caractères spéciaux) : "
        f"ajoutez au moins {needed} {kinds} parmi : {', '.join(missing)}.",
    )


def check_password(
    password: str,
    *,
    common: Set[str],
    profile: PasswordProfile = PasswordProfile.ANSSI,
    personal: PersonalData | None = None,
) -> list[PasswordProblem]:
    """Every rule ``password`` breaks under ``profile``, in a stable order; empty when fine.
    ``common`` is the list of common passwords, lower-cased."""
    minimum = NIST_MIN_LENGTH if profile is PasswordProfile.NIST else MIN_LENGTH
    problems = [_length_problem(password, minimum)]
    if profile is PasswordProfile.ANSSI:
        problems.append(_classes_problem(password))
    if is_common(password, common):
        problems.append(
            PasswordProblem(
                "PASSWORD_TOO_COMMON",
                "Ce mot de passe fait partie des plus courants : "
                "choisissez-en un moins prévisible.",
            )
        )
    folded = _fold(password)
    if personal is not None and any(f in folded for f in personal.fragments()):
        problems.append(
            PasswordProblem(
                "PASSWORD_CONTAINS_PERSONAL_DATA",
                "Le mot de passe ne doit contenir ni votre adresse de connexion, ni vos nom "
                "et prénom.",
            )
        )
    return [p for p in problems if p is not None]


def password_problems(password: str, common: Set[str]) -> list[str]:
    """What ``password`` lacks under the default profile, as French sentences."""
    return [p.message for p in check_password(password, common=common)]


def password_policy_message(problems: list[str]) -> str:
    """One message for the user, listing every problem."""
    return " ".join(problems)
