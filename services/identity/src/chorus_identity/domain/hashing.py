"""argon2id hashing of passwords and secret answers.

CPU-bound and deliberately slow: callers run these methods in a worker thread.
"""

from __future__ import annotations

import secrets
from functools import cached_property

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class SecretHasher:
    """argon2id with the configured cost; verifies hashes made with older costs too."""

    def __init__(self, *, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, stored_hash: str, secret: str) -> bool:
        """Whether ``secret`` matches; False (never an exception) for a corrupt hash too."""
        try:
            return self._hasher.verify(stored_hash, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when ``stored_hash`` was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(stored_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hasher.hash(secrets.token_urlsafe(16))

    def spend_comparable_work(self, secret: str) -> None:
        """Verifies against a throwaway hash, so that an unknown login costs as much time as
        a wrong password and response times reveal nothing about which accounts exist."""
        self.verify(self._dummy_hash, secret)
