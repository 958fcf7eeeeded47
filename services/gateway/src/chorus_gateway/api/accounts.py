"""``/accounts``, ``/auth`` and ``/me``: accounts and sessions over IdentityService."""

from __future__ import annotations

from fastapi import APIRouter, Response

from chorus_gateway.api.schemas import accounts as schemas
from chorus_gateway.api.security import AnonymousCaller, AuthenticatedCaller, Clients

router = APIRouter(tags=["Comptes et sessions"])


@router.post("/accounts", status_code=201, summary="Create an account (sends the activation link)")
async def register_account(
    body: schemas.RegisterAccountBody, clients: Clients, caller: AnonymousCaller
) -> schemas.AccountStatus:
    user = await clients.identity.register_account(schemas.register_request(body), caller)
    return schemas.account_status(user)


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
    body: schemas.ResendActivationBody, clients: Clients, caller: AnonymousCaller
) -> schemas.Accepted:
    await clients.identity.resend_activation(body.login_email, caller)
    return schemas.Accepted()


@router.post("/auth/token", summary="Log in: an access token and a refresh token")
async def create_token(
    body: schemas.TokenBody, clients: Clients, caller: AnonymousCaller
) -> schemas.TokenResponse:
    tokens = await clients.identity.create_session(body.login_email, body.password, caller)
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


@router.get("/me", summary="The caller's account")
async def get_me(clients: Clients, caller: AuthenticatedCaller) -> schemas.Account:
    return schemas.account(await clients.identity.get_me(caller))
