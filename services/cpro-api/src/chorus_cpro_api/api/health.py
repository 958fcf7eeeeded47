"""Probes: ``/healthz`` (the process is up) and ``/readyz`` (the process can take requests).

Ready means: started, the revoked sessions loaded (an in-process prerequisite: without the
deny-list a revoked token would pass), and not draining after SIGTERM
(:mod:`chorus_platform.http_drain`). The backends are **not** required: their health is in
the body (``services``, ``not_ready``, ``status`` ``degraded``) and each route that needs one
answers its own unavailability. Following them would take every cpro-api pod out of the
Service whenever any backend is away, turning a partial outage into a total one and making
the pods flap with every backend hiccup; where a backend's calls go is its own readiness.
"""

from __future__ import annotations

from chorus_platform.grpc_client import SERVING
from chorus_platform.http_drain import draining
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter()


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    statuses = await request.app.state.clients.health(deadline=settings.health_timeout_seconds)
    not_ready = [name for name, status in statuses.items() if status != SERVING]
    unready = "draining" if draining() else None
    revocations = request.app.state.revocations_ready
    if revocations is not None:
        try:
            await revocations()
            statuses["revocations"] = SERVING
        except Exception:
            statuses["revocations"] = "NOT_LOADED"
            not_ready.append("revocations")
            unready = unready or "unavailable"
    status = unready or ("degraded" if not_ready else "ok")
    body = {"status": status, "services": statuses, "not_ready": not_ready}
    if unready:
        return JSONResponse(body, status_code=503, headers={"Retry-After": "2"})
    return JSONResponse(body)
