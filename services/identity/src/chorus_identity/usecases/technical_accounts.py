"""Technical accounts: the structure's managers activate, list, renew and revoke them; a
connector authenticates with one (``AuthenticateTechnicalAccount``, public); a periodic scan
reminds the managers before a password expires.

Who may manage them is structures' rule (``clients/structures.py``: the managers), asked
before anything changes. A technical account is a ``users`` row of kind TECHNIQUE (the portal
refuses it) with one session, the ``sid`` of its tokens: renewing the password revokes that
session and opens another, revoking the account revokes it (``SessionRevoked`` both times),
so tokens issued before stop working at once everywhere.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from chorus_platform.access_tokens import TECHNICAL_STRUCTURE_CLAIM, Principal
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_identity.clients.structures import StructuresClient
from chorus_identity.domain import events
from chorus_identity.domain.accounts import UserStatus
from chorus_identity.domain.audit import ClientContext, SecurityEventKind
from chorus_identity.domain.errors import (
    ManagerRequired,
    StructureIdInvalid,
    StructureInactive,
    StructureNotFound,
    TechnicalAccountAlreadyRevoked,
    TechnicalAccountIdInvalid,
    TechnicalAccountLimitReached,
    TechnicalAccountNotFound,
    TechnicalAccountRevokedRefusal,
    TechnicalAccountUnknown,
    TechnicalPasswordExpired,
    TechnicalPasswordInvalid,
)
from chorus_identity.domain.sessions import RevokeReason
from chorus_identity.domain.technical_accounts import (
    LOGIN_MAX_LENGTH,
    MAX_LIVE_ACCOUNTS_PER_STRUCTURE,
    REMINDER_DAYS,
    ExpiryReminder,
    ManagerAccess,
    TechnicalAccount,
    expiry_after,
    hash_password,
    label_of,
    login_for,
    new_password,
    normalise_login,
    paris_date,
    password_matches,
)
from chorus_identity.store import security_events, sessions, technical_accounts, users
from chorus_identity.usecases import revocations
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.login_guard import LoginGuard
from chorus_identity.usecases.rules import Rules
from chorus_identity.usecases.sessions import Sessions
from chorus_identity.usecases.signing_keys import KeyRing

log = logging.getLogger(__name__)
REMINDER_BATCH = 500
"""Accounts one scan claims per threshold and transaction (the scan loops until none)."""
_SESSION_AGENT = "compte technique (API Chorus Pro)"


@dataclass(frozen=True)
class WithPassword:
    """A technical account and its new password (shown this once)."""

    account: TechnicalAccount
    password: str

    def __repr__(self) -> str:
        return f"WithPassword(account={self.account!r})"


@dataclass(frozen=True)
class TechnicalToken:
    access_token: str
    expires_in: int
    structure_id: str
    user_id: str
    password_expires_at: datetime

    def __repr__(self) -> str:
        return f"TechnicalToken(user_id={self.user_id!r})"


def _uuid(raw: str, error: Exception) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise error from None


class TechnicalAccounts:
    def __init__(
        self,
        uow: UnitOfWork,
        keys: KeyRing,
        sessions_: Sessions,
        structures: StructuresClient,
        rules: Rules,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._keys = keys
        self._sessions = sessions_
        self._structures = structures
        self._rules = rules
        self._clock = clock
        self._guard = LoginGuard(uow, rules.lockout, clock)

    # --- managing (managers of the structure) ---

    async def _require_manager(
        self, principal: Principal, structure_id: str, *, hide_as: Exception | None = None
    ) -> None:
        """The caller is a person with a live session managing ``structure_id``; else
        TECHNICAL_ACCOUNT_FORBIDDEN, STRUCTURE_NOT_FOUND (or ``hide_as`` for a caller who is
        no member: an account of a structure they have nothing to do with is "not found"),
        STRUCTURE_INACTIVE, MANAGER_REQUIRED."""
        await self._sessions.require_person(principal)
        access = await self._structures.manager_access(principal, structure_id)
        if access is ManagerAccess.MANAGER:
            return
        if access is ManagerAccess.STRUCTURE_UNKNOWN:
            raise hide_as or StructureNotFound()
        if access is ManagerAccess.NOT_MEMBER and hide_as is not None:
            raise hide_as
        if access is ManagerAccess.STRUCTURE_INACTIVE:
            raise StructureInactive()
        raise ManagerRequired()

    async def create(
        self, principal: Principal, *, structure_id: str, client: ClientContext
    ) -> WithPassword:
        """Activates a technical account for the structure: login TECH_<n>@cpro.chorus.local,
        a password valid ``technical_password_days``, a session. Errors: as
        :meth:`_require_manager`, STRUCTURE_ID_INVALID, TECHNICAL_ACCOUNT_LIMIT_REACHED."""
        structure = _uuid(structure_id, StructureIdInvalid())
        await self._require_manager(principal, structure)
        password = new_password()
        now = self._clock()
        expires_at = expiry_after(now, self._rules.technical_password_days)
        async with self._uow.transaction() as tx:
            await technical_accounts.lock_structure(tx.conn, structure)
            if await technical_accounts.count_live(tx.conn, structure) >= (
                MAX_LIVE_ACCOUNTS_PER_STRUCTURE
            ):
                raise TechnicalAccountLimitReached(MAX_LIVE_ACCOUNTS_PER_STRUCTURE)
            login = login_for(await technical_accounts.next_number(tx.conn))
            while await technical_accounts.login_taken(tx.conn, login):
                login = login_for(await technical_accounts.next_number(tx.conn))
            user = await users.insert_technical_user(
                tx.conn, login=login, label=label_of(login), now=now
            )
            session_id = await self._open_session(tx, user.id, now)
            account = await technical_accounts.insert(
                tx.conn,
                user_id=user.id,
                structure_id=structure,
                login=login,
                password_sha256=hash_password(password),
                session_id=session_id,
                created_by=principal.user_id,
                now=now,
                expires_at=expires_at,
            )
            await self._audit(
                tx, SecurityEventKind.TECHNICAL_ACCOUNT_ACTIVATED, account, principal, client, now
            )
            tx.emit(events.TechnicalAccountActivated(account, actor_id=principal.user_id, at=now))
        log.info(
            "technical account activated",
            extra={"user_id": account.id, "structure_id": structure},
        )
        return WithPassword(account, password)

    async def list_for(self, principal: Principal, *, structure_id: str) -> list[TechnicalAccount]:
        """The structure's technical accounts, newest first (revoked ones too)."""
        structure = _uuid(structure_id, StructureIdInvalid())
        await self._require_manager(principal, structure)
        async with self._uow.reading() as conn:
            return await technical_accounts.list_of_structure(conn, structure)

    async def _managed(
        self, principal: Principal, account_id: str, structure_id: str
    ) -> TechnicalAccount:
        """The account, once the caller is known to manage its structure. NOT_FOUND
        TECHNICAL_ACCOUNT_NOT_FOUND when it does not exist, is not of ``structure_id`` (when
        given) or the caller is no member of its structure."""
        key = _uuid(account_id, TechnicalAccountIdInvalid())
        expected = _uuid(structure_id, TechnicalAccountNotFound()) if structure_id else None
        async with self._uow.reading() as conn:
            account = await technical_accounts.get(conn, key)
        if account is None or expected not in (None, account.structure_id):
            raise TechnicalAccountNotFound()
        await self._require_manager(
            principal, account.structure_id, hide_as=TechnicalAccountNotFound()
        )
        return account

    async def rotate(
        self, principal: Principal, *, account_id: str, structure_id: str, client: ClientContext
    ) -> WithPassword:
        """A new password and expiry (the reminders start again); the account's session is
        revoked (its tokens stop working) and a new one opened. Works on an expired account
        (that is how it is renewed). Errors: TECHNICAL_ACCOUNT_ID_INVALID,
        TECHNICAL_ACCOUNT_NOT_FOUND, FAILED_PRECONDITION TECHNICAL_ACCOUNT_REVOKED, and those
        of :meth:`_require_manager`."""
        found = await self._managed(principal, account_id, structure_id)
        password = new_password()
        now = self._clock()
        async with self._uow.transaction() as tx:
            account = await technical_accounts.get(tx.conn, found.id, for_update=True)
            assert account is not None
            if account.revoked_at is not None:
                raise TechnicalAccountAlreadyRevoked()
            await revocations.revoke_session(
                tx,
                user_id=account.id,
                session_id=account.session_id,
                reason=RevokeReason.TECHNICAL_PASSWORD_ROTATED,
                now=now,
                rules=self._rules,
            )
            session_id = await self._open_session(tx, account.id, now)
            account = await technical_accounts.set_password(
                tx.conn,
                account.id,
                password_sha256=hash_password(password),
                session_id=session_id,
                now=now,
                expires_at=expiry_after(now, self._rules.technical_password_days),
            )
            await self._audit(
                tx, SecurityEventKind.TECHNICAL_PASSWORD_ROTATED, account, principal, client, now
            )
            tx.emit(
                events.TechnicalAccountPasswordRotated(account, actor_id=principal.user_id, at=now)
            )
        log.info("technical account password renewed", extra={"user_id": account.id})
        return WithPassword(account, password)

    async def revoke(
        self, principal: Principal, *, account_id: str, structure_id: str, client: ClientContext
    ) -> TechnicalAccount:
        """Revokes the account for good (idempotent): its users row DESACTIVE, its session
        revoked. Errors: as :meth:`rotate` (but an already revoked account is answered as it
        is)."""
        found = await self._managed(principal, account_id, structure_id)
        now = self._clock()
        async with self._uow.transaction() as tx:
            account = await technical_accounts.get(tx.conn, found.id, for_update=True)
            assert account is not None
            if account.revoked_at is not None:
                return account
            account = await technical_accounts.revoke(
                tx.conn, account.id, by=principal.user_id, now=now
            )
            await users.set_status(tx.conn, account.id, UserStatus.DESACTIVE, now)
            await revocations.revoke_user_sessions(
                tx,
                account.id,
                reason=RevokeReason.TECHNICAL_ACCOUNT_REVOKED,
                now=now,
                rules=self._rules,
            )
            await self._audit(
                tx, SecurityEventKind.TECHNICAL_ACCOUNT_REVOKED, account, principal, client, now
            )
            tx.emit(events.TechnicalAccountRevoked(account, actor_id=principal.user_id, at=now))
        log.info("technical account revoked", extra={"user_id": account.id})
        return account

    async def _open_session(self, tx: Transaction, user_id: str, now: datetime) -> str:
        return await sessions.insert_session(
            tx.conn, user_id=user_id, ip_address="", user_agent=_SESSION_AGENT, now=now
        )

    @staticmethod
    async def _audit(
        tx: Transaction,
        kind: SecurityEventKind,
        account: TechnicalAccount,
        principal: Principal,
        client: ClientContext,
        now: datetime,
    ) -> None:
        await security_events.record(
            tx.conn,
            kind,
            user_id=account.id,
            actor_id=principal.user_id,
            client=client,
            now=now,
            structure_id=account.structure_id,
            login=account.login,
        )

    # --- authenticating (public) ---

    async def authenticate(
        self, *, login: str, password: str, client: ClientContext
    ) -> TechnicalToken:
        """A short-lived access token (audience ``chorus``, claim ``tst`` = the structure)
        for the account's session. Refusals, in this order: ACCOUNT_LOCKED (too many
        failures on this login), TECHNICAL_ACCOUNT_UNKNOWN, TECHNICAL_ACCOUNT_REVOKED,
        TECHNICAL_PASSWORD_INVALID (counts towards the lockout), TECHNICAL_PASSWORD_EXPIRED.
        """
        key = normalise_login(login)
        if not key or len(key) > LOGIN_MAX_LENGTH:
            raise TechnicalAccountUnknown()
        async with self._uow.reading() as conn:
            await self._guard.ensure_not_locked(conn, key)
            found = await technical_accounts.find_for_login(conn, key)
        if found is None:
            raise TechnicalAccountUnknown()
        account, stored_sha256, user_active = found
        if account.revoked_at is not None or not user_active:
            raise TechnicalAccountRevokedRefusal(paris_date(account.revoked_at or self._clock()))
        if not password_matches(password, stored_sha256):
            lock = await self._guard.record_failure(
                key,
                user_id=account.id,
                client=client,
                kind=SecurityEventKind.TECHNICAL_LOGIN_FAILED,
                reason="WRONG_PASSWORD",
                notify_owner=False,
            )
            raise lock or TechnicalPasswordInvalid()
        now = self._clock()
        if account.expires_at <= now:
            raise TechnicalPasswordExpired(paris_date(account.expires_at))
        async with self._uow.transaction() as tx:
            await LoginGuard.clear(tx.conn, key)
        ttl = min(self._rules.technical_token_ttl, self._rules.access_token_ttl)
        token = await self._keys.sign(
            user_id=account.id,
            session_id=account.session_id,
            ttl=ttl,
            extra_claims={TECHNICAL_STRUCTURE_CLAIM: account.structure_id},
        )
        return TechnicalToken(
            access_token=token,
            expires_in=int(ttl.total_seconds()),
            structure_id=account.structure_id,
            user_id=account.id,
            password_expires_at=account.expires_at,
        )

    # --- expiry reminders (background) ---

    async def send_expiry_reminders(self) -> list[ExpiryReminder]:
        """Emits ``TechnicalAccountPasswordExpiring`` for every live account whose password
        expires within 30 days (then within 7), once per threshold: the flag is set in the
        transaction that emits, on rows claimed with ``FOR UPDATE SKIP LOCKED``, so replicas
        scanning at the same time never remind twice. The closest threshold first: an
        account already within 7 days gets that reminder only."""
        sent: list[ExpiryReminder] = []
        thresholds = sorted(REMINDER_DAYS)
        for index, days in enumerate(thresholds):
            closer = thresholds[index - 1] if index else None
            while True:
                now = self._clock()
                async with self._uow.transaction() as tx:
                    claimed = await technical_accounts.claim_reminders(
                        tx.conn, days=days, now=now, later_threshold=closer, limit=REMINDER_BATCH
                    )
                    for reminder in claimed:
                        tx.emit(events.TechnicalAccountPasswordExpiring(reminder))
                sent += claimed
                if len(claimed) < REMINDER_BATCH:
                    break
        if sent:
            log.info("technical password expiry reminders", extra={"reminders": len(sent)})
        return sent

    async def remind_on_schedule(self, *, every_seconds: float) -> None:
        """Background job: :meth:`send_expiry_reminders` every ``every_seconds``."""
        while True:
            try:
                await self.send_expiry_reminders()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("technical password expiry scan failed; will retry", exc_info=True)
            await asyncio.sleep(every_seconds)
