"""Password policy: 12 to 128 characters, at least 3 of lower/upper/digit/other."""

from itertools import combinations

import pytest
from chorus_identity.domain.password_policy import (
    MAX_LENGTH,
    MIN_LENGTH,
    CharacterClass,
    password_problems,
)
from chorus_identity.store import common_passwords


def password_problems_of(password: str) -> list[str]:
    return password_problems(password, common_passwords.load())


SAMPLES = {
    CharacterClass.LOWER: "é",
    CharacterClass.UPPER: "Z",
    CharacterClass.DIGIT: "7",
    CharacterClass.OTHER: "!",
}
ALL_COMBINATIONS = [
    combo for size in range(1, 5) for combo in combinations(list(CharacterClass), size)
]


def password_of(classes, length: int = 16) -> str:
    pattern = "".join(SAMPLES[c] for c in classes)
    return (pattern * length)[:length]


@pytest.mark.parametrize(
    "classes", ALL_COMBINATIONS, ids=lambda c: "+".join(k.name.lower() for k in c)
)
def test_three_of_four_classes_are_required(classes):
    problems = password_problems_of(password_of(classes))

    if len(classes) >= 3:
        assert problems == []
    else:
        [problem] = problems
        missing = [c for c in CharacterClass if c not in classes]
        for absent in missing:
            assert absent.value in problem
        for present in classes:
            assert f" {present.value}" not in problem.split(":")[-1]
        assert f"ajoutez au moins {3 - len(classes)} type" in problem


@pytest.mark.parametrize(
    ("length", "valid"),
    [
        (0, False),
        (MIN_LENGTH - 1, False),
        (MIN_LENGTH, True),
        (MAX_LENGTH, True),
        (MAX_LENGTH + 1, False),
    ],
)
def test_length_must_be_between_12_and_128(length, valid):
    problems = password_problems_of(password_of(list(CharacterClass)[:3], length))

    assert (problems == []) is valid


def test_too_short_message_says_how_long_it_is():
    [problem] = password_problems_of("Ab1!Ab1!")

    assert "au moins 12 caractères" in problem and "il en contient 8" in problem


def test_too_long_message_names_the_maximum():
    [problem] = password_problems_of("Ab1!" * 40)

    assert "128 caractères" in problem and "il en contient 160" in problem


def test_short_and_uniform_password_gets_both_problems():
    problems = password_problems_of("abc")

    assert len(problems) == 2
    assert (
        "ajoutez au moins 2 types parmi : majuscules, chiffres, caractères spéciaux"
        in (problems[1])
    )


def test_spaces_and_symbols_count_as_other_characters():
    assert password_problems_of("correct horse battery 42") == []
