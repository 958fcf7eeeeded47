"""``POST /api/oauth/token``: an API application's access token (see ``edge.oauth``)."""

from __future__ import annotations

import math

import grpc
from chorus_platform.rpc_status import from_rpc_error
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from chorus_cpro_api.clients.caller import Caller
from chorus_cpro_api.edge.credentials import client_address
from chorus_cpro_api.edge.oauth import DEFAULT_SCOPE, NO_STORE, OAuthError, parse_token_request
from chorus_cpro_api.edge.rate_limits import RateLimiter

router = APIRouter()

TOKEN_PATH = "/api/oauth/token"

REFUSALS = {
    "CLIENT_UNKNOWN": "client_id inconnu : creez une application API dans le portail "
    "(Mon compte > Applications API).",
    "CLIENT_SECRET_INVALID": "client_secret incorrect pour ce client_id.",
    "CLIENT_REVOKED": "cette application API a ete revoquee : creez-en une autre dans le portail.",
}


@router.post(TOKEN_PATH)
async def token(request: Request) -> JSONResponse:
    """OAuth 2.0 client credentials (RFC 6749 §4.4) → ``{access_token, token_type: "Bearer",
    expires_in, scope}``."""
    parsed = parse_token_request(await request.body(), request.headers.get("authorization"))
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.acquire(f"token:{parsed.client_id}")
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise OAuthError(
            429,
            "slow_down",
            f"Trop de demandes de jeton pour ce client : reessayez dans {seconds} secondes.",
            {"Retry-After": str(seconds)},
        )
    identity = request.app.state.clients.identity
    caller = Caller(ip_address=client_address(request))
    scope = parsed.scope or DEFAULT_SCOPE
    refusal: OAuthError | None = None
    for secret in parsed.secrets:
        try:
            answer = await identity.issue_client_token(parsed.client_id, secret, scope, caller)
        except grpc.RpcError as err:
            refusal = _refusal(err, basic=parsed.basic)
            if from_rpc_error(err).reason == "CLIENT_SECRET_INVALID":
                continue  # the next reading of the secret, if any
            raise refusal from None
        return JSONResponse(
            {
                "access_token": answer.access_token,
                "token_type": "Bearer",
                "expires_in": int(answer.expires_in),
                "scope": answer.scope or scope,
            },
            headers=NO_STORE,
        )
    assert refusal is not None
    raise refusal


@router.api_route(TOKEN_PATH, methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def token_wrong_method() -> JSONResponse:
    raise OAuthError(
        405,
        "invalid_request",
        "Le jeton s'obtient par POST (application/x-www-form-urlencoded).",
        {"Allow": "POST"},
    )


def _refusal(err: grpc.RpcError, *, basic: bool) -> OAuthError:
    remote = from_rpc_error(err)
    if remote.code == grpc.StatusCode.UNAUTHENTICATED or remote.reason in REFUSALS:
        return OAuthError(
            401,
            "invalid_client",
            REFUSALS.get(remote.reason, remote.message or "Client non authentifie."),
            {"WWW-Authenticate": 'Basic realm="chorus"'} if basic else {},
        )
    if remote.code == grpc.StatusCode.INVALID_ARGUMENT:
        return OAuthError(400, "invalid_request", remote.message or "Requete invalide.")
    if remote.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        seconds = remote.metadata.get("retry_after_seconds", "")
        headers = {"Retry-After": seconds} if seconds.isdigit() else {}
        return OAuthError(429, "slow_down", remote.message or "Trop de demandes.", headers)
    return OAuthError(
        503,
        "temporarily_unavailable",
        "Service d'authentification momentanement indisponible ; reessayez.",
        {"Retry-After": "2"},
    )
