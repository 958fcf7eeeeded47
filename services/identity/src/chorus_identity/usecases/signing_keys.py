"""The key ring: which Ed25519 key signs access tokens now, and which still verify them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chorus_platform.access_tokens import AUDIENCE, decode_public_key
from chorus_platform.key_encryption import KekRing
from chorus_platform.unit_of_work import UnitOfWork
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from chorus_identity.domain.access_tokens import sign_access_token
from chorus_identity.domain.sessions import TokenPair
from chorus_identity.domain.signing_keys import (
    VerificationKey,
    generate_signing_key,
    load_private_key,
)
from chorus_identity.store import signing_keys
from chorus_identity.usecases.clock import Clock, utc_now

log = logging.getLogger(__name__)

#: When the active signing key was created, as last seen by this process's rotation check.
_active_key_created_at: datetime | None = None


def _signing_key_age(options: CallbackOptions) -> Iterable[Observation]:
    if _active_key_created_at is None:
        return []
    return [Observation((utc_now() - _active_key_created_at).total_seconds())]


metrics.get_meter("chorus_identity.keys").create_observable_gauge(
    "chorus.keys.signing_key.age",
    callbacks=[_signing_key_age],
    unit="s",
    description="Age of the active token signing key (as of the last rotation check).",
)


@dataclass(frozen=True)
class Rotation:
    new_kid: str
    retired_kid: str | None


def _seen_active_key(created_at: datetime) -> None:
    global _active_key_created_at
    _active_key_created_at = created_at


class KeyRing:
    """Signs with the database's active key (so a rotation shows at once on every replica)
    and lists the public keys whose tokens may still be valid. Private keys are stored
    encrypted under ``kek`` (the first KEK encrypts new keys)."""

    def __init__(
        self,
        uow: UnitOfWork,
        *,
        kek: KekRing,
        access_token_ttl: timedelta,
        longest_token_ttl: timedelta | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._kek = kek
        self._ttl = access_token_ttl
        self._longest = max(access_token_ttl, longest_token_ttl or access_token_ttl)
        self._clock = clock
        self._parsed: dict[str, Ed25519PrivateKey] = {}

    @property
    def access_token_ttl(self) -> timedelta:
        return self._ttl

    @property
    def verification_ttl(self) -> timedelta:
        """How long a retired key keeps verifying: the longest lifetime of any token it signs
        (API applications' tokens outlive the users')."""
        return self._longest

    async def ensure_active_key(self) -> str:
        """Creates a signing key unless one is active; safe when replicas start together.
        An existing key is decrypted, so a KEK that cannot open it fails here, at start
        (KeyEncryptionError), rather than at the first login."""
        async with self._uow.transaction() as tx:
            await signing_keys.lock_keys(tx.conn)
            active = await signing_keys.get_active_key(tx.conn, self._kek)
            if active is not None:
                self._parsed[active.kid] = load_private_key(active.private_key_pem)
                return active.kid
            key = generate_signing_key(self._clock())
            await signing_keys.insert_key(tx.conn, key, self._clock(), self._kek)
        log.info("signing key created", extra={"kid": key.kid})
        return key.kid

    async def rotate(self) -> Rotation:
        """Retires the active key (it keeps verifying its tokens until they expire) and
        makes a new one the signer."""
        now = self._clock()
        key = generate_signing_key(now)
        async with self._uow.transaction() as tx:
            await signing_keys.lock_keys(tx.conn)
            retired = await signing_keys.retire_active_key(tx.conn, now)
            await signing_keys.insert_key(tx.conn, key, now, self._kek)
        log.info("signing keys rotated", extra={"kid": key.kid, "retired_kid": retired})
        return Rotation(new_kid=key.kid, retired_kid=retired)

    async def rotate_if_older_than(self, max_age: timedelta) -> Rotation | None:
        """Rotates when the signing key is older than ``max_age``; under the keys' advisory
        lock, so replicas checking together rotate once."""
        now = self._clock()
        async with self._uow.transaction() as tx:
            await signing_keys.lock_keys(tx.conn)
            created_at = await signing_keys.active_key_created_at(tx.conn)
            if created_at is not None and now - created_at < max_age:
                _seen_active_key(created_at)
                return None
            key = generate_signing_key(now)
            retired = await signing_keys.retire_active_key(tx.conn, now)
            await signing_keys.insert_key(tx.conn, key, now, self._kek)
        _seen_active_key(now)
        log.info("signing key rotated on schedule", extra={"kid": key.kid, "retired_kid": retired})
        return Rotation(new_kid=key.kid, retired_kid=retired)

    async def rotate_on_schedule(self, *, max_age: timedelta, check_every: float) -> None:
        """Background job: checks the signing key's age every ``check_every`` seconds."""
        while True:
            try:
                await self.rotate_if_older_than(max_age)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("scheduled key rotation check failed; will retry", exc_info=True)
            await asyncio.sleep(check_every)

    async def verification_keys(self) -> list[VerificationKey]:
        """The active key and the retired ones whose last tokens have not expired yet."""
        async with self._uow.reading() as conn:
            return await signing_keys.verification_keys(
                conn, retired_after=self._clock() - self._longest
            )

    async def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """A :class:`~chorus_platform.auth.KeyFetcher` reading this service's own database."""
        return {key.kid: decode_public_key(key.public_x) for key in await self.verification_keys()}

    async def sign(
        self,
        *,
        user_id: str,
        session_id: str,
        ttl: timedelta | None = None,
        audience: str = AUDIENCE,
        extra_claims: dict[str, str] | None = None,
    ) -> str:
        """An access token for the session, signed by the active key; ``ttl`` defaults to
        the access-token lifetime."""
        async with self._uow.reading() as conn:
            kid = await signing_keys.get_active_kid(conn)
            private = None if kid is None else self._parsed.get(kid)
            if kid is not None and private is None:  # a new key: decrypted once
                active = await signing_keys.get_active_key(conn, self._kek)
                if active is not None:  # (rotated in between: the newer one)
                    kid = active.kid
                    private = self._parsed[kid] = load_private_key(active.private_key_pem)
        if kid is None or private is None:
            raise RuntimeError("no active signing key; run `chorus-identity serve` to create one")
        return sign_access_token(
            key=private,
            kid=kid,
            user_id=user_id,
            session_id=session_id,
            now=self._clock(),
            ttl=self._ttl if ttl is None else ttl,
            audience=audience,
            extra_claims=extra_claims,
        )

    async def token_pair(self, user_id: str, session_id: str, refresh_token: str) -> TokenPair:
        """A new access token for the session, with the session's ``refresh_token``."""
        return TokenPair(
            access_token=await self.sign(user_id=user_id, session_id=session_id),
            refresh_token=refresh_token,
            expires_in=int(self._ttl.total_seconds()),
        )
