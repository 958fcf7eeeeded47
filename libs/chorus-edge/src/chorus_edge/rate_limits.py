"""One rate limiter for every door: the doors attackers hammer (login, second factor, password
reset, activation resend) share their buckets whether they are knocked on through the REST API
or through the portal's forms.

A bucket is keyed by (client, :class:`Purpose`): ``POST /api/v1/auth/token`` and the portal's
``POST /connexion`` both draw from the caller's ``LOGIN`` bucket, so 10 attempts through the
API leave none for the portal. The client is the address
:class:`~chorus_edge.client_address.ClientAddressMiddleware` resolved (the socket peer, or
the right-most untrusted ``X-Forwarded-For`` hop behind a configured proxy), an IPv6 address
counted by its /64 (one subscriber's whole prefix: rotating within it gains nothing).

Each bucket holds ``burst`` requests and refills at ``per_minute``. Counts live in the
process: with N gateway replicas behind a load balancer a client gets up to N × the limit
(identity's per-account lockout is the limit that holds across replicas).
"""

from __future__ import annotations

import enum
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from chorus_edge.problems import ProblemError

_MAX_BUCKETS = 100_000

RATE_LIMITED = "RATE_LIMITED"


class Purpose(enum.StrEnum):
    """What a rate-limited request tries to do, whichever door it comes through."""

    LOGIN = "login"
    SECOND_FACTOR = "second-factor"
    PASSWORD_RESET = "password-reset"
    PASSWORD_RESET_LOOKUP = "password-reset-lookup"
    PASSWORD_RESET_CONFIRM = "password-reset-confirm"
    ACTIVATION_RESEND = "activation-resend"
    REGISTRATION = "registration"


@dataclass
class _Bucket:
    tokens: float
    updated: float


def bucket_client(address: str) -> str:
    """The part of an address a bucket counts: IPv4 as is, IPv6 by its /64 prefix."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class RateLimiter:
    """Token buckets keyed by (client, purpose)."""

    def __init__(
        self, *, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst = float(burst)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        return min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)

    def acquire(self, client: str, purpose: str) -> float | None:
        """Takes one request from the bucket; None when allowed, else seconds to wait."""
        now = self._clock()
        key = (bucket_client(client), str(purpose))
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


def retry_after(request: Request, purpose: Purpose) -> int | None:
    """Takes one request from the caller's ``purpose`` bucket (the app's limiter): ``None``
    when allowed, else the whole seconds to wait (at least 1)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    client = request.client.host if request.client else ""
    wait = limiter.acquire(client, purpose)
    return None if wait is None else max(1, math.ceil(wait))


def limited_message(seconds: int) -> str:
    return f"Trop de tentatives depuis votre adresse : réessayez dans {seconds} secondes."


def rate_limited_problem(seconds: int) -> ProblemError:
    """429 RATE_LIMITED with ``Retry-After``."""
    return ProblemError(
        429, RATE_LIMITED, limited_message(seconds), headers={"Retry-After": str(seconds)}
    )
