"""Probes (``/healthz``, ``/readyz``) and token verification keys (``/.well-known/jwks.json``)."""

from __future__ import annotations

from typing import Literal

from chorus_platform.grpc_client import SERVING
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from chorus_gateway.api.openapi import PROBLEM_RESPONSES
from chorus_gateway.edge.callers import Clients
from chorus_gateway.edge.problems import DEFAULT_RETRY_AFTER_SECONDS

router = APIRouter(tags=["Santé et clés"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    services: dict[str, str]
    not_ready: list[str]


class Jwk(BaseModel):
    kty: Literal["OKP"] = "OKP"
    crv: Literal["Ed25519"] = "Ed25519"
    x: str
    kid: str
    alg: str = "EdDSA"
    use: Literal["sig"] = "sig"


class Jwks(BaseModel):
    keys: list[Jwk]


@router.get("/healthz", summary="The process is up")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    summary="Every downstream service reports SERVING",
    responses={503: {"model": Readiness, "description": "Some services are not ready."}},
)
async def readyz(request: Request, response: Response, clients: Clients) -> Readiness:
    statuses = await clients.health(deadline=request.app.state.settings.health_timeout_seconds)
    not_ready = [name for name, status in statuses.items() if status != SERVING]
    if not_ready:
        response.status_code = 503
        response.headers["Retry-After"] = str(DEFAULT_RETRY_AFTER_SECONDS)
    return Readiness(
        status="unavailable" if not_ready else "ok", services=statuses, not_ready=not_ready
    )


@router.get(
    "/.well-known/jwks.json",
    summary="Public keys verifying access tokens (JWKS)",
    responses={503: PROBLEM_RESPONSES[503]},
)
async def jwks(clients: Clients, response: Response) -> Jwks:
    keys = await clients.identity.get_public_keys()
    response.headers["Cache-Control"] = "public, max-age=300"
    return Jwks(keys=[Jwk(x=key.x, kid=key.kid, alg=key.algorithm or "EdDSA") for key in keys])
