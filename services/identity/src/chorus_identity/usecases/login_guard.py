"""Lockout bookkeeping shared by login, the second factor and re-authentication.

Failures are counted per login e-mail in their own transaction (so they stick even though
the request fails), with the audit row and, when the count reaches the limit, the
AccountLocked event for a real account.
"""

from __future__ import annotations

import asyncpg
from chorus_platform.unit_of_work import UnitOfWork

from chorus_identity.domain import events
from chorus_identity.domain.accounts import login_throttle_key
from chorus_identity.domain.audit import ClientContext, SecurityEventKind
from chorus_identity.domain.errors import AccountLocked
from chorus_identity.domain.lockout import LockoutPolicy
from chorus_identity.store import login_throttle, security_events
from chorus_identity.usecases.clock import Clock


class LoginGuard:
    def __init__(self, uow: UnitOfWork, policy: LockoutPolicy, clock: Clock) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock

    async def ensure_not_locked(self, conn: asyncpg.Connection, login_email: str) -> None:
        """AccountLocked while the address is locked."""
        now = self._clock()
        state = await login_throttle.get(conn, login_throttle_key(login_email))
        if state.locked_at(now):
            assert state.locked_until is not None
            raise AccountLocked(state.locked_until, now)

    async def record_failure(
        self,
        login_email: str,
        *,
        user_id: str | None,
        client: ClientContext,
        kind: SecurityEventKind = SecurityEventKind.LOGIN_FAILED,
        reason: str,
        notify_owner: bool = True,
    ) -> AccountLocked | None:
        """Counts one failure; returns the lock when this failure locked the address.
        ``notify_owner`` False: no AccountLocked event (a technical account has no mailbox;
        the lock is audited all the same)."""
        now = self._clock()
        login_email = login_throttle_key(login_email)
        async with self._uow.transaction() as tx:
            await login_throttle.lock_address(tx.conn, login_email)
            previous = await login_throttle.get(tx.conn, login_email, for_update=True)
            state = previous.after_failure(now, self._policy)
            await login_throttle.save(tx.conn, login_email, state, now)
            details = {"reason": reason, "failures": str(state.failures)}
            if user_id is None:
                details["login_email"] = login_email
            await security_events.record(
                tx.conn, kind, user_id=user_id, client=client, now=now, **details
            )
            if not state.just_locked(previous, now):
                return None
            assert state.locked_until is not None
            await security_events.record(
                tx.conn,
                SecurityEventKind.ACCOUNT_LOCKED,
                user_id=user_id,
                client=client,
                now=now,
                locked_until=state.locked_until.isoformat(),
                **({} if user_id else {"login_email": login_email}),
            )
            if user_id is not None and notify_owner:
                tx.emit(
                    events.AccountLocked(
                        user_id, locked_until=state.locked_until, failed_attempts=state.failures
                    )
                )
        return AccountLocked(state.locked_until, now)

    @staticmethod
    async def clear(conn: asyncpg.Connection, login_email: str) -> None:
        await login_throttle.clear(conn, login_throttle_key(login_email))
