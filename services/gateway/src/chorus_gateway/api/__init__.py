"""The REST API ``/api/v1``: one router per resource, errors as problem+json, every input
checked by :func:`~chorus_edge.input_hygiene.checked_input` first.

:data:`api_router` assembles them, in matching order; :mod:`chorus_gateway.app` includes it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from chorus_edge.input_hygiene import checked_input
from chorus_gateway.api import (
    accounts,
    attachment_requests,
    credentials,
    docs,
    feed,
    invoice_documents,
    invoice_pdf,
    invoice_processing,
    invoices,
    preferences,
    sollicitations,
    structure_members,
    structure_spaces,
    structures,
)
from chorus_gateway.api.openapi import PROBLEM_RESPONSES

API_PREFIX = "/api/v1"

# checked_input runs before each route's own dependencies: no bad string reaches a service.
api_router = APIRouter(
    prefix=API_PREFIX, responses=PROBLEM_RESPONSES, dependencies=[Depends(checked_input)]
)
for module in (
    docs,
    accounts,
    structures,
    attachment_requests,
    structure_members,
    structure_spaces,
    credentials,
    invoices,
    invoice_documents,
    invoice_pdf,
    invoice_processing,
    feed,
    preferences,
    sollicitations,
):
    api_router.include_router(module.router)
