"""The REST API ``/api/v1``: one router per resource, errors as problem+json.

:data:`api_router` assembles them, in matching order; :mod:`chorus_gateway.app` includes it.
"""

from __future__ import annotations

from fastapi import APIRouter

from chorus_gateway.api import (
    accounts,
    attachment_requests,
    feed,
    invoice_documents,
    invoice_pdf,
    invoice_processing,
    invoices,
    preferences,
    structure_members,
    structure_spaces,
    structures,
)
from chorus_gateway.api.openapi import PROBLEM_RESPONSES

API_PREFIX = "/api/v1"

api_router = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
for module in (
    accounts,
    structures,
    attachment_requests,
    structure_members,
    structure_spaces,
    invoices,
    invoice_documents,
    invoice_pdf,
    invoice_processing,
    feed,
    preferences,
):
    api_router.include_router(module.router)
