"""Probes: ``/healthz`` (the process is up) and ``/readyz`` (every service SERVING and the
revoked sessions loaded)."""

from __future__ import annotations

from chorus_platform.grpc_client import SERVING
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
    revocations = request.app.state.revocations_ready
    if revocations is not None:
        try:
            await revocations()
            statuses["revocations"] = SERVING
        except Exception:
            statuses["revocations"] = "NOT_LOADED"
            not_ready.append("revocations")
    body = {"status": "unavailable" if not_ready else "ok", "services": statuses,
            "not_ready": not_ready}  # fmt: skip
    if not_ready:
        return JSONResponse(body, status_code=503, headers={"Retry-After": "2"})
    return JSONResponse(body)
