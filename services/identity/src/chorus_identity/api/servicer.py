"""``chorus.identity.v1.IdentityService``: protobuf in, use case, protobuf out.

The servicer is composed of one handler group per capability (``accounts``, ``sessions``,
``password_resets``, ``my_account``, ``two_factor``, ``admin``, ``api_clients``,
``technical_accounts``), each calling its use case.
Errors are domain exceptions; the platform's ErrorInterceptor turns them into gRPC statuses
(``api/errors.py``).
"""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc

from chorus_identity.api.accounts import AccountHandlers
from chorus_identity.api.admin import AdminHandlers
from chorus_identity.api.api_clients import ApiClientHandlers
from chorus_identity.api.my_account import MyAccountHandlers
from chorus_identity.api.password_resets import PasswordResetHandlers
from chorus_identity.api.sessions import SessionHandlers
from chorus_identity.api.technical_accounts import TechnicalAccountHandlers
from chorus_identity.api.two_factor import TwoFactorHandlers
from chorus_identity.usecases.accounts import Accounts
from chorus_identity.usecases.admin import Admin
from chorus_identity.usecases.api_clients import ApiClients
from chorus_identity.usecases.clock import Clock, utc_now
from chorus_identity.usecases.logins import Logins
from chorus_identity.usecases.my_account import MyAccount
from chorus_identity.usecases.password_resets import PasswordResets
from chorus_identity.usecases.revocations import RevokedSessions
from chorus_identity.usecases.sessions import Sessions
from chorus_identity.usecases.signing_keys import KeyRing
from chorus_identity.usecases.technical_accounts import TechnicalAccounts
from chorus_identity.usecases.two_factor import TwoFactor

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
        "ListRevokedSessions",
        "CompleteMfaChallenge",
        "RequestPasswordReset",
        "GetPasswordReset",
        "ConfirmPasswordReset",
        "IssueClientToken",
        "AuthenticateTechnicalAccount",
    )
}
"""Callable without an access token; every other RPC needs one. GetPublicKeys and
ListRevokedSessions are what the other services verify tokens with: they call them at start,
before any user, and neither reveals anything about a user. IssueClientToken and
AuthenticateTechnicalAccount are logins of the Chorus Pro-compatible API (credentials in the
request)."""


class IdentityServicer(
    AccountHandlers,
    SessionHandlers,
    PasswordResetHandlers,
    MyAccountHandlers,
    TwoFactorHandlers,
    AdminHandlers,
    ApiClientHandlers,
    TechnicalAccountHandlers,
    pb_grpc.IdentityServiceServicer,
):
    """Every RPC of the service, from its handler groups."""

    def __init__(
        self,
        *,
        accounts: Accounts,
        logins: Logins,
        sessions: Sessions,
        keys: KeyRing,
        resets: PasswordResets,
        my_account: MyAccount,
        two_factor: TwoFactor,
        admin: Admin,
        revoked: RevokedSessions,
        api_clients: ApiClients,
        technical: TechnicalAccounts,
        clock: Clock = utc_now,
    ) -> None:
        self._accounts = accounts
        self._logins = logins
        self._sessions = sessions
        self._keys = keys
        self._resets = resets
        self._my_account = my_account
        self._two_factor = two_factor
        self._admin = admin
        self._revoked = revoked
        self._api_clients = api_clients
        self._technical = technical
        self._clock = clock
