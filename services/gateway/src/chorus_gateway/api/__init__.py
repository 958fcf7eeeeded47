"""The REST API ``/api/v1``: one router per resource, errors as problem+json."""

from __future__ import annotations

from fastapi import APIRouter

from chorus_gateway.api import (
    accounts,
    feed,
    invoice_documents,
    invoice_pdf,
    invoice_processing,
    invoices,
    preferences,
    structures,
)
from chorus_gateway.api.problems import PROBLEM_RESPONSES

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
for module in (
    accounts,
    structures,
    invoices,
    invoice_documents,
    invoice_pdf,
    invoice_processing,
    feed,
):
    api_router.include_router(module.router)
api_router.include_router(preferences.router)
