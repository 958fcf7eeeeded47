"""Sessions once open: refresh with rotation and reuse detection, logout, and the user's own
sessions ("Mon compte"); ``require_live`` is the check every "Mon compte" call starts with."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from chorus_platform.access_tokens import Principal
from chorus_platform.unit_of_work import UnitOfWork

from chorus_identity.domain.audit import ClientContext, SecurityEventKind
from chorus_identity.domain.errors import (
    RefreshTokenInvalid,
    SessionNotFound,
    SessionRevoked,
    TechnicalAccountForbidden,
)
from chorus_identity.domain.opaque_tokens import hash_token, new_token
from chorus_identity.domain.sessions import (
    LiveSession,
    RefreshVerdict,
    RevokeReason,
    TokenPair,
    judge_refresh,
)
from chorus_identity.store import security_events, sessions
from chorus_identity.usecases import revocations
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.rules import Rules
from chorus_identity.usecases.signing_keys import KeyRing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MySession:
    session: LiveSession
    current: bool


class Sessions:
    """Refreshing and revoking sessions, and listing the caller's."""

    def __init__(
        self, uow: UnitOfWork, keys: KeyRing, rules: Rules, *, clock: Clock = utc_now
    ) -> None:
        self._uow = uow
        self._keys = keys
        self._rules = rules
        self._clock = clock

    async def refresh(self, *, refresh_token: str, client: ClientContext) -> TokenPair:
        """Spends ``refresh_token`` and returns a new pair in the same session.

        A token presented a second time revokes its whole session. Unknown, expired, spent
        or revoked tokens raise RefreshTokenInvalid.
        """
        presented = hash_token(refresh_token)
        successor = new_token()
        now = self._clock()
        async with self._uow.transaction() as tx:
            stored = await sessions.find_refresh_token(tx.conn, presented, for_update=True)
            if stored is None:
                raise RefreshTokenInvalid()
            verdict = judge_refresh(stored, now)
            if verdict is RefreshVerdict.ROTATE:
                await sessions.rotate(
                    tx.conn,
                    spent_hash=presented,
                    session_id=stored.session_id,
                    next_generation=stored.generation + 1,
                    next_hash=hash_token(successor),
                    now=now,
                    expires_at=now + self._rules.refresh_token_ttl,
                )
            elif verdict is RefreshVerdict.REVOKE_SESSION:
                await revocations.revoke_session(
                    tx,
                    user_id=stored.user_id,
                    session_id=stored.session_id,
                    reason=RevokeReason.REFRESH_TOKEN_REUSE,
                    now=now,
                    rules=self._rules,
                )
                await security_events.record(
                    tx.conn,
                    SecurityEventKind.REFRESH_TOKEN_REUSED,
                    user_id=stored.user_id,
                    client=client,
                    now=now,
                    session_id=stored.session_id,
                )
        # Raised only now, so that the revocation above is committed.
        if verdict is RefreshVerdict.REVOKE_SESSION:
            log.warning(
                "spent refresh token presented again; session revoked",
                extra={"user_id": stored.user_id, "session_id": stored.session_id},
            )
        if verdict is not RefreshVerdict.ROTATE:
            raise RefreshTokenInvalid()
        return await self._keys.token_pair(stored.user_id, stored.session_id, successor)

    async def revoke(self, *, refresh_token: str, client: ClientContext) -> None:
        """Logs out the session ``refresh_token`` belongs to; nothing happens when unknown."""
        now = self._clock()
        async with self._uow.transaction() as tx:
            stored = await sessions.find_refresh_token(
                tx.conn, hash_token(refresh_token), for_update=True
            )
            if stored is None:
                return
            revoked = await revocations.revoke_session(
                tx,
                user_id=stored.user_id,
                session_id=stored.session_id,
                reason=RevokeReason.LOGOUT,
                now=now,
                rules=self._rules,
            )
            if revoked:
                await security_events.record(
                    tx.conn,
                    SecurityEventKind.SESSION_REVOKED,
                    user_id=stored.user_id,
                    client=client,
                    now=now,
                    session_id=stored.session_id,
                    reason=RevokeReason.LOGOUT.value,
                )
        if revoked:
            log.info(
                "session revoked",
                extra={"user_id": stored.user_id, "session_id": stored.session_id},
            )

    async def require_live(self, principal: Principal) -> LiveSession:
        """The caller's session; SessionRevoked once it was revoked or the account is not
        active any more (the access token itself may still be unexpired)."""
        try:
            uuid.UUID(principal.session_id)
            uuid.UUID(principal.user_id)
        except ValueError:
            raise SessionRevoked() from None
        async with self._uow.reading() as conn:
            live = await sessions.get_live_session(conn, principal.session_id, principal.user_id)
        if live is None:
            raise SessionRevoked()
        return live

    async def require_person(self, principal: Principal) -> LiveSession:
        """:meth:`require_live` for a person: a technical account's token (Chorus Pro API)
        changes nothing of its own nor any credential (TECHNICAL_ACCOUNT_FORBIDDEN)."""
        if principal.technical_structure_id:
            raise TechnicalAccountForbidden()
        return await self.require_live(principal)

    async def list_mine(self, principal: Principal) -> list[MySession]:
        """The caller's sessions that can still be refreshed, most recently used first."""
        await self.require_live(principal)
        async with self._uow.reading() as conn:
            live = await sessions.list_live_sessions(
                conn, principal.user_id, refreshable_after=self._clock()
            )
        return [MySession(s, current=s.id == principal.session_id) for s in live]

    async def revoke_mine(
        self, principal: Principal, *, session_id: str, client: ClientContext
    ) -> None:
        """Revokes one of the caller's sessions (the current one too: that is a logout).

        SessionNotFound when it is not the caller's or is already revoked.
        """
        await self.require_person(principal)
        try:
            key = str(uuid.UUID(session_id))
        except ValueError:
            raise SessionNotFound() from None
        now = self._clock()
        async with self._uow.transaction() as tx:
            live = await sessions.get_live_session(tx.conn, key, principal.user_id)
            if live is None:
                raise SessionNotFound()
            await revocations.revoke_session(
                tx,
                user_id=principal.user_id,
                session_id=key,
                reason=RevokeReason.REVOKED_BY_USER,
                now=now,
                rules=self._rules,
            )
            await security_events.record(
                tx.conn,
                SecurityEventKind.SESSION_REVOKED,
                user_id=principal.user_id,
                client=client,
                now=now,
                session_id=key,
                reason=RevokeReason.REVOKED_BY_USER.value,
            )
