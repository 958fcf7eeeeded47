"""Handlers of the password reset by e-mailed link and secret answer."""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb

from chorus_identity.api.client_context import client_context
from chorus_identity.api.mapping import timestamp
from chorus_identity.usecases.password_resets import PasswordResets


class PasswordResetHandlers:
    """RequestPasswordReset, GetPasswordReset, ConfirmPasswordReset."""

    _resets: PasswordResets

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
