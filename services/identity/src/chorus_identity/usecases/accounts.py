"""Registration, activation and re-sending of activation links; reading accounts."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime

from chorus_platform.errors import FieldViolation, InvalidArgument
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_identity.clients.sealing import TokenSealer
from chorus_identity.domain import events
from chorus_identity.domain.accounts import (
    EXISTING_ACCOUNT_NOTICE_INTERVAL,
    Account,
    Registration,
    login_lookup_forms,
    parse_user_ids,
    validate_registration,
)
from chorus_identity.domain.audit import ClientContext, SecurityEventKind
from chorus_identity.domain.errors import (
    AccountAlreadyExists,
    ActivationTokenInvalid,
    PasswordRejected,
    TermsNotAccepted,
    UserNotFound,
)
from chorus_identity.domain.hashing import SecretHasher
from chorus_identity.domain.opaque_tokens import hash_token, new_token
from chorus_identity.domain.sealed_tokens import seal_link_token
from chorus_identity.domain.secret_question import validate_secret_question
from chorus_identity.store import account_tokens, credentials, security_events, users
from chorus_identity.store.account_tokens import TokenPurpose
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.rules import Rules
from chorus_identity.usecases.uniform_answers import lasting_at_least

log = logging.getLogger(__name__)


class Accounts:
    """The account lifecycle up to activation, and account lookups."""

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

    def _check_terms(self, accepted: bool, version: str) -> None:
        if not accepted:
            raise TermsNotAccepted(
                "TERMS_NOT_ACCEPTED",
                "Vous devez accepter les conditions générales d'utilisation pour créer un compte.",
            )
        if version and version != self._rules.terms_version:
            raise TermsNotAccepted(
                "TERMS_VERSION_OUTDATED",
                "Les conditions générales d'utilisation ont changé : relisez la version "
                f"{self._rules.terms_version} et acceptez-la.",
            )

    async def register(
        self,
        *,
        login_email: str,
        contact_email: str,
        first_name: str,
        last_name: str,
        phone: str,
        terms_accepted: bool,
        terms_version: str,
        client: ClientContext,
    ) -> None:
        """Registers ``login_email``, answering alike whether or not it already has an account.

        A free address gets a pending account and its first activation link (UserRegistered
        and ActivationLinkIssued in the same commit; the current terms-of-use version is
        recorded). An address that has an account changes nothing of it: a pending account
        gets a new activation link (as ResendActivation would), an active or deactivated one
        ExistingAccountRegistrationAttempted, the notice to its owner (at most one per
        ``EXISTING_ACCOUNT_NOTICE_INTERVAL``). Either way it returns nothing, no sooner than
        ``rules.anonymous_answer_min`` (``uniform_answers``).

        Errors, alike for every address: the input rules' reasons, TermsNotAccepted;
        NotificationsUnavailable (nothing stored) when the link cannot be sealed.
        """
        registration = validate_registration(
            login_email=login_email,
            contact_email=contact_email,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
        )
        self._check_terms(terms_accepted, terms_version)
        async with lasting_at_least(self._rules.anonymous_answer_min):
            sealing_key = await self._sealer.public_key()
            try:
                await self._register(registration, sealing_key, client)
            except AccountAlreadyExists:
                # Another registration of this address committed meanwhile: it sent the
                # mailbox its link, and this one answers like it.
                log.info("registration raced another one for the same address")

    async def _register(
        self, registration: Registration, sealing_key: bytes, client: ClientContext
    ) -> None:
        now = self._clock()
        async with self._uow.transaction() as tx:
            # The unique index sees only the exact form: an account stored in the legacy form
            # of the same mailbox (Unicode domain) has the address too.
            existing = await users.find_by_login_forms(
                tx.conn, login_lookup_forms(registration.login_email), for_update=True
            )
            if existing:
                await self._tell_owner(tx, existing[0], sealing_key, client, now)
                return
            account = await users.insert_pending_user(
                tx.conn, registration, now, terms_version=self._rules.terms_version
            )
            tx.emit(events.UserRegistered(account))
            await self._issue_activation_link(tx, account, sealing_key)
            await security_events.record(
                tx.conn,
                SecurityEventKind.ACCOUNT_REGISTERED,
                user_id=account.id,
                client=client,
                now=now,
                terms_version=self._rules.terms_version,
            )
        log.info("account registered", extra={"user_id": account.id})

    async def _tell_owner(
        self,
        tx: Transaction,
        account: Account,
        sealing_key: bytes,
        client: ClientContext,
        now: datetime,
    ) -> None:
        """The registration named ``account``'s login e-mail: a pending account gets a new
        activation link, another the notice (unless one went out within the interval)."""
        kind = SecurityEventKind.EXISTING_ACCOUNT_REGISTRATION_ATTEMPTED
        if account.awaits_activation:
            await account_tokens.invalidate_outstanding(
                tx.conn, user_id=account.id, purpose=TokenPurpose.ACTIVATION, now=now
            )
            await self._issue_activation_link(tx, account, sealing_key)
            outcome = "ACTIVATION_LINK_REISSUED"
        else:
            last = await security_events.last_occurred_at(
                tx.conn, kind, user_id=account.id, detail=("outcome", "NOTICE_SENT")
            )
            if last is not None and now - last < EXISTING_ACCOUNT_NOTICE_INTERVAL:
                outcome = "NOTICE_ALREADY_SENT"
            else:
                tx.emit(events.ExistingAccountRegistrationAttempted(account, at=now))
                outcome = "NOTICE_SENT"
        await security_events.record(
            tx.conn, kind, user_id=account.id, client=client, now=now, outcome=outcome
        )
        log.info(
            "registration of an existing account's address",
            extra={"user_id": account.id, "outcome": outcome},
        )

    async def resend_activation(self, *, login_email: str, client: ClientContext) -> None:
        """Supersedes the pending account's links with a new one; silent when there is none.

        The sealing key is fetched first, whether or not the account exists, so that even an
        outage of notifications answers alike for every address; the answer comes no sooner
        than ``rules.anonymous_answer_min`` (``uniform_answers``).
        """
        try:
            forms = login_lookup_forms(login_email)
        except ValueError:
            raise InvalidArgument(
                "EMAIL_INVALID",
                "Adresse e-mail invalide (attendu : nom@domaine.fr).",
                [FieldViolation("login_email", "Adresse e-mail invalide.")],
            ) from None
        async with lasting_at_least(self._rules.anonymous_answer_min):
            await self._resend(forms, client)

    async def _resend(self, forms: tuple[str, ...], client: ClientContext) -> None:
        sealing_key = await self._sealer.public_key()
        async with self._uow.transaction() as tx:
            pending = [
                found
                for found in await users.find_by_login_forms(tx.conn, forms, for_update=True)
                if found.awaits_activation
            ]
            if not pending:
                return
            account = pending[0]
            now = self._clock()
            await account_tokens.invalidate_outstanding(
                tx.conn, user_id=account.id, purpose=TokenPurpose.ACTIVATION, now=now
            )
            await self._issue_activation_link(tx, account, sealing_key)
            await security_events.record(
                tx.conn,
                SecurityEventKind.ACTIVATION_LINK_RESENT,
                user_id=account.id,
                client=client,
                now=now,
            )
        log.info("activation link re-issued", extra={"user_id": account.id})

    async def _issue_activation_link(
        self, tx: Transaction, account: Account, sealing_key: bytes
    ) -> None:
        now = self._clock()
        token = new_token()
        expires_at = now + self._rules.activation_ttl
        await account_tokens.insert_token(
            tx.conn,
            user_id=account.id,
            purpose=TokenPurpose.ACTIVATION,
            token_hash=hash_token(token),
            now=now,
            expires_at=expires_at,
        )
        sealed = seal_link_token(
            sealing_key, token, event_type=events.ActivationLinkIssued, user_id=account.id
        )
        tx.emit(events.ActivationLinkIssued(account, expires_at=expires_at, sealed_token=sealed))

    async def activate(
        self,
        *,
        token: str,
        password: str,
        secret_question: str,
        secret_answer: str,
        client: ClientContext,
    ) -> Account:
        """Sets password and secret answer, spends the link and makes the account ACTIF.

        Checks the link first (so a dead link is reported before anything else), then the
        inputs; hashing happens outside the transaction, which re-checks the link under lock.
        """
        token_hash = hash_token(token)
        async with self._uow.reading() as conn:
            found = await account_tokens.find_usable(
                conn, purpose=TokenPurpose.ACTIVATION, token_hash=token_hash, now=self._clock()
            )
            pending = None if found is None else await users.get_user(conn, found.user_id)
        if found is None or pending is None or not token:
            raise ActivationTokenInvalid()
        problems = self._rules.password_problems(password, pending.personal_data)
        if problems:
            raise PasswordRejected(problems)
        secret = validate_secret_question(secret_question, secret_answer)
        password_hash, answer_hash = await asyncio.gather(
            asyncio.to_thread(self._hasher.hash, password),
            asyncio.to_thread(self._hasher.hash, secret.normalised_answer),
        )
        now = self._clock()
        async with self._uow.transaction() as tx:
            # Lock order user -> token, as in resend_activation.
            account = await users.get_user(tx.conn, found.user_id, for_update=True)
            usable = await account_tokens.find_usable(
                tx.conn,
                purpose=TokenPurpose.ACTIVATION,
                token_hash=token_hash,
                now=now,
                for_update=True,
            )
            if usable is None or account is None or not account.awaits_activation:
                raise ActivationTokenInvalid()
            await account_tokens.mark_used(tx.conn, usable.id, now)
            await credentials.insert_credentials(
                tx.conn,
                user_id=account.id,
                password_hash=password_hash,
                secret_question=secret.question,
                secret_answer_hash=answer_hash,
                now=now,
            )
            account = await users.mark_active(tx.conn, account.id, now)
            tx.emit(events.UserActivated(account))
            await security_events.record(
                tx.conn,
                SecurityEventKind.ACCOUNT_ACTIVATED,
                user_id=account.id,
                client=client,
                now=now,
            )
        log.info("account activated", extra={"user_id": account.id})
        return account

    async def get(self, user_id: str) -> Account:
        """The account with ``user_id``; UserNotFound when there is none."""
        try:
            key = str(uuid.UUID(user_id))
        except ValueError:
            raise UserNotFound() from None
        async with self._uow.reading() as conn:
            account = await users.get_user(conn, key)
        if account is None:
            raise UserNotFound()
        return account

    async def get_as_seen_by(self, *, viewer_id: str, user_id: str) -> Account:
        """One account as ``viewer_id`` may see it; UserNotFound when there is none."""
        return (await self.get(user_id)).as_seen_by(viewer_id)

    async def find_by_login_email(self, *, viewer_id: str, login_email: str) -> Account:
        """The account with this login e-mail; UserNotFound when none (or not an e-mail)."""
        try:
            forms = login_lookup_forms(login_email)
        except ValueError:
            raise UserNotFound() from None
        async with self._uow.reading() as conn:
            found = await users.find_by_login_forms(conn, forms)
        if not found:
            raise UserNotFound()
        return found[0].as_seen_by(viewer_id)

    async def batch_get(self, *, viewer_id: str, user_ids: list[str]) -> list[Account]:
        """The existing accounts among ``user_ids`` in request order, as ``viewer_id`` sees them."""
        wanted = parse_user_ids(user_ids)
        async with self._uow.reading() as conn:
            found = {account.id: account for account in await users.get_users(conn, wanted)}
        return [found[str(i)].as_seen_by(viewer_id) for i in wanted if str(i) in found]
