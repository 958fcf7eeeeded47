"""Probes (``/healthz``, ``/readyz``) and token verification keys (``/.well-known/jwks.json``).

``/healthz`` (liveness): the process answers. ``/readyz`` (readiness): the process can take
requests — it has started (its channels are open) and is not draining after SIGTERM
(:mod:`chorus_platform.http_drain`: 503 from the signal on). It does **not** depend on the
backends, whose health it reports in the body only (``services``, ``not_ready``, ``status``
``degraded``): the gateway keeps no state a backend outage could spoil, and every route that
needs a backend answers a 503 problem with ``Retry-After`` by itself. Were readiness to follow
the backends, one backend away (notifications, say) would take every gateway pod out of the
Service at once: a partial outage (no feed) would become a total one (no portal, no deposits,
not even the French error page), and every pod would flap with each backend hiccup. Where a
backend's calls go is that backend's own readiness (gRPC health, its database), and an
operator reads the body or the metrics.
"""

from __future__ import annotations

from typing import Literal

from chorus_platform.grpc_client import SERVING
from chorus_platform.http_drain import draining
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from chorus_edge.callers import Clients
from chorus_edge.problems import DEFAULT_RETRY_AFTER_SECONDS
from chorus_gateway.api.openapi import PROBLEM_RESPONSES

router = APIRouter(tags=["Santé et clés"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "draining"]
    """ok: every backend SERVING; degraded: some not (still ready); draining: shutting down."""
    services: dict[str, str]
    not_ready: list[str]
    """The backends not SERVING (informative: they do not make the gateway unready)."""


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
    summary="The gateway takes requests (backends' health reported, not required)",
    responses={503: {"model": Readiness, "description": "Shutting down (draining)."}},
)
async def readyz(request: Request, response: Response, clients: Clients) -> Readiness:
    statuses = await clients.health(deadline=request.app.state.settings.health_timeout_seconds)
    not_ready = [name for name, status in statuses.items() if status != SERVING]
    if draining():
        response.status_code = 503
        response.headers["Retry-After"] = str(DEFAULT_RETRY_AFTER_SECONDS)
        return Readiness(status="draining", services=statuses, not_ready=not_ready)
    return Readiness(
        status="degraded" if not_ready else "ok", services=statuses, not_ready=not_ready
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
