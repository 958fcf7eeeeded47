"""Revoking sessions, the one way every use case does it, and the list of revoked sessions
whose access tokens may still be valid.

:func:`revoke_session` and :func:`revoke_user_sessions` revoke in the caller's transaction and
emit one ``SessionRevoked`` per session that call revoked (none for a session already
revoked), so the event exists if and only if the revocation commits. Every service's
deny-list (``chorus_platform.revocation``) follows these events and refuses the session's
access tokens until they expire. :class:`RevokedSessions` is what a deny-list loads when it
starts (the ListRevokedSessions RPC).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timedelta

from chorus_platform.errors import FieldViolation, InvalidArgument
from chorus_platform.unit_of_work import Transaction, UnitOfWork

from chorus_identity.domain.api_clients import ApiClient
from chorus_identity.domain.events import ApiClientRevoked, SessionRevoked
from chorus_identity.domain.sessions import RevokedSession, RevokeReason, tokens_valid_until
from chorus_identity.store import api_clients, sessions
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.rules import Rules

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 5000


def _revoked(
    user_id: str, session_id: str, reason: RevokeReason, now: datetime, rules: Rules
) -> SessionRevoked:
    return SessionRevoked(
        user_id=user_id,
        session_id=session_id,
        reason=reason,
        revoked_at=now,
        tokens_valid_until=tokens_valid_until(now, rules.access_token_ttl),
    )


async def revoke_session(
    tx: Transaction,
    *,
    user_id: str,
    session_id: str,
    reason: RevokeReason,
    now: datetime,
    rules: Rules,
) -> bool:
    """Revokes one session of ``user_id`` unless it already is (then False, no event)."""
    revoked = await sessions.revoke_session(tx.conn, session_id, reason=reason, now=now)
    if revoked:
        tx.emit(_revoked(user_id, session_id, reason, now, rules))
    return revoked


async def revoke_user_sessions(
    tx: Transaction,
    user_id: str,
    *,
    reason: RevokeReason,
    now: datetime,
    rules: Rules,
    except_session: str | None = None,
) -> list[str]:
    """Revokes every live session of ``user_id`` but ``except_session``; their ids."""
    revoked = await sessions.revoke_user_sessions(
        tx.conn, user_id, reason=reason, now=now, except_session=except_session
    )
    for session_id in revoked:
        tx.emit(_revoked(user_id, session_id, reason, now, rules))
    return revoked


def api_client_revoked(tx: Transaction, client: ApiClient, *, now: datetime, rules: Rules) -> None:
    """Emits what revoking an API application means: ``ApiClientRevoked``, and a
    ``SessionRevoked`` for the application's id (the "sid" of its tokens) until its last
    token has expired (one client-token lifetime)."""
    tx.emit(ApiClientRevoked(client))
    tx.emit(
        SessionRevoked(
            user_id=client.owner_id,
            session_id=client.id,
            reason=RevokeReason.API_CLIENT_REVOKED,
            revoked_at=now,
            tokens_valid_until=tokens_valid_until(now, rules.client_token_ttl),
        )
    )


async def revoke_user_api_clients(
    tx: Transaction, user_id: str, *, now: datetime, rules: Rules
) -> list[str]:
    """Revokes every API application of ``user_id`` (an account deactivated or disabled: its
    connectors stop at once); their ids."""
    revoked = await api_clients.revoke_all_of_owner(tx.conn, user_id, now)
    for client in revoked:
        api_client_revoked(tx, client, now=now, rules=rules)
    return [client.id for client in revoked]


def _page_token(revoked_at: datetime, session_id: str) -> str:
    return base64.urlsafe_b64encode(f"{revoked_at.isoformat()}|{session_id}".encode()).decode()


def _page_token_invalid() -> InvalidArgument:
    return InvalidArgument(
        "PAGE_TOKEN_INVALID",
        "Le jeton de page est invalide ; relancez la liste depuis la première page.",
        [FieldViolation("page_token", "Jeton de page inconnu ou altéré.")],
    )


def _after(page_token: str) -> tuple[datetime, str] | None:
    """The (revoked_at, id) key a page token continues after; None for the first page."""
    if not page_token:
        return None
    try:
        text = base64.urlsafe_b64decode(page_token.encode()).decode()
        moment, _, session_id = text.partition("|")
        revoked_at, key = datetime.fromisoformat(moment), str(uuid.UUID(session_id))
    except (ValueError, binascii.Error):
        raise _page_token_invalid() from None
    if revoked_at.tzinfo is None:
        raise _page_token_invalid()
    return revoked_at, key


class RevokedSessions:
    """The sessions revoked less than one access-token lifetime ago, and the API applications
    revoked less than one client-token lifetime ago (an application's id is the "sid" of its
    tokens): their tokens may still be unexpired, so every service keeps them on its
    deny-list."""

    def __init__(self, uow: UnitOfWork, rules: Rules, *, clock: Clock = utc_now) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock

    async def page(
        self, *, revoked_since: datetime | None, page_size: int, page_token: str
    ) -> tuple[list[RevokedSession], str]:
        """One page, oldest revocation first, and the next page's token (empty on the last).

        ``revoked_since`` earlier than one token lifetime ago (or None) means the whole
        window. Errors: PAGE_SIZE_INVALID (negative), PAGE_TOKEN_INVALID."""
        if page_size < 0:
            raise InvalidArgument(
                "PAGE_SIZE_INVALID",
                f"La taille de page doit être positive ({MAX_PAGE_SIZE} au plus).",
                [FieldViolation("page_size", "Nombre positif attendu.")],
            )
        limit = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _after(page_token)
        ttl, client_ttl = self._rules.access_token_ttl, self._rules.client_token_ttl
        now = self._clock()

        def since(window: timedelta) -> datetime:
            start = now - window
            return start if revoked_since is None else max(revoked_since, start)

        async with self._uow.reading() as conn:
            rows = await sessions.list_revoked(
                conn,
                revoked_since=since(ttl),
                clients_revoked_since=since(client_ttl),
                after=after,
                limit=limit + 1,
            )
        page = [
            RevokedSession(
                id=id_,
                revoked_at=at,
                tokens_valid_until=tokens_valid_until(at, client_ttl if is_client else ttl),
            )
            for id_, at, is_client in rows[:limit]
        ]
        more = len(rows) > limit
        return page, _page_token(page[-1].revoked_at, page[-1].id) if more else ""

    async def all(self, *, revoked_since: datetime | None = None) -> list[RevokedSession]:
        """Every page (identity's own deny-list reads it so, without a call to itself)."""
        found: list[RevokedSession] = []
        token = ""
        while True:
            page, token = await self.page(
                revoked_since=revoked_since, page_size=MAX_PAGE_SIZE, page_token=token
            )
            found += page
            if not token:
                return found
