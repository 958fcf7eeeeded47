"""Login: the password (with lockout, legacy address forms and rehashing), then the second
factor when the account has one, and the session it opens."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from chorus_platform.key_encryption import KekRing
from chorus_platform.unit_of_work import UnitOfWork

from chorus_identity.domain import two_factor
from chorus_identity.domain.accounts import Account, login_lookup_forms
from chorus_identity.domain.audit import ClientContext, SecurityEventKind
from chorus_identity.domain.errors import InvalidCredentials, MfaChallengeInvalid, MfaCodeInvalid
from chorus_identity.domain.hashing import SecretHasher
from chorus_identity.domain.opaque_tokens import hash_token, new_token
from chorus_identity.domain.password_policy import MAX_LENGTH
from chorus_identity.domain.sessions import TokenPair
from chorus_identity.store import credentials, security_events, sessions, users
from chorus_identity.store import two_factor as factors
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.login_guard import LoginGuard
from chorus_identity.usecases.rules import Rules
from chorus_identity.usecases.signing_keys import KeyRing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginResult:
    """Either tokens, or a second-factor challenge to complete."""

    tokens: TokenPair | None = None
    challenge_id: str = ""
    challenge_expires_at: datetime | None = None


class Logins:
    """Opening sessions: ``CreateSession`` and ``CompleteMfaChallenge``."""

    def __init__(
        self,
        uow: UnitOfWork,
        hasher: SecretHasher,
        keys: KeyRing,
        rules: Rules,
        *,
        kek: KekRing,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._kek = kek
        self._hasher = hasher
        self._keys = keys
        self._rules = rules
        self._clock = clock
        self._guard = LoginGuard(uow, rules.lockout, clock)

    async def login(self, *, login_email: str, password: str, client: ClientContext) -> LoginResult:
        """Opens a session for an active account with the right password, or a second-factor
        challenge when the account has TOTP on.

        Unknown e-mail, wrong password and inactive account all raise the same
        InvalidCredentials after comparable argon2 work, and all count towards the lockout of
        the address: AccountLocked once ``max_failures`` follow each other, until it ends.
        An account stored in a legacy form of the address (``login_lookup_forms``) is found
        too; when two accounts share the mailbox that way, the password tells which one.
        """
        try:
            forms = login_lookup_forms(login_email)
        except ValueError:
            forms = ()
        email = forms[0] if forms else None
        if len(password) > MAX_LENGTH:
            # No valid password is that long; cap the work an attacker can make us do.
            email, password = None, password[:MAX_LENGTH]
        account, stored_hash = None, None
        if email is not None:
            async with self._uow.reading() as conn:
                await self._guard.ensure_not_locked(conn, email)
                candidates = [
                    (found, await credentials.get_password_hash(conn, found.id))
                    for found in await users.find_by_login_forms(conn, forms)
                ]
            account, stored_hash = await self._whose_password(candidates, password)
        if account is None or stored_hash is None:
            await asyncio.to_thread(self._hasher.spend_comparable_work, password)
            await self._refuse(email, account, client, "UNKNOWN_OR_NOT_ACTIVATED")
        elif not await asyncio.to_thread(self._hasher.verify, stored_hash, password):
            await self._refuse(email, account, client, "WRONG_PASSWORD")
        elif not account.is_active:
            await self._refuse(email, account, client, "ACCOUNT_NOT_ACTIVE")
        if self._hasher.needs_rehash(stored_hash):
            await self._rehash(account.id, stored_hash, password)
        return await self._after_password(account, client)

    async def _whose_password(
        self, candidates: list[tuple[Account, str | None]], password: str
    ) -> tuple[Account | None, str | None]:
        """The account to log in among those found for the address: the only one, or, when a
        legacy row and a canonical one share the mailbox, the one this password opens (else
        the oldest, whose failure is then counted)."""
        if len(candidates) > 1:
            for account, stored_hash in candidates:
                if stored_hash is not None and await asyncio.to_thread(
                    self._hasher.verify, stored_hash, password
                ):
                    return account, stored_hash
        return candidates[0] if candidates else (None, None)

    async def _refuse(
        self, email: str | None, account: Account | None, client: ClientContext, reason: str
    ) -> None:
        if email is not None:
            lock = await self._guard.record_failure(
                email, user_id=account.id if account else None, client=client, reason=reason
            )
            if lock is not None:
                raise lock
        raise InvalidCredentials()

    async def _after_password(self, account: Account, client: ClientContext) -> LoginResult:
        now = self._clock()
        async with self._uow.transaction() as tx:
            if await factors.is_enabled(tx.conn, account.id):
                expires_at = now + self._rules.mfa_challenge_ttl
                challenge_id = await factors.insert_challenge(
                    tx.conn, account.id, now=now, expires_at=expires_at
                )
                await security_events.record(
                    tx.conn,
                    SecurityEventKind.LOGIN_MFA_REQUIRED,
                    user_id=account.id,
                    client=client,
                    now=now,
                )
                return LoginResult(challenge_id=challenge_id, challenge_expires_at=expires_at)
            session_id, refresh_token = await self._open_session(tx.conn, account, client, now)
        return LoginResult(
            tokens=await self._keys.token_pair(account.id, session_id, refresh_token)
        )

    async def _open_session(
        self,
        conn: asyncpg.Connection,
        account: Account,
        client: ClientContext,
        now: datetime,
        **audit: str,
    ) -> tuple[str, str]:
        """Session + first refresh token, lockout count cleared, success audited."""
        refresh_token = new_token()
        clipped = client.clipped()
        session_id = await sessions.insert_session(
            conn,
            user_id=account.id,
            ip_address=clipped.ip_address,
            user_agent=clipped.user_agent,
            now=now,
        )
        await sessions.insert_refresh_token(
            conn,
            session_id=session_id,
            generation=1,
            token_hash=hash_token(refresh_token),
            now=now,
            expires_at=now + self._rules.refresh_token_ttl,
        )
        await LoginGuard.clear(conn, account.login_email)
        await security_events.record(
            conn,
            SecurityEventKind.LOGIN_SUCCEEDED,
            user_id=account.id,
            client=client,
            now=now,
            session_id=session_id,
            **audit,
        )
        log.info("session created", extra={"user_id": account.id, "session_id": session_id})
        return session_id, refresh_token

    async def complete_mfa(
        self, *, challenge_id: str, code: str, client: ClientContext
    ) -> TokenPair:
        """Completes a login with a TOTP code (each time step usable once) or a recovery code
        (single use).

        Errors: MfaChallengeInvalid (unknown, expired, used, too many attempts), MfaCodeInvalid
        (counts towards the lockout), AccountLocked.
        """
        now = self._clock()
        async with self._uow.transaction() as tx:
            challenge = await factors.find_open_challenge(
                tx.conn, challenge_id, now=now, max_attempts=self._rules.mfa_max_attempts
            )
            account = (
                None if challenge is None else await users.get_user(tx.conn, challenge.user_id)
            )
            if challenge is None or account is None or not account.is_active:
                raise MfaChallengeInvalid()
            await self._guard.ensure_not_locked(tx.conn, account.login_email)
            method = await self._spend_second_factor(tx.conn, account.id, code, now)
            if method is None:
                await factors.count_failed_attempt(tx.conn, challenge.id)
            else:
                await factors.complete_challenge(tx.conn, challenge.id, now)
                session_id, refresh_token = await self._open_session(
                    tx.conn, account, client, now, mfa=method
                )
                if method == "recovery_code":
                    await security_events.record(
                        tx.conn,
                        SecurityEventKind.RECOVERY_CODE_USED,
                        user_id=account.id,
                        client=client,
                        now=now,
                        remaining=str(await factors.remaining_recovery_codes(tx.conn, account.id)),
                    )
        if method is None:
            lock = await self._guard.record_failure(
                account.login_email,
                user_id=account.id,
                client=client,
                kind=SecurityEventKind.MFA_FAILED,
                reason="WRONG_MFA_CODE",
            )
            raise lock or MfaCodeInvalid()
        return await self._keys.token_pair(account.id, session_id, refresh_token)

    async def _spend_second_factor(
        self, conn: asyncpg.Connection, user_id: str, code: str, now: datetime
    ) -> str | None:
        """ "totp" or "recovery_code" when ``code`` is good (and now spent), else None."""
        factor = await factors.get_factor(conn, user_id, self._kek, for_update=True)
        if factor is None or not factor.confirmed:
            return None
        if two_factor.looks_like_totp(code):
            step = two_factor.matching_step(
                factor.secret, code, now=now, after_step=factor.last_used_step
            )
            if step is None:
                return None
            await factors.record_step(conn, user_id, step)
            return "totp"
        spent = await factors.use_recovery_code(
            conn, user_id, two_factor.hash_recovery_code(code), now
        )
        return "recovery_code" if spent else None

    async def _rehash(self, user_id: str, old_hash: str, password: str) -> None:
        new_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with self._uow.transaction() as tx:
            await credentials.replace_password_hash(
                tx.conn, user_id, old_hash=old_hash, new_hash=new_hash, now=self._clock()
            )
        log.info("password rehashed with current argon2 parameters", extra={"user_id": user_id})
