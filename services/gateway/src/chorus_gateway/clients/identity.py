"""IdentityService calls: accounts, sessions, public keys."""

from __future__ import annotations

import grpc
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc

from chorus_gateway.clients.caller import Caller


class IdentityClient:
    """Thin wrapper over the identity stub forwarding the caller's metadata."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.IdentityServiceStub(channel)

    async def register_account(self, request: pb.RegisterAccountRequest, caller: Caller) -> pb.User:
        response = await self._stub.RegisterAccount(request, metadata=caller.metadata())
        return response.user

    async def activate_account(self, request: pb.ActivateAccountRequest, caller: Caller) -> pb.User:
        response = await self._stub.ActivateAccount(request, metadata=caller.metadata())
        return response.user

    async def resend_activation(self, login_email: str, caller: Caller) -> None:
        await self._stub.ResendActivation(
            pb.ResendActivationRequest(login_email=login_email), metadata=caller.metadata()
        )

    async def create_session(self, login_email: str, password: str, caller: Caller) -> pb.TokenPair:
        request = pb.CreateSessionRequest(
            login_email=login_email, password=password, client=_client_info(caller)
        )
        response = await self._stub.CreateSession(request, metadata=caller.metadata())
        return response.tokens

    async def refresh_session(self, refresh_token: str, caller: Caller) -> pb.TokenPair:
        request = pb.RefreshSessionRequest(refresh_token=refresh_token, client=_client_info(caller))
        response = await self._stub.RefreshSession(request, metadata=caller.metadata())
        return response.tokens

    async def revoke_session(self, refresh_token: str, caller: Caller) -> None:
        await self._stub.RevokeSession(
            pb.RevokeSessionRequest(refresh_token=refresh_token), metadata=caller.metadata()
        )

    async def get_public_keys(self) -> list[pb.PublicKey]:
        response = await self._stub.GetPublicKeys(pb.GetPublicKeysRequest())
        return list(response.keys)

    async def get_me(self, caller: Caller) -> pb.User:
        response = await self._stub.GetMe(pb.GetMeRequest(), metadata=caller.metadata())
        return response.user


def _client_info(caller: Caller) -> pb.ClientInfo:
    return pb.ClientInfo(ip_address=caller.ip_address, user_agent=caller.user_agent)
