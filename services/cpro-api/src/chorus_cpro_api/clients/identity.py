"""IdentityService calls: API applications' tokens, technical accounts, users' names."""

from __future__ import annotations

import grpc
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc

from chorus_cpro_api.clients.caller import Caller


class IdentityClient:
    """Thin wrapper over the identity stub; the channel gives every call its deadline."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.IdentityServiceStub(channel)

    async def issue_client_token(
        self, client_id: str, client_secret: str, scope: str, caller: Caller
    ) -> pb.IssueClientTokenResponse:
        """Public: an access token (audience chorus-cpro) for an API application.
        UNAUTHENTICATED CLIENT_UNKNOWN / CLIENT_SECRET_INVALID / CLIENT_REVOKED."""
        request = pb.IssueClientTokenRequest(
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            client=pb.ClientInfo(ip_address=caller.ip_address),
        )
        return await self._stub.IssueClientToken(request, metadata=caller.metadata())

    async def authenticate_technical_account(
        self, login: str, password: str, caller: Caller
    ) -> pb.AuthenticateTechnicalAccountResponse:
        """Public: a technical account's access token. UNAUTHENTICATED
        TECHNICAL_ACCOUNT_UNKNOWN / TECHNICAL_PASSWORD_INVALID / TECHNICAL_PASSWORD_EXPIRED /
        TECHNICAL_ACCOUNT_REVOKED; FAILED_PRECONDITION ACCOUNT_LOCKED after repeated failures."""
        request = pb.AuthenticateTechnicalAccountRequest(
            login=login, password=password, client=pb.ClientInfo(ip_address=caller.ip_address)
        )
        return await self._stub.AuthenticateTechnicalAccount(request, metadata=caller.metadata())

    async def batch_get_users(self, user_ids: list[str], caller: Caller) -> list[pb.User]:
        response = await self._stub.BatchGetUsers(
            pb.BatchGetUsersRequest(user_ids=user_ids), metadata=caller.metadata()
        )
        return list(response.users)
