"""IdentityService calls: accounts, sessions, "Mon compte", two-factor, public keys, and the
credentials of the Chorus Pro-compatible API (API applications, technical accounts).

Besides the caller's metadata, identity gets the browser's user agent
(``x-forwarded-user-agent``) for its audit trail.
"""

from __future__ import annotations

import grpc
from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc

from chorus_edge.clients.caller import Caller


def _metadata(caller: Caller) -> tuple[tuple[str, str], ...]:
    extra = (("x-forwarded-user-agent", caller.user_agent),) if caller.user_agent else ()
    return caller.metadata() + extra


class IdentityClient:
    """Thin wrapper over the identity stub forwarding the caller's metadata."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = pb_grpc.IdentityServiceStub(channel)

    async def register_account(self, request: pb.RegisterAccountRequest, caller: Caller) -> None:
        # The answer is empty for every address (registration reveals no account).
        await self._stub.RegisterAccount(request, metadata=_metadata(caller))

    async def activate_account(self, request: pb.ActivateAccountRequest, caller: Caller) -> pb.User:
        response = await self._stub.ActivateAccount(request, metadata=_metadata(caller))
        return response.user

    async def resend_activation(self, login_email: str, caller: Caller) -> None:
        await self._stub.ResendActivation(
            pb.ResendActivationRequest(login_email=login_email), metadata=_metadata(caller)
        )

    async def create_session(
        self, login_email: str, password: str, caller: Caller
    ) -> pb.CreateSessionResponse:
        request = pb.CreateSessionRequest(
            login_email=login_email, password=password, client=_client_info(caller)
        )
        return await self._stub.CreateSession(request, metadata=_metadata(caller))

    async def complete_mfa_challenge(
        self, challenge_id: str, code: str, caller: Caller
    ) -> pb.TokenPair:
        request = pb.CompleteMfaChallengeRequest(
            challenge_id=challenge_id, code=code, client=_client_info(caller)
        )
        response = await self._stub.CompleteMfaChallenge(request, metadata=_metadata(caller))
        return response.tokens

    async def refresh_session(self, refresh_token: str, caller: Caller) -> pb.TokenPair:
        request = pb.RefreshSessionRequest(refresh_token=refresh_token, client=_client_info(caller))
        response = await self._stub.RefreshSession(request, metadata=_metadata(caller))
        return response.tokens

    async def revoke_session(self, refresh_token: str, caller: Caller) -> None:
        await self._stub.RevokeSession(
            pb.RevokeSessionRequest(refresh_token=refresh_token), metadata=_metadata(caller)
        )

    async def get_public_keys(self) -> list[pb.PublicKey]:
        response = await self._stub.GetPublicKeys(pb.GetPublicKeysRequest())
        return list(response.keys)

    async def get_me(self, caller: Caller) -> pb.User:
        response = await self._stub.GetMe(pb.GetMeRequest(), metadata=_metadata(caller))
        return response.user

    async def batch_get_users(self, user_ids: list[str], caller: Caller) -> list[pb.User]:
        """Public profiles by id (at most 100; unknown ids left out)."""
        response = await self._stub.BatchGetUsers(
            pb.BatchGetUsersRequest(user_ids=user_ids), metadata=_metadata(caller)
        )
        return list(response.users)

    async def request_password_reset(self, login_email: str, caller: Caller) -> None:
        await self._stub.RequestPasswordReset(
            pb.RequestPasswordResetRequest(login_email=login_email), metadata=_metadata(caller)
        )

    async def get_password_reset(self, token: str, caller: Caller) -> pb.GetPasswordResetResponse:
        return await self._stub.GetPasswordReset(
            pb.GetPasswordResetRequest(token=token), metadata=_metadata(caller)
        )

    async def confirm_password_reset(
        self, request: pb.ConfirmPasswordResetRequest, caller: Caller
    ) -> None:
        await self._stub.ConfirmPasswordReset(request, metadata=_metadata(caller))

    async def update_me(self, request: pb.UpdateMeRequest, caller: Caller) -> pb.User:
        response = await self._stub.UpdateMe(request, metadata=_metadata(caller))
        return response.user

    async def change_password(self, current: str, new: str, caller: Caller) -> None:
        request = pb.ChangePasswordRequest(current_password=current, new_password=new)
        await self._stub.ChangePassword(request, metadata=_metadata(caller))

    async def request_contact_email_change(self, email: str, password: str, caller: Caller) -> None:
        request = pb.RequestContactEmailChangeRequest(
            new_contact_email=email, current_password=password
        )
        await self._stub.RequestContactEmailChange(request, metadata=_metadata(caller))

    async def request_login_email_change(self, email: str, password: str, caller: Caller) -> None:
        request = pb.RequestLoginEmailChangeRequest(
            new_login_email=email, current_password=password
        )
        await self._stub.RequestLoginEmailChange(request, metadata=_metadata(caller))

    async def confirm_email_change(self, token: str, caller: Caller) -> pb.User:
        response = await self._stub.ConfirmEmailChange(
            pb.ConfirmEmailChangeRequest(token=token), metadata=_metadata(caller)
        )
        return response.user

    async def deactivate_me(self, password: str, caller: Caller) -> None:
        await self._stub.DeactivateMe(
            pb.DeactivateMeRequest(current_password=password), metadata=_metadata(caller)
        )

    async def list_my_sessions(self, caller: Caller) -> list[pb.Session]:
        response = await self._stub.ListMySessions(
            pb.ListMySessionsRequest(), metadata=_metadata(caller)
        )
        return list(response.sessions)

    async def revoke_my_session(self, session_id: str, caller: Caller) -> None:
        await self._stub.RevokeMySession(
            pb.RevokeMySessionRequest(session_id=session_id), metadata=_metadata(caller)
        )

    async def start_totp_enrolment(self, caller: Caller) -> pb.StartTotpEnrolmentResponse:
        return await self._stub.StartTotpEnrolment(
            pb.StartTotpEnrolmentRequest(), metadata=_metadata(caller)
        )

    async def confirm_totp_enrolment(self, code: str, caller: Caller) -> None:
        await self._stub.ConfirmTotpEnrolment(
            pb.ConfirmTotpEnrolmentRequest(code=code), metadata=_metadata(caller)
        )

    async def disable_totp(self, password: str, caller: Caller) -> None:
        await self._stub.DisableTotp(
            pb.DisableTotpRequest(current_password=password), metadata=_metadata(caller)
        )

    # --- credentials of the Chorus Pro-compatible API ---

    async def create_api_client(self, name: str, caller: Caller) -> pb.CreateApiClientResponse:
        return await self._stub.CreateApiClient(
            pb.CreateApiClientRequest(name=name), metadata=_metadata(caller)
        )

    async def list_api_clients(self, caller: Caller) -> list[pb.ApiClient]:
        response = await self._stub.ListApiClients(
            pb.ListApiClientsRequest(), metadata=_metadata(caller)
        )
        return list(response.clients)

    async def revoke_api_client(self, application_id: str, caller: Caller) -> pb.ApiClient:
        response = await self._stub.RevokeApiClient(
            pb.RevokeApiClientRequest(id=application_id), metadata=_metadata(caller)
        )
        return response.client

    async def create_technical_account(
        self, structure_id: str, caller: Caller
    ) -> pb.CreateTechnicalAccountResponse:
        return await self._stub.CreateTechnicalAccount(
            pb.CreateTechnicalAccountRequest(structure_id=structure_id),
            metadata=_metadata(caller),
        )

    async def list_technical_accounts(
        self, structure_id: str, caller: Caller
    ) -> list[pb.TechnicalAccount]:
        response = await self._stub.ListTechnicalAccounts(
            pb.ListTechnicalAccountsRequest(structure_id=structure_id),
            metadata=_metadata(caller),
        )
        return list(response.accounts)

    async def rotate_technical_account_password(
        self, structure_id: str, account_id: str, caller: Caller
    ) -> pb.RotateTechnicalAccountPasswordResponse:
        request = pb.RotateTechnicalAccountPasswordRequest(id=account_id, structure_id=structure_id)
        return await self._stub.RotateTechnicalAccountPassword(request, metadata=_metadata(caller))

    async def revoke_technical_account(
        self, structure_id: str, account_id: str, caller: Caller
    ) -> pb.TechnicalAccount:
        request = pb.RevokeTechnicalAccountRequest(id=account_id, structure_id=structure_id)
        response = await self._stub.RevokeTechnicalAccount(request, metadata=_metadata(caller))
        return response.account


def _client_info(caller: Caller) -> pb.ClientInfo:
    return pb.ClientInfo(ip_address=caller.ip_address, user_agent=caller.user_agent)
