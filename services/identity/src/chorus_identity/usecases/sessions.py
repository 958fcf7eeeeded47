"""Login, refresh with rotation and reuse detection, logout."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import asyncpg

from chorus_identity.domain.accounts import normalise_login_email
from chorus_identity.domain.errors import InvalidCredentials, RefreshTokenInvalid
from chorus_identity.domain.hashing import SecretHasher
from chorus_identity.domain.opaque_tokens import hash_token, new_token
from chorus_identity.domain.password_policy import MAX_LENGTH
from chorus_identity.domain.sessions import RefreshVerdict, RevokeReason, TokenPair, judge_refresh
from chorus_identity.store import credentials, sessions, users
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.signing_keys import KeyRing

log = logging.getLogger(__name__)


class Sessions:
    def __init__(
        self,
        pool: asyncpg.Pool,
        hasher: SecretHasher,
        keys: KeyRing,
        *,
        refresh_token_ttl: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._pool = pool
        self._hasher = hasher
        self._keys = keys
        self._refresh_ttl = refresh_token_ttl
        self._clock = clock

    async def login(
        self, *, login_email: str, password: str, ip_address: str, user_agent: str
    ) -> TokenPair:
        """Opens a session for an active account with the right password.

        Unknown e-mail, wrong password and inactive account all raise the same
        InvalidCredentials after comparable argon2 work.
        """
        try:
            email = normalise_login_email(login_email)
        except ValueError:
            email = None
        if len(password) > MAX_LENGTH:
            # No valid password is that long; cap the work an attacker can make us do.
            email, password = None, password[:MAX_LENGTH]
        account, stored_hash = None, None
        if email is not None:
            async with self._pool.acquire() as conn:
                account = await users.find_by_login_email(conn, email)
                if account is not None:
                    stored_hash = await credentials.get_password_hash(conn, account.id)
        if account is None or stored_hash is None:
            await asyncio.to_thread(self._hasher.spend_comparable_work, password)
            raise InvalidCredentials()
        if not await asyncio.to_thread(self._hasher.verify, stored_hash, password):
            raise InvalidCredentials()
        if not account.is_active:
            raise InvalidCredentials()
        if self._hasher.needs_rehash(stored_hash):
            await self._rehash(account.id, stored_hash, password)

        now = self._clock()
        refresh_token = new_token()
        async with self._pool.acquire() as conn, conn.transaction():
            session_id = await sessions.insert_session(
                conn, user_id=account.id, ip_address=ip_address, user_agent=user_agent, now=now
            )
            await sessions.insert_refresh_token(
                conn,
                session_id=session_id,
                generation=1,
                token_hash=hash_token(refresh_token),
                now=now,
                expires_at=now + self._refresh_ttl,
            )
        log.info("session created", extra={"user_id": account.id, "session_id": session_id})
        return await self._pair(account.id, session_id, refresh_token)

    async def _rehash(self, user_id: str, old_hash: str, password: str) -> None:
        new_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with self._pool.acquire() as conn:
            await credentials.replace_password_hash(
                conn, user_id, old_hash=old_hash, new_hash=new_hash, now=self._clock()
            )
        log.info("password rehashed with current argon2 parameters", extra={"user_id": user_id})

    async def refresh(self, *, refresh_token: str) -> TokenPair:
        """Spends ``refresh_token`` and returns a new pair in the same session.

        A token presented a second time revokes its whole session. Unknown, expired, spent
        or revoked tokens raise RefreshTokenInvalid.
        """
        presented = hash_token(refresh_token)
        successor = new_token()
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await sessions.find_refresh_token(conn, presented, for_update=True)
            if stored is None:
                raise RefreshTokenInvalid()
            verdict = judge_refresh(stored, now)
            if verdict is RefreshVerdict.ROTATE:
                await sessions.rotate(
                    conn,
                    spent_hash=presented,
                    session_id=stored.session_id,
                    next_generation=stored.generation + 1,
                    next_hash=hash_token(successor),
                    now=now,
                    expires_at=now + self._refresh_ttl,
                )
            elif verdict is RefreshVerdict.REVOKE_SESSION:
                await sessions.revoke_session(
                    conn, stored.session_id, reason=RevokeReason.REFRESH_TOKEN_REUSE, now=now
                )
        # Raised only now, so that the revocation above is committed.
        if verdict is RefreshVerdict.REVOKE_SESSION:
            log.warning(
                "spent refresh token presented again; session revoked",
                extra={"user_id": stored.user_id, "session_id": stored.session_id},
            )
        if verdict is not RefreshVerdict.ROTATE:
            raise RefreshTokenInvalid()
        return await self._pair(stored.user_id, stored.session_id, successor)

    async def revoke(self, *, refresh_token: str) -> None:
        """Logs out the session ``refresh_token`` belongs to; nothing happens when unknown."""
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await sessions.find_refresh_token(
                conn, hash_token(refresh_token), for_update=True
            )
            if stored is None:
                return
            revoked = await sessions.revoke_session(
                conn, stored.session_id, reason=RevokeReason.LOGOUT, now=self._clock()
            )
        if revoked:
            log.info(
                "session revoked",
                extra={"user_id": stored.user_id, "session_id": stored.session_id},
            )

    async def _pair(self, user_id: str, session_id: str, refresh_token: str) -> TokenPair:
        access = await self._keys.sign(user_id=user_id, session_id=session_id)
        return TokenPair(
            access_token=access,
            refresh_token=refresh_token,
            expires_in=int(self._keys.access_token_ttl.total_seconds()),
        )
