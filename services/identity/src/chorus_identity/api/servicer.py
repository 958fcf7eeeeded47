"""``chorus.identity.v1.IdentityService``: protobuf in, use case, protobuf out.

Errors are domain exceptions; the platform's ErrorInterceptor turns them into gRPC statuses.
"""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus.identity.v1 import identity_service_pb2_grpc as pb_grpc
from chorus_platform.auth import current_principal

from chorus_identity.api.client_context import client_context
from chorus_identity.api.mapping import (
    public_key_to_proto,
    security_event_to_proto,
    session_to_proto,
    timestamp,
    tokens_to_proto,
    user_to_proto,
)
from chorus_identity.usecases.accounts import Accounts
from chorus_identity.usecases.admin import Admin
from chorus_identity.usecases.my_account import MyAccount
from chorus_identity.usecases.password_resets import PasswordResets
from chorus_identity.usecases.sessions import Sessions
from chorus_identity.usecases.signing_keys import KeyRing
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
        "CompleteMfaChallenge",
        "RequestPasswordReset",
        "GetPasswordReset",
        "ConfirmPasswordReset",
    )
}
"""Callable without an access token; every other RPC needs one."""


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    def __init__(
        self,
        accounts: Accounts,
        sessions: Sessions,
        keys: KeyRing,
        resets: PasswordResets,
        my_account: MyAccount,
        two_factor: TwoFactor,
        admin: Admin,
    ) -> None:
        self._accounts = accounts
        self._sessions = sessions
        self._keys = keys
        self._resets = resets
        self._my_account = my_account
        self._two_factor = two_factor
        self._admin = admin

    async def RegisterAccount(self, request, context) -> pb.RegisterAccountResponse:
        """Creates an account EN_ATTENTE_ACTIVATION and emits UserRegistered and
        ActivationLinkIssued (single-use link, ``activation_ttl_minutes``, token sealed for
        notifications); the current terms-of-use version is recorded.

        The login e-mail is normalised and lower-cased; the contact e-mail defaults to it.
        Errors: INVALID_ARGUMENT EMAIL_INVALID, FIELD_REQUIRED, FIELD_TOO_LONG (names over
        100 characters) or PHONE_INVALID, with field violations, TERMS_NOT_ACCEPTED,
        TERMS_VERSION_OUTDATED; ALREADY_EXISTS ACCOUNT_ALREADY_EXISTS when the login e-mail is
        taken (whatever its case); UNAVAILABLE NOTIFICATIONS_UNAVAILABLE (nothing stored).
        """
        account = await self._accounts.register(
            login_email=request.login_email,
            contact_email=request.contact_email,
            first_name=request.first_name,
            last_name=request.last_name,
            phone=request.phone,
            terms_accepted=request.terms_accepted,
            terms_version=request.terms_version,
            client=client_context(context),
        )
        return pb.RegisterAccountResponse(user=user_to_proto(account))

    async def ActivateAccount(self, request, context) -> pb.ActivateAccountResponse:
        """Sets password and secret question/answer, spends the link, makes the account ACTIF
        and emits UserActivated.

        Errors (nothing changes): INVALID_ARGUMENT ACTIVATION_TOKEN_INVALID (unknown, expired,
        used or superseded link); the password policy's PASSWORD_TOO_SHORT, PASSWORD_TOO_LONG,
        PASSWORD_TOO_WEAK, PASSWORD_TOO_COMMON, PASSWORD_CONTAINS_PERSONAL_DATA (reason = first
        rule broken, one violation per rule); FIELD_REQUIRED / FIELD_TOO_LONG for the secret
        question or answer.
        """
        account = await self._accounts.activate(
            token=request.token,
            password=request.password,
            secret_question=request.secret_question,
            secret_answer=request.secret_answer,
            client=client_context(context),
        )
        return pb.ActivateAccountResponse(user=user_to_proto(account))

    async def ResendActivation(self, request, context) -> pb.ResendActivationResponse:
        """Issues a new activation link for a pending account, superseding the previous ones,
        and emits ActivationLinkIssued.

        Answers OK whether or not such an account exists (no enumeration). Errors: INVALID_ARGUMENT
        EMAIL_INVALID for an address that is not an e-mail at all; UNAVAILABLE
        NOTIFICATIONS_UNAVAILABLE (for every address alike).
        """
        await self._accounts.resend_activation(
            login_email=request.login_email, client=client_context(context)
        )
        return pb.ResendActivationResponse()

    async def CreateSession(self, request, context) -> pb.CreateSessionResponse:
        """Logs in: opens a session and returns an access token (EdDSA JWT, kid header) and a
        refresh token; for an account with two-factor authentication, returns instead
        ``mfa_required`` and a challenge to complete with CompleteMfaChallenge.

        Errors: UNAUTHENTICATED INVALID_CREDENTIALS, identical for an unknown e-mail, a wrong
        password and an account that is not active; FAILED_PRECONDITION ACCOUNT_LOCKED after
        ``login_max_failures`` consecutive failures on the address, until ``locked_until``
        (metadata ``locked_until``, ``retry_after_seconds``).
        """
        result = await self._sessions.login(
            login_email=request.login_email,
            password=request.password,
            client=client_context(context, request.client),
        )
        if result.tokens is None:
            assert result.challenge_expires_at is not None
            return pb.CreateSessionResponse(
                mfa_required=True,
                mfa_challenge_id=result.challenge_id,
                mfa_challenge_expires_at=timestamp(result.challenge_expires_at),
            )
        return pb.CreateSessionResponse(tokens=tokens_to_proto(result.tokens))

    async def CompleteMfaChallenge(self, request, context) -> pb.CompleteMfaChallengeResponse:
        """Completes a two-factor login with a TOTP code (usable once per time step) or a
        recovery code (single use).

        Errors: UNAUTHENTICATED MFA_CHALLENGE_INVALID (unknown, expired, completed, or 5 wrong
        codes), MFA_CODE_INVALID (counts towards the lockout); FAILED_PRECONDITION
        ACCOUNT_LOCKED.
        """
        pair = await self._sessions.complete_mfa(
            challenge_id=request.challenge_id,
            code=request.code,
            client=client_context(context, request.client),
        )
        return pb.CompleteMfaChallengeResponse(tokens=tokens_to_proto(pair))

    async def RefreshSession(self, request, context) -> pb.RefreshSessionResponse:
        """Spends the refresh token and returns a new pair in the same session.

        Presenting an already spent token revokes the whole session. Errors: UNAUTHENTICATED
        REFRESH_TOKEN_INVALID (unknown, expired, spent, revoked, or account not active).
        """
        pair = await self._sessions.refresh(
            refresh_token=request.refresh_token, client=client_context(context, request.client)
        )
        return pb.RefreshSessionResponse(tokens=tokens_to_proto(pair))

    async def RevokeSession(self, request, context) -> pb.RevokeSessionResponse:
        """Logs out: revokes the session of the refresh token. Idempotent; an unknown token is
        not an error."""
        await self._sessions.revoke(
            refresh_token=request.refresh_token, client=client_context(context)
        )
        return pb.RevokeSessionResponse()

    async def GetPublicKeys(self, request, context) -> pb.GetPublicKeysResponse:
        """Every key whose tokens may still be valid: the signing key (no ``not_after``) and
        retired keys until ``retired_at`` + access-token lifetime. No errors."""
        keys = await self._keys.verification_keys()
        ttl = self._keys.access_token_ttl
        return pb.GetPublicKeysResponse(keys=[public_key_to_proto(k, ttl) for k in keys])

    async def GetMe(self, request, context) -> pb.GetMeResponse:
        """The caller's own account (``two_factor_enabled`` filled). Errors: UNAUTHENTICATED
        (no, forged or expired token; SESSION_REVOKED once its session is revoked or the
        account deactivated), NOT_FOUND USER_NOT_FOUND."""
        return pb.GetMeResponse(user=await self._me_proto())

    async def _me_proto(self, account=None) -> pb.User:
        principal = current_principal()
        if account is None:
            account = await self._my_account.me(principal)
        enabled = await self._two_factor.is_enabled(account.id)
        return user_to_proto(account, two_factor_enabled=enabled)

    async def BatchGetUsers(self, request, context) -> pb.BatchGetUsersResponse:
        """Accounts by id (at most 100), in request order, unknown ids left out; the login
        e-mail is blanked for everyone but the caller.

        Errors: UNAUTHENTICATED; INVALID_ARGUMENT TOO_MANY_USER_IDS or USER_ID_INVALID.
        """
        accounts = await self._accounts.batch_get(
            viewer_id=current_principal().user_id, user_ids=list(request.user_ids)
        )
        return pb.BatchGetUsersResponse(users=[user_to_proto(a) for a in accounts])

    async def GetUser(self, request, context) -> pb.GetUserResponse:
        """One account by id; the login e-mail is blanked unless it is the caller's.
        Errors: UNAUTHENTICATED; NOT_FOUND USER_NOT_FOUND (unknown or malformed id)."""
        account = await self._accounts.get_as_seen_by(
            viewer_id=current_principal().user_id, user_id=request.user_id
        )
        return pb.GetUserResponse(user=user_to_proto(account))

    async def FindUserByLoginEmail(self, request, context) -> pb.FindUserByLoginEmailResponse:
        """The account with this login e-mail (normalised, any case). Errors: UNAUTHENTICATED;
        NOT_FOUND USER_NOT_FOUND."""
        account = await self._accounts.find_by_login_email(
            viewer_id=current_principal().user_id, login_email=request.login_email
        )
        return pb.FindUserByLoginEmailResponse(user=user_to_proto(account))

    async def RequestPasswordReset(self, request, context) -> pb.RequestPasswordResetResponse:
        """E-mails a single-use reset link (``password_reset_ttl_minutes``) to an active
        account's contact address (PasswordResetRequested, token sealed), superseding earlier
        links. Answers OK whether or not such an account exists.

        Errors: INVALID_ARGUMENT EMAIL_INVALID (not an e-mail at all); UNAVAILABLE
        NOTIFICATIONS_UNAVAILABLE (for every address alike).
        """
        await self._resets.request(login_email=request.login_email, client=client_context(context))
        return pb.RequestPasswordResetResponse()

    async def GetPasswordReset(self, request, context) -> pb.GetPasswordResetResponse:
        """The secret question the reset page must ask, and the link's expiry.
        Errors: INVALID_ARGUMENT RESET_TOKEN_INVALID (unknown, expired, used, superseded)."""
        link = await self._resets.inspect(token=request.token)
        return pb.GetPasswordResetResponse(
            secret_question=link.secret_question, expires_at=timestamp(link.expires_at)
        )

    async def ConfirmPasswordReset(self, request, context) -> pb.ConfirmPasswordResetResponse:
        """Sets a new password with the link and the secret answer; the link is spent, every
        session revoked, the lockout cleared, PasswordChanged emitted.

        Errors (nothing changes): INVALID_ARGUMENT RESET_TOKEN_INVALID, SECRET_ANSWER_INVALID
        (counts towards the lockout), the password policy's reasons; FAILED_PRECONDITION
        ACCOUNT_LOCKED.
        """
        await self._resets.confirm(
            token=request.token,
            secret_answer=request.secret_answer,
            password=request.password,
            client=client_context(context),
        )
        return pb.ConfirmPasswordResetResponse()

    async def UpdateMe(self, request, context) -> pb.UpdateMeResponse:
        """Changes names and/or phone (absent fields unchanged, empty phone removes it);
        UserProfileUpdated when names changed. Errors: UNAUTHENTICATED (incl. SESSION_REVOKED);
        INVALID_ARGUMENT FIELD_REQUIRED, FIELD_TOO_LONG, PHONE_INVALID."""
        account = await self._my_account.update_profile(
            current_principal(),
            first_name=request.first_name if request.HasField("first_name") else None,
            last_name=request.last_name if request.HasField("last_name") else None,
            phone=request.phone if request.HasField("phone") else None,
            client=client_context(context),
        )
        return pb.UpdateMeResponse(user=await self._me_proto(account))

    async def ChangePassword(self, request, context) -> pb.ChangePasswordResponse:
        """New password, current one required; every other session is revoked,
        PasswordChanged emitted. Errors: UNAUTHENTICATED; INVALID_ARGUMENT
        CURRENT_PASSWORD_INVALID (counts towards the lockout), the password policy's reasons
        (field ``new_password``); FAILED_PRECONDITION ACCOUNT_LOCKED."""
        await self._my_account.change_password(
            current_principal(),
            current_password=request.current_password,
            new_password=request.new_password,
            client=client_context(context),
        )
        return pb.ChangePasswordResponse()

    async def RequestContactEmailChange(
        self, request, context
    ) -> pb.RequestContactEmailChangeResponse:
        """Sends a verification link to the new contact address (EmailChangeRequested); the
        address changes only once confirmed. Errors: UNAUTHENTICATED; INVALID_ARGUMENT
        EMAIL_INVALID, FIELD_REQUIRED, EMAIL_UNCHANGED; UNAVAILABLE NOTIFICATIONS_UNAVAILABLE."""
        await self._my_account.request_email_change(
            current_principal(),
            new_email=request.new_contact_email,
            login=False,
            client=client_context(context),
        )
        return pb.RequestContactEmailChangeResponse()

    async def RequestLoginEmailChange(self, request, context) -> pb.RequestLoginEmailChangeResponse:
        """Sends a verification link to the new login address (current password required);
        on confirmation the previous address is told. Errors: as RequestContactEmailChange,
        plus CURRENT_PASSWORD_INVALID / ACCOUNT_LOCKED."""
        await self._my_account.request_email_change(
            current_principal(),
            new_email=request.new_login_email,
            login=True,
            current_password=request.current_password,
            client=client_context(context),
        )
        return pb.RequestLoginEmailChangeResponse()

    async def ConfirmEmailChange(self, request, context) -> pb.ConfirmEmailChangeResponse:
        """Applies the change the caller's verification link was sent for
        (ContactEmailChanged or LoginEmailChanged). Errors: UNAUTHENTICATED; INVALID_ARGUMENT
        EMAIL_CHANGE_TOKEN_INVALID (unknown, expired, used, superseded, another user's);
        ALREADY_EXISTS ACCOUNT_ALREADY_EXISTS (login e-mail taken meanwhile)."""
        account = await self._my_account.confirm_email_change(
            current_principal(), token=request.token, client=client_context(context)
        )
        return pb.ConfirmEmailChangeResponse(user=await self._me_proto(account))

    async def DeactivateMe(self, request, context) -> pb.DeactivateMeResponse:
        """Deactivates the caller's account (password required): every session revoked, login
        refused, data kept; UserDeactivated. Errors: UNAUTHENTICATED; INVALID_ARGUMENT
        CURRENT_PASSWORD_INVALID; FAILED_PRECONDITION ACCOUNT_LOCKED."""
        await self._my_account.deactivate(
            current_principal(),
            current_password=request.current_password,
            client=client_context(context),
        )
        return pb.DeactivateMeResponse()

    async def ListMySessions(self, request, context) -> pb.ListMySessionsResponse:
        """The caller's sessions that can still be refreshed, most recently used first, the
        caller's own marked ``current``. Errors: UNAUTHENTICATED."""
        mine = await self._sessions.list_mine(current_principal())
        return pb.ListMySessionsResponse(sessions=[session_to_proto(s) for s in mine])

    async def RevokeMySession(self, request, context) -> pb.RevokeMySessionResponse:
        """Revokes one of the caller's sessions (its refresh token stops working; its access
        tokens stop working at identity at once). Errors: UNAUTHENTICATED; NOT_FOUND
        SESSION_NOT_FOUND (not the caller's, or already revoked)."""
        await self._sessions.revoke_mine(
            current_principal(), session_id=request.session_id, client=client_context(context)
        )
        return pb.RevokeMySessionResponse()

    async def StartTotpEnrolment(self, request, context) -> pb.StartTotpEnrolmentResponse:
        """A new TOTP secret, its otpauth:// URI and 10 recovery codes, shown this once;
        replaces an unconfirmed enrolment. Errors: UNAUTHENTICATED; FAILED_PRECONDITION
        TOTP_ALREADY_ENABLED."""
        enrolment = await self._two_factor.start(current_principal())
        return pb.StartTotpEnrolmentResponse(
            secret=enrolment.secret,
            otpauth_uri=enrolment.otpauth_uri,
            recovery_codes=enrolment.recovery_codes,
        )

    async def ConfirmTotpEnrolment(self, request, context) -> pb.ConfirmTotpEnrolmentResponse:
        """Turns two-factor authentication on with a first valid code; TwoFactorChanged.
        Errors: UNAUTHENTICATED; INVALID_ARGUMENT TOTP_CODE_INVALID; FAILED_PRECONDITION
        TOTP_NOT_ENROLLING, TOTP_ALREADY_ENABLED."""
        await self._two_factor.confirm(
            current_principal(), code=request.code, client=client_context(context)
        )
        return pb.ConfirmTotpEnrolmentResponse()

    async def DisableTotp(self, request, context) -> pb.DisableTotpResponse:
        """Turns two-factor authentication off (password required); TwoFactorChanged.
        Errors: UNAUTHENTICATED; INVALID_ARGUMENT CURRENT_PASSWORD_INVALID;
        FAILED_PRECONDITION TOTP_NOT_ENABLED, ACCOUNT_LOCKED."""
        await self._two_factor.disable(
            current_principal(),
            current_password=request.current_password,
            client=client_context(context),
        )
        return pb.DisableTotpResponse()

    async def DisableUser(self, request, context) -> pb.DisableUserResponse:
        """Admin: deactivates an account (sessions revoked, login refused, data kept;
        UserDeactivated by admin). Idempotent. Errors: UNAUTHENTICATED; PERMISSION_DENIED
        ADMIN_REQUIRED; INVALID_ARGUMENT USER_ID_INVALID; NOT_FOUND USER_NOT_FOUND."""
        account = await self._admin.disable(
            current_principal(),
            user_id=request.user_id,
            reason=request.reason,
            client=client_context(context),
        )
        return pb.DisableUserResponse(user=user_to_proto(account))

    async def EnableUser(self, request, context) -> pb.EnableUserResponse:
        """Admin: re-enables a deactivated account (UserReactivated) and clears its lockout.
        Errors: as DisableUser."""
        account = await self._admin.enable(
            current_principal(), user_id=request.user_id, client=client_context(context)
        )
        return pb.EnableUserResponse(user=user_to_proto(account))

    async def ListSecurityEvents(self, request, context) -> pb.ListSecurityEventsResponse:
        """Admin: the audit trail newest first, optionally for one user and some kinds;
        ``page_size`` 0 → 50, at most 200. Errors: UNAUTHENTICATED; PERMISSION_DENIED
        ADMIN_REQUIRED; INVALID_ARGUMENT USER_ID_INVALID, PAGE_SIZE_INVALID,
        PAGE_TOKEN_INVALID."""
        events, next_token = await self._admin.list_events(
            current_principal(),
            user_id=request.user_id,
            kinds=list(request.kinds),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListSecurityEventsResponse(
            events=[security_event_to_proto(e) for e in events], next_page_token=next_token
        )
