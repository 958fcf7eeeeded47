"""Handlers turning the caller's TOTP two-factor authentication on and off."""

from __future__ import annotations

from chorus.identity.v1 import identity_service_pb2 as pb
from chorus_platform.auth import current_principal

from chorus_identity.api.client_context import client_context
from chorus_identity.usecases.two_factor import TwoFactor


class TwoFactorHandlers:
    """StartTotpEnrolment, ConfirmTotpEnrolment, DisableTotp."""

    _two_factor: TwoFactor

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
