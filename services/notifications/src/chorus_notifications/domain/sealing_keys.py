"""Notifications' sealing key pairs: the key others seal link tokens to (the newest is
published, every one still opens)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SealingKeyPair:
    key_id: str
    private_key: bytes
    public_key: bytes

    def __repr__(self) -> str:  # keeps the private key out of logs and tracebacks
        return f"SealingKeyPair(key_id={self.key_id!r})"


def new_key_id(now: datetime) -> str:
    """``20261127T143200Z-1a2b3c4d``: sortable by creation, unique across replicas."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
