"""Lockout after repeated failed logins, counted per login e-mail (known account or not).

After ``max_failures`` consecutive failures the address refuses logins for ``duration``;
a success (or a password reset) clears the count. Once a lock has expired, the next failure
starts a new count. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int
    duration: timedelta


@dataclass(frozen=True)
class ThrottleState:
    """The stored state of one login e-mail."""

    failures: int = 0
    locked_until: datetime | None = None

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def after_failure(self, now: datetime, policy: LockoutPolicy) -> ThrottleState:
        """The state once one more failure happened at ``now``."""
        lock_over = self.locked_until is not None and self.locked_until <= now
        failures = 1 if lock_over else self.failures + 1
        if failures >= policy.max_failures:
            return ThrottleState(failures=failures, locked_until=now + policy.duration)
        return ThrottleState(failures=failures, locked_until=None)

    def just_locked(self, previous: ThrottleState, now: datetime) -> bool:
        """True when this state locks and ``previous`` did not (the lock starts now)."""
        return self.locked_at(now) and not previous.locked_at(now)
