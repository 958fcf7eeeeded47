"""Repository of token signing keys (table ``signing_keys``).

Private keys are read only to sign; they never leave this module except as key objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from chorus_identity.domain.signing_keys import NewSigningKey, VerificationKey

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


async def get_active_key(conn: asyncpg.Connection) -> ActiveKey | None:
    row = await conn.fetchrow(
        "SELECT kid, private_key_pem FROM signing_keys WHERE retired_at IS NULL"
    )
    return None if row is None else ActiveKey(row["kid"], row["private_key_pem"])


async def active_key_created_at(conn: asyncpg.Connection) -> datetime | None:
    return await conn.fetchval("SELECT created_at FROM signing_keys WHERE retired_at IS NULL")


async def insert_key(conn: asyncpg.Connection, key: NewSigningKey, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO signing_keys (kid, private_key_pem, public_x, created_at)"
        " VALUES ($1, $2, $3, $4)",
        key.kid,
        key.private_key_pem,
        key.public_x,
        now,
    )


async def retire_active_key(conn: asyncpg.Connection, now: datetime) -> str | None:
    """Retires the signing key and erases its private half; returns its kid, if there was one."""
    return await conn.fetchval(
        "UPDATE signing_keys SET retired_at = $1, private_key_pem = NULL"
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
