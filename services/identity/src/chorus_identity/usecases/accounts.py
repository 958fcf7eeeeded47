"""Registration, activation and re-sending of activation links; reading accounts."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import asyncpg
from chorus_platform.errors import FieldViolation, InvalidArgument

from chorus_identity.domain.accounts import (
    Account,
    normalise_login_email,
    parse_user_ids,
    validate_registration,
)
from chorus_identity.domain.errors import ActivationTokenInvalid, PasswordTooWeak, UserNotFound
from chorus_identity.domain.hashing import SecretHasher
from chorus_identity.domain.opaque_tokens import hash_token, new_token
from chorus_identity.domain.password_policy import password_policy_message, password_problems
from chorus_identity.domain.secret_question import validate_secret_question
from chorus_identity.events import outgoing
from chorus_identity.store import account_tokens, credentials, users
from chorus_identity.store.account_tokens import TokenPurpose
from chorus_identity.usecases.clock import Clock, utc_now

log = logging.getLogger(__name__)


class Accounts:
    """The account lifecycle up to activation, and account lookups."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        hasher: SecretHasher,
        *,
        activation_ttl: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._pool = pool
        self._hasher = hasher
        self._activation_ttl = activation_ttl
        self._clock = clock

    async def register(
        self, *, login_email: str, contact_email: str, first_name: str, last_name: str, phone: str
    ) -> Account:
        """Creates a pending account and its first activation link (events in the same commit)."""
        registration = validate_registration(
            login_email=login_email,
            contact_email=contact_email,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
        )
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            account = await users.insert_pending_user(conn, registration, now)
            await outgoing.user_registered(conn, account)
            await self._issue_activation_link(conn, account)
        log.info("account registered", extra={"user_id": account.id})
        return account

    async def resend_activation(self, *, login_email: str) -> None:
        """Supersedes the pending account's links with a new one; silent when there is none."""
        try:
            email = normalise_login_email(login_email)
        except ValueError:
            raise InvalidArgument(
                "EMAIL_INVALID",
                "Adresse e-mail invalide (attendu : nom@domaine.fr).",
                [FieldViolation("login_email", "Adresse e-mail invalide.")],
            ) from None
        async with self._pool.acquire() as conn, conn.transaction():
            account = await users.find_by_login_email(conn, email, for_update=True)
            if account is None or not account.awaits_activation:
                return
            await account_tokens.invalidate_outstanding(
                conn, user_id=account.id, purpose=TokenPurpose.ACTIVATION, now=self._clock()
            )
            await self._issue_activation_link(conn, account)
        log.info("activation link re-issued", extra={"user_id": account.id})

    async def _issue_activation_link(self, conn: asyncpg.Connection, account: Account) -> None:
        now = self._clock()
        token = new_token()
        expires_at = now + self._activation_ttl
        await account_tokens.insert_token(
            conn,
            user_id=account.id,
            purpose=TokenPurpose.ACTIVATION,
            token_hash=hash_token(token),
            now=now,
            expires_at=expires_at,
        )
        await outgoing.activation_link_issued(conn, account, token=token, expires_at=expires_at)

    async def activate(
        self, *, token: str, password: str, secret_question: str, secret_answer: str
    ) -> Account:
        """Sets password and secret answer, spends the link and makes the account ACTIF.

        Checks the link first (so a dead link is reported before anything else), then the
        inputs; hashing happens outside the transaction, which re-checks the link under lock.
        """
        token_hash = hash_token(token)
        async with self._pool.acquire() as conn:
            found = await account_tokens.find_usable(
                conn, purpose=TokenPurpose.ACTIVATION, token_hash=token_hash, now=self._clock()
            )
        if found is None or not token:
            raise ActivationTokenInvalid()
        problems = password_problems(password)
        if problems:
            raise PasswordTooWeak(password_policy_message(problems))
        secret = validate_secret_question(secret_question, secret_answer)
        password_hash, answer_hash = await asyncio.gather(
            asyncio.to_thread(self._hasher.hash, password),
            asyncio.to_thread(self._hasher.hash, secret.normalised_answer),
        )
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            # Lock order user -> token, as in resend_activation.
            account = await users.get_user(conn, found.user_id, for_update=True)
            usable = await account_tokens.find_usable(
                conn,
                purpose=TokenPurpose.ACTIVATION,
                token_hash=token_hash,
                now=now,
                for_update=True,
            )
            if usable is None or account is None or not account.awaits_activation:
                raise ActivationTokenInvalid()
            await account_tokens.mark_used(conn, usable.id, now)
            await credentials.insert_credentials(
                conn,
                user_id=account.id,
                password_hash=password_hash,
                secret_question=secret.question,
                secret_answer_hash=answer_hash,
                now=now,
            )
            account = await users.mark_active(conn, account.id, now)
            await outgoing.user_activated(conn, account)
        log.info("account activated", extra={"user_id": account.id})
        return account

    async def get(self, user_id: str) -> Account:
        """The account with ``user_id``; UserNotFound when there is none."""
        try:
            key = str(uuid.UUID(user_id))
        except ValueError:
            raise UserNotFound() from None
        async with self._pool.acquire() as conn:
            account = await users.get_user(conn, key)
        if account is None:
            raise UserNotFound()
        return account

    async def batch_get(self, *, viewer_id: str, user_ids: list[str]) -> list[Account]:
        """The existing accounts among ``user_ids`` in request order, as ``viewer_id`` sees them."""
        wanted = parse_user_ids(user_ids)
        async with self._pool.acquire() as conn:
            found = {account.id: account for account in await users.get_users(conn, wanted)}
        return [found[str(i)].as_seen_by(viewer_id) for i in wanted if str(i) in found]
