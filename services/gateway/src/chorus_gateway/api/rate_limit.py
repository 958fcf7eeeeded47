"""Per-client-IP rate limit of the endpoints attackers hammer (login, second factor, password
reset, activation resend): an in-memory token bucket per (IP, endpoint).

Each bucket holds ``burst`` requests and refills at ``per_minute``; an empty bucket answers
429 ``RATE_LIMITED`` with ``Retry-After``. The client IP is the one uvicorn resolved (it
honours ``X-Forwarded-For`` from ``CHORUS_FORWARDED_ALLOW_IPS`` only). Counts are per gateway
replica; identity's per-account lockout is the limit that holds across replicas.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from chorus_gateway.edge.problems import ProblemError

_MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by (client IP, endpoint)."""

    def __init__(
        self, *, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        return min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)

    def acquire(self, client: str, endpoint: str) -> float | None:
        """Takes one request from the bucket; None when allowed, else seconds to wait."""
        now = self._clock()
        key = (client, endpoint)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        bucket.tokens, bucket.updated = self._refilled(bucket, now), now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self._rate if self._rate > 0 else 60.0

    def _forget_full(self, now: float) -> None:
        """Drops the buckets that refilled completely: they hold no information."""
        full = [k for k, b in self._buckets.items() if self._refilled(b, now) >= self._burst]
        for key in full:
            del self._buckets[key]


def rate_limited(request: Request) -> None:
    """Dependency: 429 RATE_LIMITED when the caller's IP used up this endpoint's bucket."""
    limiter: RateLimiter = request.app.state.rate_limiter
    client = request.client.host if request.client else ""
    wait = limiter.acquire(client, request.url.path)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise ProblemError(
            429,
            "RATE_LIMITED",
            f"Trop de tentatives depuis votre adresse : réessayez dans {seconds} secondes.",
            headers={"Retry-After": str(seconds)},
        )
