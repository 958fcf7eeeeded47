"""Handlers of API applications: the caller's own (create, list, revoke) and the public token
request of a connector (``IssueClientToken``, what ``/api/oauth/token`` calls)."""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.auth import current_principal

from chorus_identity.api.client_context import client_context
from chorus_identity.api.mapping import api_client_to_proto
from chorus_identity.usecases.api_clients import ApiClients


class ApiClientHandlers:
    """CreateApiClient, ListApiClients, RevokeApiClient, IssueClientToken."""

    _api_clients: ApiClients

    async def CreateApiClient(self, request, context) -> pb.CreateApiClientResponse:
        """A new API application of the caller: ``client_id`` (random UUID) and
        ``client_secret`` (32 random bytes, base64url), shown this once and stored as SHA-256;
        ApiClientCreated. At most 20 unrevoked applications per user.

        Errors: UNAUTHENTICATED (incl. SESSION_REVOKED); PERMISSION_DENIED
        TECHNICAL_ACCOUNT_FORBIDDEN (a technical account's token); INVALID_ARGUMENT
        API_CLIENT_NAME_REQUIRED, API_CLIENT_NAME_TOO_LONG (100); FAILED_PRECONDITION
        API_CLIENT_LIMIT_REACHED.
        """
        created = await self._api_clients.create(
            current_principal(), name=request.name, client=client_context(context)
        )
        return pb.CreateApiClientResponse(
            client=api_client_to_proto(created.client), client_secret=created.secret
        )

    async def ListApiClients(self, request, context) -> pb.ListApiClientsResponse:
        """The caller's applications, newest first, revoked ones included (never a secret).
        Errors: UNAUTHENTICATED; PERMISSION_DENIED TECHNICAL_ACCOUNT_FORBIDDEN."""
        mine = await self._api_clients.list_mine(current_principal())
        return pb.ListApiClientsResponse(clients=[api_client_to_proto(c) for c in mine])

    async def RevokeApiClient(self, request, context) -> pb.RevokeApiClientResponse:
        """Revokes one of the caller's applications: no token is issued for it any more, and
        those issued are refused at once everywhere (ApiClientRevoked + SessionRevoked with
        ``session_id`` = the application's id, reason API_CLIENT_REVOKED, valid until the
        last token expires). Idempotent (an already revoked one is answered unchanged).

        Errors: UNAUTHENTICATED; PERMISSION_DENIED TECHNICAL_ACCOUNT_FORBIDDEN;
        INVALID_ARGUMENT API_CLIENT_ID_INVALID; NOT_FOUND API_CLIENT_NOT_FOUND (not the
        caller's).
        """
        revoked = await self._api_clients.revoke(
            current_principal(), application_id=request.id, client=client_context(context)
        )
        return pb.RevokeApiClientResponse(client=api_client_to_proto(revoked))

    async def IssueClientToken(self, request, context) -> pb.IssueClientTokenResponse:
        """Public (OAuth2 client credentials): an access token for the application —
        EdDSA JWT, audience ``chorus-cpro``, ``sub`` = ``sid`` = ``application_id``, claim
        ``scope``, lifetime ``CHORUS_CLIENT_TOKEN_TTL_SECONDS`` (3600). ``scope`` is echoed
        (``openid`` when empty). Records the use (``last_used_at``, to the minute).

        Errors: UNAUTHENTICATED CLIENT_UNKNOWN (no such client_id), CLIENT_REVOKED (revoked
        application, or its owner's account deactivated), CLIENT_SECRET_INVALID;
        INVALID_ARGUMENT SCOPE_INVALID (RFC 6749 §3.3 syntax, 256 characters at most).
        """
        issued = await self._api_clients.issue_token(
            client_id=request.client_id,
            client_secret=request.client_secret,
            scope=request.scope,
            client=client_context(context, request.client),
        )
        return pb.IssueClientTokenResponse(
            access_token=issued.access_token,
            expires_in=issued.expires_in,
            scope=issued.scope,
            application_id=issued.application_id,
        )
