"""Token buckets per API application: each application (the ``sub`` of its bearer token)
may make ``burst`` requests at once and ``per_minute`` on average to ``/cpro/**``; the token
endpoint has a bucket per ``client_id``. Counts live in the process: N replicas give an
application N × the limit."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

_MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by a string (an application id, ``token:<client_id>``)."""

    def __init__(
        self, *, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        return min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)

    def acquire(self, key: str) -> float | None:
        """Takes one request from ``key``'s bucket: None when allowed, else seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        bucket.tokens, bucket.updated = self._refilled(bucket, now), now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self._rate

    def _forget_full(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if self._refilled(b, now) >= self._burst]
        for key in full:
            del self._buckets[key]
