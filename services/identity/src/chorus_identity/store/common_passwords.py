"""The bundled list of common passwords (``data/common_passwords.txt``, the 10,000 most
common ones from zxcvbn, MIT), read once from the package and kept in memory.

The password rule that uses it is pure (:func:`chorus_identity.domain.password_policy.
check_password` takes the list); reading the file is this adapter's job.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load() -> frozenset[str]:
    """The list, lower-cased, without comments or blank lines."""
    text = resources.files("chorus_identity.store").joinpath("data/common_passwords.txt")
    lines = text.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))
