"""Portal: managers add a service to their structure, rename it, (de)activate it or change its
engagement flag. Run by :func:`~chorus_portal.web.structures.detail.run_action`.
"""

from __future__ import annotations

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients.caller import Caller
from chorus_portal.web.forms import text
from chorus_portal.web.paths import path_id
from chorus_portal.web.structures.detail import run_action

router = APIRouter(include_in_schema=False)


@router.post("/structures/{structure_id}/services", response_model=None)
async def create_service(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def create(known: str, me: Caller, form: FormData) -> None:
        await clients.structures.create_service(
            pb.CreateServiceRequest(
                structure_id=known,
                code=text(form, "code"),
                name=text(form, "name"),
                engagement_required=text(form, "engagement_required") == "on",
            ),
            me,
        )

    return await run_action(
        request, clients, caller, structure_id, "service", create, notice="service",
        values=("code", "name", "engagement_required"),
    )  # fmt: skip


@router.post("/structures/{structure_id}/services/{service_id}", response_model=None)
async def update_service(
    request: Request, structure_id: str, service_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def update(known: str, me: Caller, form: FormData) -> None:
        # The row's form shows every field: each is sent, as a full PATCH would.
        await clients.structures.update_service(
            pb.UpdateServiceRequest(
                structure_id=known,
                service_id=path_id(service_id),
                name=text(form, "name"),
                active=text(form, "active") == "on",
                engagement_required=text(form, "engagement_required") == "on",
            ),
            me,
        )

    return await run_action(
        request, clients, caller, structure_id, "service_update", update,
        notice="service-modifie", values=("name", "active", "engagement_required"),
    )  # fmt: skip
