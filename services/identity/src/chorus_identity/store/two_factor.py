"""Repository of second factors: TOTP secrets, recovery codes, pending login challenges.

The TOTP secret is read only to compute codes; it never leaves this service. It is stored
encrypted under the KEK ring (``secret_enc``, bound to the user's id); ``secret`` only holds
what an older release wrote in clear, until the start-up step or ``rewrap-keys`` encrypts it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from chorus_platform.key_encryption import EncryptedColumn, KekRing

TOTP_SECRET = EncryptedColumn(
    service="identity",
    table="totp_factors",
    row_id="user_id",
    column="secret_enc",
    clear_column="secret",
)


@dataclass(frozen=True)
class TotpFactor:
    secret: str
    confirmed: bool
    last_used_step: int

    def __repr__(self) -> str:  # keeps the secret out of logs and tracebacks
        return f"TotpFactor(confirmed={self.confirmed})"


@dataclass(frozen=True)
class Challenge:
    id: str
    user_id: str
    attempts: int


async def get_factor(
    conn: asyncpg.Connection, user_id: str, kek: KekRing, *, for_update: bool = False
) -> TotpFactor | None:
    """The factor, its secret decrypted (KeyEncryptionError when ``kek`` cannot open it)."""
    query = (
        "SELECT user_id, secret_enc, secret, confirmed_at, last_used_step FROM totp_factors"
        " WHERE user_id = $1"
    )
    row = await conn.fetchrow(query + " FOR UPDATE" if for_update else query, user_id)
    if row is None:
        return None
    secret = TOTP_SECRET.open(kek, row["user_id"], row["secret_enc"], row["secret"])
    return TotpFactor(secret.decode(), row["confirmed_at"] is not None, row["last_used_step"])


async def lock_factor(conn: asyncpg.Connection, user_id: str) -> bool | None:
    """Locks the user's factor and tells whether it is confirmed (None: no factor); the
    secret is not read."""
    row = await conn.fetchrow(
        "SELECT confirmed_at FROM totp_factors WHERE user_id = $1 FOR UPDATE", user_id
    )
    return None if row is None else row["confirmed_at"] is not None


async def is_enabled(conn: asyncpg.Connection, user_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL",
            user_id,
        )
    )


async def start_enrolment(
    conn: asyncpg.Connection,
    user_id: str,
    *,
    secret: str,
    code_hashes: list[str],
    now: datetime,
    kek: KekRing,
) -> None:
    """Replaces any unconfirmed factor and the recovery codes; the secret is stored
    encrypted under the first KEK."""
    await conn.execute(
        "INSERT INTO totp_factors (user_id, secret_enc, created_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (user_id) DO UPDATE SET secret_enc = EXCLUDED.secret_enc, secret = NULL,"
        " created_at = EXCLUDED.created_at, confirmed_at = NULL, last_used_step = 0",
        user_id,
        kek.encrypt(secret.encode(), TOTP_SECRET.context(uuid.UUID(str(user_id)))),
        now,
    )
    await conn.execute("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
    await conn.executemany(
        "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
        [(user_id, code_hash) for code_hash in code_hashes],
    )


async def confirm(conn: asyncpg.Connection, user_id: str, *, step: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE totp_factors SET confirmed_at = $2, last_used_step = $3 WHERE user_id = $1",
        user_id,
        now,
        step,
    )


async def record_step(conn: asyncpg.Connection, user_id: str, step: int) -> None:
    """Remembers the last accepted step: codes of that step or earlier are refused."""
    await conn.execute(
        "UPDATE totp_factors SET last_used_step = $2 WHERE user_id = $1", user_id, step
    )


async def use_recovery_code(
    conn: asyncpg.Connection, user_id: str, code_hash: str, now: datetime
) -> bool:
    """Spends the code; False when unknown or already spent."""
    status = await conn.execute(
        "UPDATE recovery_codes SET used_at = $3"
        " WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        user_id,
        code_hash,
        now,
    )
    return status.endswith(" 1")


async def remaining_recovery_codes(conn: asyncpg.Connection, user_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", user_id
    )


async def remove(conn: asyncpg.Connection, user_id: str) -> None:
    await conn.execute("DELETE FROM totp_factors WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM recovery_codes WHERE user_id = $1", user_id)


async def insert_challenge(
    conn: asyncpg.Connection, user_id: str, *, now: datetime, expires_at: datetime
) -> str:
    challenge_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO mfa_challenges (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        challenge_id,
        user_id,
        now,
        expires_at,
    )
    return str(challenge_id)


async def find_open_challenge(
    conn: asyncpg.Connection, challenge_id: str, *, now: datetime, max_attempts: int
) -> Challenge | None:
    """The challenge, locked, if not completed, not expired and not out of attempts."""
    try:
        key = uuid.UUID(challenge_id)
    except ValueError:
        return None
    row = await conn.fetchrow(
        "SELECT id, user_id, attempts FROM mfa_challenges WHERE id = $1"
        " AND completed_at IS NULL AND expires_at > $2 AND attempts < $3 FOR UPDATE",
        key,
        now,
        max_attempts,
    )
    return None if row is None else Challenge(str(row["id"]), str(row["user_id"]), row["attempts"])


async def count_failed_attempt(conn: asyncpg.Connection, challenge_id: str) -> None:
    await conn.execute(
        "UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = $1", challenge_id
    )


async def complete_challenge(conn: asyncpg.Connection, challenge_id: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE mfa_challenges SET completed_at = $2 WHERE id = $1", challenge_id, now
    )
