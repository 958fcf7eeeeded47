"""Repository of notifications' sealing key pairs (table ``sealing_keys``)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

_LOCK_KEY = 0x5345414C  # "SEAL": replicas starting together create one key.


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    private_key: bytes
    public_key: bytes

    def __repr__(self) -> str:  # keeps the private key out of logs and tracebacks
        return f"StoredKey(key_id={self.key_id!r})"


async def lock(conn: asyncpg.Connection) -> None:
    """Serialises key creation until the current transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)


async def all_keys(conn: asyncpg.Connection) -> list[StoredKey]:
    """Every key pair, newest first (the first one is the one to publish)."""
    rows = await conn.fetch(
        "SELECT key_id, private_key, public_key FROM sealing_keys ORDER BY created_at DESC"
    )
    return [
        StoredKey(row["key_id"], bytes(row["private_key"]), bytes(row["public_key"]))
        for row in rows
    ]


async def insert(conn: asyncpg.Connection, key: StoredKey) -> None:
    await conn.execute(
        "INSERT INTO sealing_keys (key_id, private_key, public_key) VALUES ($1, $2, $3)",
        key.key_id,
        key.private_key,
        key.public_key,
    )
