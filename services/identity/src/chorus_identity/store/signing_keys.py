"""Repository of token signing keys (table ``signing_keys``).

Private keys are read only to sign. They are stored encrypted under the KEK ring
(``private_key_enc``, bound to the key's kid); ``private_key_pem`` only holds what an older
release wrote in clear, until the start-up step or ``rewrap-keys`` encrypts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
from chorus_platform.key_encryption import EncryptedColumn, KekRing

from chorus_identity.domain.signing_keys import NewSigningKey, VerificationKey

PRIVATE_KEY = EncryptedColumn(
    service="identity",
    table="signing_keys",
    row_id="kid",
    column="private_key_enc",
    clear_column="private_key_pem",
)

_LOCK_KEY = 0x4B455953  # "KEYS": one key creation/rotation at a time per database.


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private_key_pem: str

    def __repr__(self) -> str:  # keeps the private key out of logs and tracebacks
        return f"ActiveKey(kid={self.kid!r})"


async def lock_keys(conn: asyncpg.Connection) -> None:
    """Serialises key creation across replicas until the current transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)


async def get_active_kid(conn: asyncpg.Connection) -> str | None:
    return await conn.fetchval("SELECT kid FROM signing_keys WHERE retired_at IS NULL")


async def get_active_key(conn: asyncpg.Connection, kek: KekRing) -> ActiveKey | None:
    """The signing key, decrypted (KeyEncryptionError when ``kek`` cannot open it)."""
    row = await conn.fetchrow(
        "SELECT kid, private_key_enc, private_key_pem FROM signing_keys WHERE retired_at IS NULL"
    )
    if row is None:
        return None
    pem = PRIVATE_KEY.open(kek, row["kid"], row["private_key_enc"], row["private_key_pem"])
    return ActiveKey(row["kid"], pem.decode())


async def active_key_created_at(conn: asyncpg.Connection) -> datetime | None:
    return await conn.fetchval("SELECT created_at FROM signing_keys WHERE retired_at IS NULL")


async def insert_key(
    conn: asyncpg.Connection, key: NewSigningKey, now: datetime, kek: KekRing
) -> None:
    """Stores the key pair, its private half encrypted under the first KEK."""
    await conn.execute(
        "INSERT INTO signing_keys (kid, private_key_enc, public_x, created_at)"
        " VALUES ($1, $2, $3, $4)",
        key.kid,
        kek.encrypt(key.private_key_pem.encode(), PRIVATE_KEY.context(key.kid)),
        key.public_x,
        now,
    )


async def retire_active_key(conn: asyncpg.Connection, now: datetime) -> str | None:
    """Retires the signing key and erases its private half; returns its kid, if there was one."""
    return await conn.fetchval(
        "UPDATE signing_keys SET retired_at = $1, private_key_enc = NULL, private_key_pem = NULL"
        " WHERE retired_at IS NULL RETURNING kid",
        now,
    )


async def verification_keys(
    conn: asyncpg.Connection, *, retired_after: datetime
) -> list[VerificationKey]:
    """The active key and those retired after ``retired_after`` (their tokens may be valid)."""
    rows = await conn.fetch(
        "SELECT kid, public_x, created_at, retired_at FROM signing_keys"
        " WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC",
        retired_after,
    )
    return [
        VerificationKey(
            kid=row["kid"],
            public_x=row["public_x"],
            created_at=row["created_at"],
            retired_at=row["retired_at"],
        )
        for row in rows
    ]
