"""The portal's probes: ``/healthz`` and ``/livez`` (liveness: the process answers) and
``/readyz`` (readiness), as the gateway's.

``/readyz`` answers 200 while the portal serves, whatever its backends say (their health is in
the body: ``services``, ``not_ready``, ``status`` ``degraded``), and 503 ``draining`` from
SIGTERM on (:mod:`chorus_platform.http_drain`). A backend away is a French 503 page on the
routes that need it, not every portal pod out of the Service at once.
"""

from __future__ import annotations

from typing import Literal

from chorus_platform.grpc_client import SERVING
from chorus_platform.http_drain import draining
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from chorus_edge.callers import Clients
from chorus_edge.problems import DEFAULT_RETRY_AFTER_SECONDS

router = APIRouter(include_in_schema=False)


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "draining"]
    services: dict[str, str]
    not_ready: list[str]


@router.get("/healthz")
@router.get("/livez")
async def healthz() -> Health:
    return Health()


@router.get("/readyz")
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
