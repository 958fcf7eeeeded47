"""Notifications' sealing key ring: the key pair others seal link tokens to, and opening them.

The key pair is created on first use (under an advisory lock, so replicas agree on one) and
kept in the database, its private half encrypted under the KEK ring; every stored private key
can open, the newest is the one published.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from chorus_platform import sealing
from chorus_platform.key_encryption import KekRing
from chorus_platform.unit_of_work import UnitOfWork
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from chorus_notifications.domain.sealed_secrets import SealedSecret
from chorus_notifications.domain.sealing_keys import SealingKeyPair, new_key_id
from chorus_notifications.store import sealing_keys

log = logging.getLogger(__name__)


class SealingKeyRing:
    """Used by GetSealingKey and the e-mail delivery; loads the keys on first use."""

    def __init__(self, uow: UnitOfWork, kek: KekRing) -> None:
        self._uow = uow
        self._kek = kek
        self._published: SealingKeyPair | None = None
        self._private: list[X25519PrivateKey] = []
        self._loading = asyncio.Lock()

    async def _ensure_loaded(self) -> None:
        async with self._loading:
            if self._published is None:
                await self._load()

    async def _load(self) -> None:
        """Reads the key pairs, creating the first one if there is none."""
        async with self._uow.transaction() as tx:
            await sealing_keys.lock(tx.conn)
            keys = await sealing_keys.all_keys(tx.conn, self._kek)
            if not keys:
                private = sealing.generate_private_key()
                created = SealingKeyPair(
                    key_id=new_key_id(datetime.now(UTC)),
                    private_key=sealing.private_key_bytes(private),
                    public_key=sealing.public_key_bytes(private),
                )
                await sealing_keys.insert(tx.conn, created, self._kek)
                keys = [created]
                log.info("sealing key created", extra={"key_id": created.key_id})
        self._published = keys[0]
        self._private = [sealing.load_private_key(key.private_key) for key in keys]

    async def load(self) -> None:
        """Loads (or creates) the keys now: at start, so that a KEK unable to open them stops
        the service (KeyEncryptionError) instead of failing GetSealingKey and every e-mail."""
        await self._ensure_loaded()

    async def published(self) -> SealingKeyPair:
        """The key pair whose public half others seal to (the newest)."""
        await self._ensure_loaded()
        assert self._published is not None
        return self._published

    async def open(self, secret: SealedSecret) -> str:
        """The plain secret; SealedBoxError when no key of ours opens it in its context."""
        await self._ensure_loaded()
        for key in self._private:
            try:
                return sealing.open_sealed(key, secret.sealed, secret.context).decode()
            except sealing.SealedBoxError:
                continue
        raise sealing.SealedBoxError("no sealing key of notifications opens this secret")
