"""``/accounts``, ``/auth``, ``/password-resets`` and ``/me``: accounts, sessions, password
reset, "Mon compte" and two-factor authentication over IdentityService.

Registration, login, second factor, password reset and activation resend are rate-limited per
client IP (each registration e-mails an address: unlimited, it would let anyone flood a mailbox)
(429 ``RATE_LIMITED``); identity locks an account after repeated failures (423
``ACCOUNT_LOCKED``).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from chorus_edge.accounts import UpdateMeBody, update_me_request
from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.problems import TITLES, Problem
from chorus_gateway.api.rate_limit import (
    ActivationResendLimited,
    LoginLimited,
    PasswordResetLimited,
    RegistrationLimited,
    ResetConfirmLimited,
    ResetLookupLimited,
    SecondFactorLimited,
)
from chorus_gateway.api.schemas import accounts as schemas
from chorus_gateway.api.security import AuthenticatedCaller

router = APIRouter(tags=["Comptes et sessions"])

LOCKED = {423: {"model": Problem, "description": TITLES[423]}}


@router.post(
    "/accounts",
    status_code=202,
    summary="Create an account: the activation link is e-mailed (same answer whether the "
    "address already has an account or not; its owner is then told instead)",
)
async def register_account(
    body: schemas.RegisterAccountBody,
    clients: Clients,
    caller: AnonymousCaller,
    _: RegistrationLimited,
) -> schemas.Accepted:
    await clients.identity.register_account(schemas.register_request(body), caller)
    return schemas.Accepted()


@router.post("/accounts/activation", summary="Activate an account with its link's token")
async def activate_account(
    body: schemas.ActivationBody, clients: Clients, caller: AnonymousCaller
) -> schemas.AccountStatus:
    user = await clients.identity.activate_account(schemas.activation_request(body), caller)
    return schemas.account_status(user)


@router.post(
    "/accounts/activation/resend",
    status_code=202,
    summary="Send a new activation link (same answer whether the account exists or not)",
)
async def resend_activation(
    body: schemas.ResendActivationBody,
    clients: Clients,
    caller: AnonymousCaller,
    _: ActivationResendLimited,
) -> schemas.Accepted:
    await clients.identity.resend_activation(body.login_email, caller)
    return schemas.Accepted()


@router.post(
    "/auth/token",
    summary="Log in: tokens, or a second-factor challenge (`mfa_required`)",
    responses=LOCKED,
)
async def create_token(
    body: schemas.TokenBody, clients: Clients, caller: AnonymousCaller, _: LoginLimited
) -> schemas.TokenResponse | schemas.MfaChallenge:
    response = await clients.identity.create_session(body.login_email, body.password, caller)
    if response.mfa_required:
        return schemas.mfa_challenge(response)
    return schemas.token_response(response.tokens)


@router.post(
    "/auth/token/mfa",
    summary="Finish a two-factor login with a TOTP or recovery code",
    responses=LOCKED,
)
async def complete_mfa(
    body: schemas.MfaBody, clients: Clients, caller: AnonymousCaller, _: SecondFactorLimited
) -> schemas.TokenResponse:
    tokens = await clients.identity.complete_mfa_challenge(body.challenge_id, body.code, caller)
    return schemas.token_response(tokens)


@router.post("/auth/refresh", summary="A new token pair; the refresh token presented is spent")
async def refresh_token(
    body: schemas.RefreshBody, clients: Clients, caller: AnonymousCaller
) -> schemas.TokenResponse:
    tokens = await clients.identity.refresh_session(body.refresh_token, caller)
    return schemas.token_response(tokens)


@router.post(
    "/auth/logout", status_code=204, response_class=Response, summary="Log out (revoke session)"
)
async def logout(body: schemas.RefreshBody, clients: Clients, caller: AnonymousCaller) -> Response:
    await clients.identity.revoke_session(body.refresh_token, caller)
    return Response(status_code=204)


@router.post(
    "/password-resets",
    status_code=202,
    summary="E-mail a password-reset link (same answer whether the account exists or not)",
)
async def request_password_reset(
    body: schemas.PasswordResetRequestBody,
    clients: Clients,
    caller: AnonymousCaller,
    _: PasswordResetLimited,
) -> schemas.Accepted:
    await clients.identity.request_password_reset(body.login_email, caller)
    return schemas.Accepted()


@router.post(
    "/password-resets/lookup",
    summary="The secret question of a reset link (for the reset page)",
)
async def lookup_password_reset(
    body: schemas.PasswordResetLookupBody,
    clients: Clients,
    caller: AnonymousCaller,
    _: ResetLookupLimited,
) -> schemas.PasswordResetLink:
    return schemas.reset_link(await clients.identity.get_password_reset(body.token, caller))


@router.post(
    "/password-resets/confirm",
    status_code=204,
    response_class=Response,
    summary="Set a new password with the link's token and the secret answer; every session "
    "is revoked",
    responses=LOCKED,
)
async def confirm_password_reset(
    body: schemas.PasswordResetConfirmBody,
    clients: Clients,
    caller: AnonymousCaller,
    _: ResetConfirmLimited,
) -> Response:
    await clients.identity.confirm_password_reset(schemas.reset_confirm_request(body), caller)
    return Response(status_code=204)


@router.get("/me", summary="The caller's account")
async def get_me(clients: Clients, caller: AuthenticatedCaller) -> schemas.Account:
    return schemas.account(await clients.identity.get_me(caller))


@router.patch(
    "/me",
    summary="Update names and phone; a new contact_email (with current_password) gets a "
    "verification link first",
    responses=LOCKED,
)
async def update_me(
    body: UpdateMeBody, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Account:
    if body.contact_email is not None:
        await clients.identity.request_contact_email_change(
            body.contact_email, body.current_password or "", caller
        )
    request = update_me_request(body)
    if request.ListFields() or body.contact_email is None:
        return schemas.account(await clients.identity.update_me(request, caller))
    return schemas.account(await clients.identity.get_me(caller))


@router.post(
    "/me/password",
    status_code=204,
    response_class=Response,
    summary="Change the password (current one required); every other session is revoked",
    responses=LOCKED,
)
async def change_password(
    body: schemas.ChangePasswordBody, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    await clients.identity.change_password(body.current_password, body.new_password, caller)
    return Response(status_code=204)


@router.post(
    "/me/contact-email",
    status_code=202,
    summary="Change the contact e-mail (password required): a verification link goes to the "
    "new address, a notice to the old one once confirmed",
    responses=LOCKED,
)
async def change_contact_email(
    body: schemas.ContactEmailBody, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Accepted:
    await clients.identity.request_contact_email_change(
        body.contact_email, body.current_password, caller
    )
    return schemas.Accepted()


@router.post(
    "/me/login-email",
    status_code=202,
    summary="Change the login e-mail (password required): a verification link goes to the new "
    "address, a notice to the old one once confirmed",
    responses=LOCKED,
)
async def change_login_email(
    body: schemas.LoginEmailBody, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Accepted:
    await clients.identity.request_login_email_change(
        body.login_email, body.current_password, caller
    )
    return schemas.Accepted()


@router.post(
    "/me/email-verification/confirm",
    summary="Confirm a new contact or login e-mail with the link's token",
)
async def confirm_email(
    body: schemas.TokenOnlyBody, clients: Clients, caller: AuthenticatedCaller
) -> schemas.Account:
    return schemas.account(await clients.identity.confirm_email_change(body.token, caller))


@router.post(
    "/me/deactivation",
    status_code=204,
    response_class=Response,
    summary="Deactivate the account (password required): sessions revoked, data kept",
    responses=LOCKED,
)
async def deactivate_me(
    body: schemas.PasswordConfirmationBody, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    await clients.identity.deactivate_me(body.current_password, caller)
    return Response(status_code=204)


@router.get("/me/sessions", summary="The caller's active sessions")
async def list_sessions(clients: Clients, caller: AuthenticatedCaller) -> schemas.Sessions:
    items = await clients.identity.list_my_sessions(caller)
    return schemas.Sessions(items=[schemas.session(item) for item in items])


@router.delete(
    "/me/sessions/{session_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke one of the caller's sessions",
)
async def revoke_session(
    session_id: str, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    await clients.identity.revoke_my_session(session_id, caller)
    return Response(status_code=204)


@router.post(
    "/me/mfa/totp",
    summary="Start two-factor enrolment: TOTP secret, otpauth URI and recovery codes (once)",
)
async def start_totp(clients: Clients, caller: AuthenticatedCaller) -> schemas.TotpEnrolment:
    return schemas.totp_enrolment(await clients.identity.start_totp_enrolment(caller))


@router.post(
    "/me/mfa/totp/confirm",
    status_code=204,
    response_class=Response,
    summary="Turn two-factor authentication on with a first code",
)
async def confirm_totp(
    body: schemas.TotpCodeBody, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    await clients.identity.confirm_totp_enrolment(body.code, caller)
    return Response(status_code=204)


@router.delete(
    "/me/mfa/totp",
    status_code=204,
    response_class=Response,
    summary="Turn two-factor authentication off (JSON body with current_password)",
    responses=LOCKED,
)
async def disable_totp(
    body: schemas.PasswordConfirmationBody, clients: Clients, caller: AuthenticatedCaller
) -> Response:
    await clients.identity.disable_totp(body.current_password, caller)
    return Response(status_code=204)
