"""Portal: managers change their structure (raison sociale, libellé, address, e-mail, VAT number
and, for a public structure, its routing parameters) through the API's body and mapping, and
its status once a confirmation box is ticked. Run by
:func:`~chorus_portal.web.structures.detail.run_action`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients.caller import Caller
from chorus_edge.problems import FieldError, ProblemError
from chorus_edge.structures import AddressBody, UpdateStructureBody, update_request
from chorus_portal.web.forms import text
from chorus_portal.web.structures.detail import run_action
from chorus_portal.web.structures.labels import ADDRESS_FIELDS, ROUTING_LABELS, STATUS_LABELS

router = APIRouter(include_in_schema=False)

UPDATE_FIELDS = ("raison_sociale", "libelle", *ADDRESS_FIELDS, "email", "vat_number")


@router.post("/structures/{structure_id}/modification", response_model=None)
async def update_structure(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def update(known: str, me: Caller, form: FormData) -> None:
        # The API's body and mapping, unvalidated: the service says what to fix, in French
        # (and refuses routing parameters to a private structure).
        fields: dict[str, Any] = {
            name: text(form, name) for name in ("raison_sociale", "libelle", "email", "vat_number")
        }
        if text(form, "routing") == "1":  # a public structure's form carries its parameters
            fields.update({name: text(form, name) == "on" for name in ROUTING_LABELS})
        body = UpdateStructureBody.model_construct(
            address=AddressBody.model_construct(
                **{name: text(form, name) for name in ADDRESS_FIELDS}
            ),
            **fields,
        )
        await clients.structures.update_structure(update_request(known, body), me)

    return await run_action(
        request, clients, caller, structure_id, "update", update, notice="modifiee",
        values=(*UPDATE_FIELDS, "routing", *ROUTING_LABELS),
    )  # fmt: skip


@router.post("/structures/{structure_id}/statut", response_model=None)
async def change_status(
    request: Request, structure_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def change(known: str, me: Caller, form: FormData) -> None:
        status = text(form, "status")
        if status not in STATUS_LABELS:
            raise ProblemError(
                422, "STATUS_INVALID", "Choisissez le statut de la structure : active ou inactive."
            )
        if text(form, "confirmation") != "on":
            raise ProblemError(
                422,
                "CONFIRMATION_REQUIRED",
                "Confirmez le changement de statut de la structure.",
                [FieldError(field="confirmation", message="Cochez cette case pour confirmer.")],
            )
        body = UpdateStructureBody.model_construct(status=status)
        await clients.structures.update_structure(update_request(known, body), me)

    return await run_action(
        request, clients, caller, structure_id, "status", change, notice="statut",
        values=("status",),
    )  # fmt: skip
