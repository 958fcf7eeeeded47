"""``chorus.identity.v1.IdentityService``: protobuf in, use case, protobuf out.

Errors are domain exceptions; the platform's ErrorInterceptor turns them into gRPC statuses.
"""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc
from chorus_platform.auth import current_principal

from chorus_identity.api.mapping import public_key_to_proto, tokens_to_proto, user_to_proto
from chorus_identity.usecases.accounts import Accounts
from chorus_identity.usecases.sessions import Sessions
from chorus_identity.usecases.signing_keys import KeyRing

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["IdentityService"].full_name

PUBLIC_METHODS = {
    f"/{SERVICE_NAME}/{method}"
    for method in (
        "RegisterAccount",
        "ActivateAccount",
        "ResendActivation",
        "CreateSession",
        "RefreshSession",
        "RevokeSession",
        "GetPublicKeys",
    )
}
"""Callable without an access token; GetMe and BatchGetUsers need one."""


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    def __init__(self, accounts: Accounts, sessions: Sessions, keys: KeyRing) -> None:
        self._accounts = accounts
        self._sessions = sessions
        self._keys = keys

    async def RegisterAccount(self, request, context) -> pb.RegisterAccountResponse:
        """Creates an account EN_ATTENTE_ACTIVATION and emits UserRegistered and
        ActivationLinkIssued (single-use link, ``activation_ttl_minutes``).

        The login e-mail is normalised and lower-cased; the contact e-mail defaults to it.
        Errors: INVALID_ARGUMENT EMAIL_INVALID, FIELD_REQUIRED, FIELD_TOO_LONG (names over
        100 characters) or PHONE_INVALID, with field violations; ALREADY_EXISTS
        ACCOUNT_ALREADY_EXISTS when the login e-mail is taken (whatever its case).
        """
        account = await self._accounts.register(
            login_email=request.login_email,
            contact_email=request.contact_email,
            first_name=request.first_name,
            last_name=request.last_name,
            phone=request.phone,
        )
        return pb.RegisterAccountResponse(user=user_to_proto(account))

    async def ActivateAccount(self, request, context) -> pb.ActivateAccountResponse:
        """Sets password and secret question/answer, spends the link, makes the account ACTIF
        and emits UserActivated.

        Errors (nothing changes): INVALID_ARGUMENT ACTIVATION_TOKEN_INVALID (unknown, expired,
        used or superseded link), PASSWORD_TOO_WEAK (message lists what is missing),
        FIELD_REQUIRED / FIELD_TOO_LONG for the secret question or answer.
        """
        account = await self._accounts.activate(
            token=request.token,
            password=request.password,
            secret_question=request.secret_question,
            secret_answer=request.secret_answer,
        )
        return pb.ActivateAccountResponse(user=user_to_proto(account))

    async def ResendActivation(self, request, context) -> pb.ResendActivationResponse:
        """Issues a new activation link for a pending account, superseding the previous ones,
        and emits ActivationLinkIssued.

        Answers OK whether or not such an account exists (no enumeration). Error only for an
        address that is not an e-mail at all: INVALID_ARGUMENT EMAIL_INVALID.
        """
        await self._accounts.resend_activation(login_email=request.login_email)
        return pb.ResendActivationResponse()

    async def CreateSession(self, request, context) -> pb.CreateSessionResponse:
        """Logs in: opens a session and returns an access token (EdDSA JWT, kid header) and a
        refresh token.

        Errors: UNAUTHENTICATED INVALID_CREDENTIALS, identical for an unknown e-mail, a wrong
        password and an account that is not active.
        """
        pair = await self._sessions.login(
            login_email=request.login_email,
            password=request.password,
            ip_address=request.client.ip_address,
            user_agent=request.client.user_agent,
        )
        return pb.CreateSessionResponse(tokens=tokens_to_proto(pair))

    async def RefreshSession(self, request, context) -> pb.RefreshSessionResponse:
        """Spends the refresh token and returns a new pair in the same session.

        Presenting an already spent token revokes the whole session. Errors: UNAUTHENTICATED
        REFRESH_TOKEN_INVALID (unknown, expired, spent, revoked, or account not active).
        """
        pair = await self._sessions.refresh(refresh_token=request.refresh_token)
        return pb.RefreshSessionResponse(tokens=tokens_to_proto(pair))

    async def RevokeSession(self, request, context) -> pb.RevokeSessionResponse:
        """Logs out: revokes the session of the refresh token. Idempotent; an unknown token is
        not an error."""
        await self._sessions.revoke(refresh_token=request.refresh_token)
        return pb.RevokeSessionResponse()

    async def GetPublicKeys(self, request, context) -> pb.GetPublicKeysResponse:
        """Every key whose tokens may still be valid: the signing key (no ``not_after``) and
        retired keys until ``retired_at`` + access-token lifetime. No errors."""
        keys = await self._keys.verification_keys()
        ttl = self._keys.access_token_ttl
        return pb.GetPublicKeysResponse(keys=[public_key_to_proto(k, ttl) for k in keys])

    async def GetMe(self, request, context) -> pb.GetMeResponse:
        """The caller's own account. Errors: UNAUTHENTICATED (no, forged or expired token),
        NOT_FOUND USER_NOT_FOUND."""
        account = await self._accounts.get(current_principal().user_id)
        return pb.GetMeResponse(user=user_to_proto(account))

    async def BatchGetUsers(self, request, context) -> pb.BatchGetUsersResponse:
        """Accounts by id (at most 100), in request order, unknown ids left out; the login
        e-mail is blanked for everyone but the caller.

        Errors: UNAUTHENTICATED; INVALID_ARGUMENT TOO_MANY_USER_IDS or USER_ID_INVALID.
        """
        accounts = await self._accounts.batch_get(
            viewer_id=current_principal().user_id, user_ids=list(request.user_ids)
        )
        return pb.BatchGetUsersResponse(users=[user_to_proto(a) for a in accounts])
