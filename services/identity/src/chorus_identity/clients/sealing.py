"""Notifications' public sealing key, fetched over gRPC and cached.

Identity never puts a plain token in an event: it seals it to notifications' X25519 key
(``NotificationsService.GetSealingKey``) with
:func:`chorus_identity.domain.sealed_tokens.seal_link_token`. The key is
cached for ``cache_seconds`` and then fetched again; when that refetch fails the cached key
is kept (notifications keeps its older keys, so it still opens) and the next request tries
again. When notifications cannot be reached and no key was ever fetched, the request fails
with NOTIFICATIONS_UNAVAILABLE before anything changes: a link nobody can read is useless.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import grpc
from chorus.notifications.v1 import notifications_service_pb2 as pb
from chorus.notifications.v1 import notifications_service_pb2_grpc as pb_grpc
from chorus_platform import sealing

from chorus_identity.domain.errors import NotificationsUnavailable

log = logging.getLogger(__name__)

KeySource = Callable[[], Awaitable[bytes]]
"""Returns notifications' raw public sealing key (raises grpc.RpcError when unreachable)."""


def notifications_key_source(channel: grpc.aio.Channel) -> KeySource:
    stub = pb_grpc.NotificationsServiceStub(channel)

    async def fetch() -> bytes:
        response = await stub.GetSealingKey(pb.GetSealingKeyRequest())
        return response.public_key

    return fetch


class TokenSealer:
    """Seals tokens to notifications' current public key."""

    def __init__(self, source: KeySource, *, cache_seconds: float) -> None:
        self._source = source
        self._cache_seconds = cache_seconds
        self._key: bytes | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def public_key(self) -> bytes:
        """The key to seal to; NotificationsUnavailable when it cannot be had."""
        async with self._lock:
            fresh = time.monotonic() - self._fetched_at < self._cache_seconds
            if self._key is not None and fresh:
                return self._key
            try:
                key = await self._source()
                sealing.seal(key, b"", b"probe")  # a malformed key fails here, not later
            except (grpc.RpcError, ValueError) as error:
                log.warning(
                    "notifications' sealing key unavailable",
                    extra={"error": type(error).__name__, "cached": self._key is not None},
                )
                if self._key is not None:
                    return self._key
                raise NotificationsUnavailable() from None
            self._key, self._fetched_at = key, time.monotonic()
            return key
