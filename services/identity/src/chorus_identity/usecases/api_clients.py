"""API applications: a user creates, lists and revokes them; a connector exchanges one's
``client_id`` and secret for an access token (``IssueClientToken``, public).

The token is an EdDSA JWT signed with identity's current key, audience ``chorus-cpro`` (only
the Chorus Pro-compatible API accepts it; the services, whose audience is ``chorus``, refuse
it), ``sub`` = ``sid`` = the application's id. Revoking the application emits
``SessionRevoked`` for that id, so every deny-list refuses its tokens at once, and
``ListRevokedSessions`` lists it for one client-token lifetime.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from chorus_platform.access_tokens import CPRO_CLIENT_AUDIENCE, Principal
from chorus_platform.unit_of_work import UnitOfWork

from chorus_identity.domain import events
from chorus_identity.domain.accounts import UserStatus
from chorus_identity.domain.api_clients import (
    MAX_LIVE_CLIENTS_PER_USER,
    ApiClient,
    hash_client_secret,
    new_client_secret,
    secret_matches,
    validate_name,
    validate_scope,
)
from chorus_identity.domain.audit import ClientContext, SecurityEventKind
from chorus_identity.domain.errors import (
    ApiClientIdInvalid,
    ApiClientLimitReached,
    ApiClientNotFound,
    ClientRevoked,
    ClientSecretInvalid,
    ClientUnknown,
)
from chorus_identity.domain.technical_accounts import paris_date
from chorus_identity.store import api_clients, security_events
from chorus_identity.usecases import revocations
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.rules import Rules
from chorus_identity.usecases.sessions import Sessions
from chorus_identity.usecases.signing_keys import KeyRing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewApiClient:
    """A created application and its secret (shown this once)."""

    client: ApiClient
    secret: str

    def __repr__(self) -> str:
        return f"NewApiClient(client={self.client!r})"


@dataclass(frozen=True)
class ClientToken:
    access_token: str
    expires_in: int
    scope: str
    application_id: str

    def __repr__(self) -> str:
        return f"ClientToken(application_id={self.application_id!r})"


def _application_key(application_id: str) -> str:
    try:
        return str(uuid.UUID(application_id))
    except ValueError:
        raise ApiClientIdInvalid() from None


class ApiClients:
    def __init__(
        self,
        uow: UnitOfWork,
        keys: KeyRing,
        sessions_: Sessions,
        rules: Rules,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._keys = keys
        self._sessions = sessions_
        self._rules = rules
        self._clock = clock

    async def _person(self, principal: Principal) -> None:
        """A live session of a person (a technical account manages no credentials)."""
        await self._sessions.require_person(principal)

    async def create(
        self, principal: Principal, *, name: str, client: ClientContext
    ) -> NewApiClient:
        """A new application of the caller, with its secret. Errors: API_CLIENT_NAME_REQUIRED,
        API_CLIENT_NAME_TOO_LONG, API_CLIENT_LIMIT_REACHED, TECHNICAL_ACCOUNT_FORBIDDEN."""
        clean_name = validate_name(name)
        await self._person(principal)
        secret = new_client_secret()
        now = self._clock()
        async with self._uow.transaction() as tx:
            await api_clients.lock_owner(tx.conn, principal.user_id)
            if await api_clients.count_live(tx.conn, principal.user_id) >= (
                MAX_LIVE_CLIENTS_PER_USER
            ):
                raise ApiClientLimitReached(MAX_LIVE_CLIENTS_PER_USER)
            created = await api_clients.insert(
                tx.conn,
                owner_id=principal.user_id,
                name=clean_name,
                secret_sha256=hash_client_secret(secret),
                now=now,
            )
            await security_events.record(
                tx.conn,
                SecurityEventKind.API_CLIENT_CREATED,
                user_id=principal.user_id,
                client=client,
                now=now,
                application_id=created.id,
                client_id=created.client_id,
            )
            tx.emit(events.ApiClientCreated(created))
        log.info("API application created", extra={"application_id": created.id})
        return NewApiClient(created, secret)

    async def list_mine(self, principal: Principal) -> list[ApiClient]:
        """The caller's applications, newest first (revoked ones too)."""
        await self._person(principal)
        async with self._uow.reading() as conn:
            return await api_clients.list_of_owner(conn, principal.user_id)

    async def revoke(
        self, principal: Principal, *, application_id: str, client: ClientContext
    ) -> ApiClient:
        """Revokes one of the caller's applications (idempotent: an already revoked one is
        answered as it is). Errors: API_CLIENT_ID_INVALID, API_CLIENT_NOT_FOUND."""
        key = _application_key(application_id)
        await self._person(principal)
        now = self._clock()
        async with self._uow.transaction() as tx:
            found = await api_clients.get_of_owner(tx.conn, key, principal.user_id, for_update=True)
            if found is None:
                raise ApiClientNotFound()
            if found.revoked:
                return found
            revoked = await api_clients.revoke(tx.conn, key, now)
            revocations.api_client_revoked(tx, revoked, now=now, rules=self._rules)
            await security_events.record(
                tx.conn,
                SecurityEventKind.API_CLIENT_REVOKED,
                user_id=principal.user_id,
                client=client,
                now=now,
                application_id=revoked.id,
                client_id=revoked.client_id,
            )
        log.info("API application revoked", extra={"application_id": key})
        return revoked

    async def issue_token(
        self, *, client_id: str, client_secret: str, scope: str, client: ClientContext
    ) -> ClientToken:
        """An access token for the application, checked in this order: CLIENT_UNKNOWN (no
        such client_id), CLIENT_REVOKED (revoked, or its owner's account not active),
        CLIENT_SECRET_INVALID; SCOPE_INVALID for a malformed scope."""
        granted_scope = validate_scope(scope)
        try:
            key = str(uuid.UUID(client_id.strip()))
        except ValueError:
            raise ClientUnknown() from None
        async with self._uow.reading() as conn:
            found = await api_clients.find_for_token(conn, key)
        if found is None:
            raise ClientUnknown()
        application, stored_sha256, owner_status = found
        if application.revoked_at is not None:
            await self._refused(application, client, "CLIENT_REVOKED")
            raise ClientRevoked(paris_date(application.revoked_at))
        if not secret_matches(client_secret, stored_sha256):
            await self._refused(application, client, "CLIENT_SECRET_INVALID")
            raise ClientSecretInvalid()
        if owner_status is not UserStatus.ACTIF:
            await self._refused(application, client, "OWNER_NOT_ACTIVE")
            raise ClientRevoked(None)
        ttl = self._rules.client_token_ttl
        token = await self._keys.sign(
            user_id=application.id,
            session_id=application.id,
            ttl=ttl,
            audience=CPRO_CLIENT_AUDIENCE,
            extra_claims={"scope": granted_scope},
        )
        async with self._uow.transaction() as tx:
            await api_clients.touch(tx.conn, application.id, self._clock())
        return ClientToken(
            access_token=token,
            expires_in=int(ttl.total_seconds()),
            scope=granted_scope,
            application_id=application.id,
        )

    async def _refused(self, application: ApiClient, client: ClientContext, reason: str) -> None:
        """Audits a refused token request for a known application (its owner's trail)."""
        async with self._uow.transaction() as tx:
            await security_events.record(
                tx.conn,
                SecurityEventKind.CLIENT_TOKEN_REFUSED,
                user_id=application.owner_id,
                client=client,
                now=self._clock(),
                application_id=application.id,
                reason=reason,
            )
