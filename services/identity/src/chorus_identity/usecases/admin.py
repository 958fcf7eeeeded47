"""Administration: disabling and re-enabling accounts, reading the audit trail, granting the
admin flag (CLI only). Every RPC here needs a caller flagged ``is_admin`` with a live session.
"""

from __future__ import annotations

import base64
import logging
import uuid

from chorus_platform.access_tokens import Principal
from chorus_platform.errors import FieldViolation, InvalidArgument
from chorus_platform.unit_of_work import UnitOfWork

from chorus_identity.domain import events
from chorus_identity.domain.accounts import Account, UserStatus, login_lookup_forms
from chorus_identity.domain.audit import ClientContext, SecurityEvent, SecurityEventKind
from chorus_identity.domain.errors import AdminRequired, UserNotFound
from chorus_identity.domain.sessions import RevokeReason
from chorus_identity.store import credentials, security_events, users
from chorus_identity.usecases import revocations
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.login_guard import LoginGuard
from chorus_identity.usecases.rules import Rules
from chorus_identity.usecases.sessions import Sessions

log = logging.getLogger(__name__)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _user_key(user_id: str, field: str = "user_id") -> str:
    try:
        return str(uuid.UUID(user_id))
    except ValueError:
        raise InvalidArgument(
            "USER_ID_INVALID",
            "Identifiant d'utilisateur invalide.",
            [FieldViolation(field, "UUID attendu.")],
        ) from None


def _decode_cursor(token: str) -> int | None:
    if not token:
        return None
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        raise InvalidArgument(
            "PAGE_TOKEN_INVALID",
            "Le jeton de page est invalide ; relancez la liste depuis la première page.",
            [FieldViolation("page_token", "Jeton de page inconnu ou altéré.")],
        ) from None


class Admin:
    def __init__(
        self, uow: UnitOfWork, sessions_: Sessions, rules: Rules, *, clock: Clock = utc_now
    ) -> None:
        self._uow = uow
        self._sessions = sessions_
        self._rules = rules
        self._clock = clock

    async def _require_admin(self, principal: Principal) -> None:
        await self._sessions.require_live(principal)
        async with self._uow.reading() as conn:
            caller = await users.get_user(conn, principal.user_id)
        if caller is None or not caller.is_admin:
            raise AdminRequired()

    async def disable(
        self, principal: Principal, *, user_id: str, reason: str, client: ClientContext
    ) -> Account:
        """DESACTIVE (by an admin): sessions revoked, login refused, data kept. Idempotent."""
        await self._require_admin(principal)
        key = _user_key(user_id)
        now = self._clock()
        async with self._uow.transaction() as tx:
            account = await users.get_user(tx.conn, key, for_update=True)
            if account is None:
                raise UserNotFound()
            if account.status is UserStatus.DESACTIVE:
                return account
            account = await users.deactivate(tx.conn, key, kind="BY_ADMIN", now=now)
            await revocations.revoke_user_sessions(
                tx, key, reason=RevokeReason.DISABLED_BY_ADMIN, now=now, rules=self._rules
            )
            await revocations.revoke_user_api_clients(tx, key, now=now, rules=self._rules)
            tx.emit(events.UserDeactivated(key, by_admin=True, at=now))
            await security_events.record(
                tx.conn,
                SecurityEventKind.ACCOUNT_DISABLED,
                user_id=key,
                actor_id=principal.user_id,
                client=client,
                now=now,
                reason=reason[:200],
            )
        log.info("account disabled by an admin", extra={"user_id": key})
        return account

    async def enable(self, principal: Principal, *, user_id: str, client: ClientContext) -> Account:
        """Re-enables a deactivated account (ACTIF, or EN_ATTENTE_ACTIVATION if it was never
        activated) and clears its lockout."""
        await self._require_admin(principal)
        key = _user_key(user_id)
        now = self._clock()
        async with self._uow.transaction() as tx:
            account = await users.get_user(tx.conn, key, for_update=True)
            if account is None:
                raise UserNotFound()
            await LoginGuard.clear(tx.conn, account.login_email)
            if account.status is UserStatus.DESACTIVE:
                activated = await credentials.get_password_hash(tx.conn, key) is not None
                status = UserStatus.ACTIF if activated else UserStatus.EN_ATTENTE_ACTIVATION
                account = await users.reactivate(tx.conn, key, now, status=status)
                tx.emit(events.UserReactivated(key, at=now))
            await security_events.record(
                tx.conn,
                SecurityEventKind.ACCOUNT_ENABLED,
                user_id=key,
                actor_id=principal.user_id,
                client=client,
                now=now,
            )
        return account

    async def list_events(
        self,
        principal: Principal,
        *,
        user_id: str,
        kinds: list[str],
        page_size: int,
        page_token: str,
    ) -> tuple[list[SecurityEvent], str]:
        """Audit events newest first, optionally for one user / some kinds; the next page's
        token (empty on the last page)."""
        await self._require_admin(principal)
        key = _user_key(user_id) if user_id else None
        if page_size < 0:
            raise InvalidArgument(
                "PAGE_SIZE_INVALID",
                f"La taille de page doit être positive ({MAX_PAGE_SIZE} au plus).",
                [FieldViolation("page_size", "Nombre positif attendu.")],
            )
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        async with self._uow.reading() as conn:
            rows = await security_events.list_page(
                conn,
                user_id=key,
                kinds=kinds,
                before_seq=_decode_cursor(page_token),
                limit=limit + 1,
            )
        page = rows[:limit]
        more = len(rows) > limit
        next_token = base64.urlsafe_b64encode(str(page[-1][0]).encode()).decode() if more else ""
        return [event for _, event in page], next_token


async def grant_admin(uow: UnitOfWork, login_email: str, *, clock: Clock = utc_now) -> Account:
    """Flags the account as admin (``chorus-identity grant-admin <email>``); UserNotFound,
    or ValueError for a malformed address."""
    forms = login_lookup_forms(login_email)
    now = clock()
    async with uow.transaction() as tx:
        found = await users.find_by_login_forms(tx.conn, forms, for_update=True)
        if not found:
            raise UserNotFound()
        account = found[0]
        await users.set_admin(tx.conn, account.id, now)
        await security_events.record(
            tx.conn,
            SecurityEventKind.ADMIN_GRANTED,
            user_id=account.id,
            client=ClientContext(user_agent="chorus-identity grant-admin"),
            now=now,
        )
    return account
