"""Handlers of technical accounts: the managers' (create, list, renew, revoke; structures
says who is a manager) and the public authentication of a connector
(``AuthenticateTechnicalAccount``, what the ``cpro-account`` header is checked with)."""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.auth import current_principal

from chorus_identity.api.client_context import client_context
from chorus_identity.api.mapping import technical_account_to_proto, timestamp
from chorus_identity.usecases.clock import Clock
from chorus_identity.usecases.technical_accounts import TechnicalAccounts


class TechnicalAccountHandlers:
    """CreateTechnicalAccount, ListTechnicalAccounts, RotateTechnicalAccountPassword,
    RevokeTechnicalAccount, AuthenticateTechnicalAccount."""

    _technical: TechnicalAccounts
    _clock: Clock

    async def CreateTechnicalAccount(self, request, context) -> pb.CreateTechnicalAccountResponse:
        """Activates a technical account for the structure: login
        ``TECH_<n>@cpro.chorus.local``, a password of 24 random characters (shown this once,
        stored as SHA-256) valid ``CHORUS_TECHNICAL_PASSWORD_DAYS`` (365) days;
        TechnicalAccountActivated. At most 10 unrevoked accounts per structure.

        Errors: UNAUTHENTICATED; PERMISSION_DENIED TECHNICAL_ACCOUNT_FORBIDDEN,
        MANAGER_REQUIRED (the caller is no principal or secondary manager of the structure);
        INVALID_ARGUMENT STRUCTURE_ID_INVALID; NOT_FOUND STRUCTURE_NOT_FOUND;
        FAILED_PRECONDITION STRUCTURE_INACTIVE, TECHNICAL_ACCOUNT_LIMIT_REACHED; UNAVAILABLE
        STRUCTURES_UNAVAILABLE.
        """
        created = await self._technical.create(
            current_principal(), structure_id=request.structure_id, client=client_context(context)
        )
        return pb.CreateTechnicalAccountResponse(
            account=technical_account_to_proto(created.account, self._clock()),
            password=created.password,
        )

    async def ListTechnicalAccounts(self, request, context) -> pb.ListTechnicalAccountsResponse:
        """The structure's technical accounts, newest first, with their status (ACTIF,
        EXPIRE, REVOQUE) and expiry. Managers only; errors as CreateTechnicalAccount."""
        accounts = await self._technical.list_for(
            current_principal(), structure_id=request.structure_id
        )
        now = self._clock()
        return pb.ListTechnicalAccountsResponse(
            accounts=[technical_account_to_proto(a, now) for a in accounts]
        )

    async def RotateTechnicalAccountPassword(
        self, request, context
    ) -> pb.RotateTechnicalAccountPasswordResponse:
        """A new password (shown once) and expiry for the account, expired or not; the
        previous password and every token issued with it stop working at once (its session
        is revoked: SessionRevoked TECHNICAL_PASSWORD_ROTATED); TechnicalAccountPasswordRotated.

        Errors: UNAUTHENTICATED; PERMISSION_DENIED TECHNICAL_ACCOUNT_FORBIDDEN,
        MANAGER_REQUIRED; INVALID_ARGUMENT TECHNICAL_ACCOUNT_ID_INVALID; NOT_FOUND
        TECHNICAL_ACCOUNT_NOT_FOUND (unknown, not of ``structure_id`` when given, or of a
        structure the caller is no member of); FAILED_PRECONDITION TECHNICAL_ACCOUNT_REVOKED,
        STRUCTURE_INACTIVE.
        """
        renewed = await self._technical.rotate(
            current_principal(),
            account_id=request.id,
            structure_id=request.structure_id,
            client=client_context(context),
        )
        return pb.RotateTechnicalAccountPasswordResponse(
            account=technical_account_to_proto(renewed.account, self._clock()),
            password=renewed.password,
        )

    async def RevokeTechnicalAccount(self, request, context) -> pb.RevokeTechnicalAccountResponse:
        """Revokes the account for good: authentication refused from now on, its tokens
        refused at once (SessionRevoked TECHNICAL_ACCOUNT_REVOKED); TechnicalAccountRevoked.
        Idempotent. Errors: as RotateTechnicalAccountPassword (without
        TECHNICAL_ACCOUNT_REVOKED)."""
        revoked = await self._technical.revoke(
            current_principal(),
            account_id=request.id,
            structure_id=request.structure_id,
            client=client_context(context),
        )
        return pb.RevokeTechnicalAccountResponse(
            account=technical_account_to_proto(revoked, self._clock())
        )

    async def AuthenticateTechnicalAccount(
        self, request, context
    ) -> pb.AuthenticateTechnicalAccountResponse:
        """Public: an access token for the technical account — audience ``chorus``, ``sub``
        = its user id, ``sid`` = its session, claim ``tst`` = its structure, lifetime
        ``CHORUS_TECHNICAL_TOKEN_TTL_SECONDS`` (300). The login is matched whatever its case.

        Errors: UNAUTHENTICATED TECHNICAL_ACCOUNT_UNKNOWN, TECHNICAL_ACCOUNT_REVOKED (metadata
        ``revoked_on``), TECHNICAL_PASSWORD_INVALID (counts towards the login's lockout),
        TECHNICAL_PASSWORD_EXPIRED (metadata ``expired_on``, YYYY-MM-DD); FAILED_PRECONDITION
        ACCOUNT_LOCKED (``CHORUS_LOGIN_MAX_FAILURES`` wrong passwords in a row; metadata
        ``locked_until``, ``retry_after_seconds``). Each message says what to do.
        """
        issued = await self._technical.authenticate(
            login=request.login,
            password=request.password,
            client=client_context(context, request.client),
        )
        return pb.AuthenticateTechnicalAccountResponse(
            access_token=issued.access_token,
            expires_in=issued.expires_in,
            structure_id=issued.structure_id,
            user_id=issued.user_id,
            password_expires_at=timestamp(issued.password_expires_at),
        )
