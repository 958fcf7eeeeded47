"""Repository of notifications' sealing key pairs (table ``sealing_keys``).

The private halves are stored encrypted under the KEK ring (``private_key_enc``, bound to the
key id); ``private_key`` only holds what an older release wrote in clear, until the start-up
step or ``rewrap-keys`` encrypts it.
"""

from __future__ import annotations

import asyncpg
from chorus_platform.key_encryption import EncryptedColumn, KekRing

from chorus_notifications.domain.sealing_keys import SealingKeyPair

PRIVATE_KEY = EncryptedColumn(
    service="notifications",
    table="sealing_keys",
    row_id="key_id",
    column="private_key_enc",
    clear_column="private_key",
)

_LOCK_KEY = 0x5345414C  # "SEAL": replicas starting together create one key.


async def lock(conn: asyncpg.Connection) -> None:
    """Serialises key creation until the current transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)


async def all_keys(conn: asyncpg.Connection, kek: KekRing) -> list[SealingKeyPair]:
    """Every key pair, newest first (the first one is the one to publish), private halves
    decrypted (KeyEncryptionError when ``kek`` cannot open one)."""
    rows = await conn.fetch(
        "SELECT key_id, private_key_enc, private_key, public_key FROM sealing_keys"
        " ORDER BY created_at DESC"
    )
    return [
        SealingKeyPair(
            row["key_id"],
            PRIVATE_KEY.open(kek, row["key_id"], row["private_key_enc"], row["private_key"]),
            bytes(row["public_key"]),
        )
        for row in rows
    ]


async def insert(conn: asyncpg.Connection, key: SealingKeyPair, kek: KekRing) -> None:
    """Stores the key pair, its private half encrypted under the first KEK."""
    await conn.execute(
        "INSERT INTO sealing_keys (key_id, private_key_enc, public_key) VALUES ($1, $2, $3)",
        key.key_id,
        kek.encrypt(key.private_key, PRIVATE_KEY.context(key.key_id)),
        key.public_key,
    )
