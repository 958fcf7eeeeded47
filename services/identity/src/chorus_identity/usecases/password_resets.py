"""Password reset: request a link by e-mail, read the secret question, set a new password.

The request answers alike whether or not the account exists. The link is single use and
valid ``password_reset_ttl``; confirming also needs the secret answer (wrong answers count
towards the lockout), then every session is revoked and the user is told by e-mail.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from chorus_platform.errors import FieldViolation, InvalidArgument
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_identity.clients.sealing import TokenSealer
from chorus_identity.domain import events
from chorus_identity.domain.accounts import Account, login_lookup_forms
from chorus_identity.domain.audit import ClientContext, SecurityEventKind
from chorus_identity.domain.errors import PasswordRejected, ResetTokenInvalid, SecretAnswerInvalid
from chorus_identity.domain.hashing import SecretHasher
from chorus_identity.domain.opaque_tokens import hash_token, new_token
from chorus_identity.domain.sealed_tokens import seal_link_token
from chorus_identity.domain.secret_question import ANSWER_MAX_LENGTH, normalise_answer
from chorus_identity.domain.sessions import RevokeReason
from chorus_identity.store import account_tokens, credentials, security_events, users
from chorus_identity.store.account_tokens import TokenPurpose, UsableToken
from chorus_identity.usecases import revocations
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.login_guard import LoginGuard
from chorus_identity.usecases.rules import Rules
from chorus_identity.usecases.uniform_answers import lasting_at_least

log = logging.getLogger(__name__)
_PURPOSE = TokenPurpose.PASSWORD_RESET


@dataclass(frozen=True)
class ResetLink:
    secret_question: str
    expires_at: datetime


class PasswordResets:
    def __init__(
        self,
        uow: UnitOfWork,
        hasher: SecretHasher,
        sealer: TokenSealer,
        rules: Rules,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._sealer = sealer
        self._rules = rules
        self._clock = clock
        self._guard = LoginGuard(uow, rules.lockout, clock)

    async def request(self, *, login_email: str, client: ClientContext) -> None:
        """Sends a reset link to an active account's contact address (superseding earlier
        ones); for any other address only audits the request (PASSWORD_RESET_REQUESTED,
        outcome NO_ACTIVE_ACCOUNT), silently. Either way comparable work and an answer no
        sooner than ``rules.anonymous_answer_min`` (``uniform_answers``). EMAIL_INVALID only
        when the input is not an e-mail address at all. The address is looked up in every
        form an account may be stored in (``login_lookup_forms``)."""
        try:
            forms = login_lookup_forms(login_email)
        except ValueError:
            raise InvalidArgument(
                "EMAIL_INVALID",
                "Adresse e-mail invalide (attendu : nom@domaine.fr).",
                [FieldViolation("login_email", "Adresse e-mail invalide.")],
            ) from None
        async with lasting_at_least(self._rules.anonymous_answer_min):
            sealing_key = await self._sealer.public_key()  # first, for every address alike
            now = self._clock()
            async with self._uow.transaction() as tx:
                # Every active account of this mailbox: two only when a legacy row could not
                # take its canonical form (see legacy_emails); each gets its own link.
                found = await users.find_by_login_forms(tx.conn, forms, for_update=True)
                active = [account for account in found if account.is_active]
                for account in active:
                    await self._issue(tx, account, sealing_key, client, now)
                if not active:
                    await self._decline(tx, forms[0], found, sealing_key, client, now)

    async def _decline(
        self,
        tx: Transaction,
        login_email: str,
        found: list[Account],
        sealing_key: bytes,
        client: ClientContext,
        now: datetime,
    ) -> None:
        """No active account has the address: no link, but the work of one all the same (a
        token made, sealed and dropped; an audit row, so that this transaction writes and
        commits like the other), so that the answer takes as long."""
        user_id = found[0].id if found else None
        seal_link_token(
            sealing_key, new_token(), event_type=events.PasswordResetRequested, user_id=""
        )
        await security_events.record(
            tx.conn,
            SecurityEventKind.PASSWORD_RESET_REQUESTED,
            user_id=user_id,
            client=client,
            now=now,
            outcome="NO_ACTIVE_ACCOUNT",
            **({} if user_id else {"login_email": login_email}),
        )

    async def _issue(
        self,
        tx: Transaction,
        account: Account,
        sealing_key: bytes,
        client: ClientContext,
        now: datetime,
    ) -> None:
        """Supersedes the account's reset links with a new one (in the caller's transaction)."""
        await account_tokens.invalidate_outstanding(
            tx.conn, user_id=account.id, purpose=_PURPOSE, now=now
        )
        token = new_token()
        expires_at = now + self._rules.password_reset_ttl
        await account_tokens.insert_token(
            tx.conn,
            user_id=account.id,
            purpose=_PURPOSE,
            token_hash=hash_token(token),
            now=now,
            expires_at=expires_at,
        )
        sealed = seal_link_token(
            sealing_key, token, event_type=events.PasswordResetRequested, user_id=account.id
        )
        tx.emit(events.PasswordResetRequested(account, expires_at=expires_at, sealed_token=sealed))
        await security_events.record(
            tx.conn,
            SecurityEventKind.PASSWORD_RESET_REQUESTED,
            user_id=account.id,
            client=client,
            now=now,
        )
        log.info("password reset link issued", extra={"user_id": account.id})

    async def _usable(self, token: str) -> tuple[UsableToken, Account]:
        async with self._uow.reading() as conn:
            found = await account_tokens.find_usable(
                conn, purpose=_PURPOSE, token_hash=hash_token(token), now=self._clock()
            )
            account = None if found is None else await users.get_user(conn, found.user_id)
        if not token or found is None or account is None or not account.is_active:
            raise ResetTokenInvalid()
        return found, account

    async def inspect(self, *, token: str) -> ResetLink:
        """The secret question the reset page asks; ResetTokenInvalid for a dead link."""
        found, account = await self._usable(token)
        async with self._uow.reading() as conn:
            stored = await credentials.get_secrets(conn, account.id)
        if stored is None:
            raise ResetTokenInvalid()
        return ResetLink(secret_question=stored.secret_question, expires_at=found.expires_at)

    async def confirm(
        self, *, token: str, secret_answer: str, password: str, client: ClientContext
    ) -> None:
        """Sets the new password, spends the link, revokes every session, emits
        PasswordChanged (the e-mail "votre mot de passe a été modifié").

        Errors (nothing changes): ResetTokenInvalid; SecretAnswerInvalid (counts towards the
        lockout) or AccountLocked; PasswordRejected (the policy's reason codes).
        """
        found, account = await self._usable(token)
        async with self._uow.reading() as conn:
            await self._guard.ensure_not_locked(conn, account.login_email)
            stored = await credentials.get_secrets(conn, account.id)
        answer = normalise_answer(secret_answer)
        right = (
            stored is not None
            and 0 < len(answer) <= ANSWER_MAX_LENGTH
            and await asyncio.to_thread(self._hasher.verify, stored.secret_answer_hash, answer)
        )
        if not right:
            lock = await self._guard.record_failure(
                account.login_email,
                user_id=account.id,
                client=client,
                kind=SecurityEventKind.PASSWORD_RESET_FAILED,
                reason="WRONG_SECRET_ANSWER",
            )
            raise lock or SecretAnswerInvalid()
        problems = self._rules.password_problems(password, account.personal_data)
        if problems:
            raise PasswordRejected(problems)
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        now = self._clock()
        async with self._uow.transaction() as tx:
            locked = await users.get_user(tx.conn, account.id, for_update=True)
            usable = await account_tokens.find_usable(
                tx.conn, purpose=_PURPOSE, token_hash=hash_token(token), now=now, for_update=True
            )
            if usable is None or usable.id != found.id or locked is None or not locked.is_active:
                raise ResetTokenInvalid()
            await account_tokens.mark_used(tx.conn, usable.id, now)
            await credentials.set_password_hash(tx.conn, account.id, password_hash, now)
            revoked = await revocations.revoke_user_sessions(
                tx, account.id, reason=RevokeReason.PASSWORD_RESET, now=now, rules=self._rules
            )
            await LoginGuard.clear(tx.conn, locked.login_email)
            tx.emit(events.PasswordChanged(account.id, by_reset=True, at=now))
            await security_events.record(
                tx.conn,
                SecurityEventKind.PASSWORD_RESET,
                user_id=account.id,
                client=client,
                now=now,
                sessions_revoked=str(len(revoked)),
            )
        log.info("password reset", extra={"user_id": account.id, "sessions_revoked": len(revoked)})
