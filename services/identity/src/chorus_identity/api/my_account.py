"""Handlers of "Mon compte": the caller's profile, password, e-mail addresses and
deactivation."""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.auth import current_principal

from chorus_identity.api.client_context import client_context
from chorus_identity.api.mapping import user_to_proto
from chorus_identity.usecases.my_account import MyAccount
from chorus_identity.usecases.two_factor import TwoFactor


class MyAccountHandlers:
    """GetMe, UpdateMe, ChangePassword, RequestContactEmailChange, RequestLoginEmailChange,
    ConfirmEmailChange, DeactivateMe."""

    _my_account: MyAccount
    _two_factor: TwoFactor

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
        """Sends a verification link to the new contact address (EmailChangeRequested), the
        current password required (reset links go to the contact address); the address
        changes only once confirmed, and then the previous address is told. Errors:
        UNAUTHENTICATED; INVALID_ARGUMENT EMAIL_INVALID, FIELD_REQUIRED, EMAIL_UNCHANGED;
        INVALID_ARGUMENT CURRENT_PASSWORD_INVALID (counts towards the lockout) /
        FAILED_PRECONDITION ACCOUNT_LOCKED; UNAVAILABLE NOTIFICATIONS_UNAVAILABLE."""
        await self._my_account.request_email_change(
            current_principal(),
            new_email=request.new_contact_email,
            login=False,
            current_password=request.current_password,
            client=client_context(context),
        )
        return pb.RequestContactEmailChangeResponse()

    async def RequestLoginEmailChange(self, request, context) -> pb.RequestLoginEmailChangeResponse:
        """Sends a verification link to the new login address (current password required);
        on confirmation the previous address is told. Errors: as RequestContactEmailChange."""
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
        (ContactEmailChanged or LoginEmailChanged; notifications tells the previous address).
        Errors: UNAUTHENTICATED; INVALID_ARGUMENT
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
