"""The routes: the token endpoint, the probes and every ``/cpro/**`` operation."""

from __future__ import annotations

from fastapi import APIRouter

from chorus_cpro_api.api import (
    engagements,
    flows,
    health,
    invoices,
    oauth,
    processing,
    structures,
    submissions,
    transverses,
    utilisateurs,
)

router = APIRouter()
for module in (
    health,
    oauth,
    transverses,
    flows,
    invoices,
    processing,
    submissions,
    structures,
    utilisateurs,
    engagements,
):
    router.include_router(module.router)
