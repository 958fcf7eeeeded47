"""Repository of notifications' sealing key pairs (table ``sealing_keys``)."""

from __future__ import annotations

import asyncpg

from chorus_notifications.domain.sealing_keys import SealingKeyPair

_LOCK_KEY = 0x5345414C  # "SEAL": replicas starting together create one key.


async def lock(conn: asyncpg.Connection) -> None:
    """Serialises key creation until the current transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)


async def all_keys(conn: asyncpg.Connection) -> list[SealingKeyPair]:
    """Every key pair, newest first (the first one is the one to publish)."""
    rows = await conn.fetch(
        "SELECT key_id, private_key, public_key FROM sealing_keys ORDER BY created_at DESC"
    )
    return [
        SealingKeyPair(row["key_id"], bytes(row["private_key"]), bytes(row["public_key"]))
        for row in rows
    ]


async def insert(conn: asyncpg.Connection, key: SealingKeyPair) -> None:
    await conn.execute(
        "INSERT INTO sealing_keys (key_id, private_key, public_key) VALUES ($1, $2, $3)",
        key.key_id,
        key.private_key,
        key.public_key,
    )
