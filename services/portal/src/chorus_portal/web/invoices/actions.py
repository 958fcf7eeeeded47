"""Portal: the actions on one invoice, each a form of its page (submit or delete a draft,
acknowledge a rejection, change the status, complete, recycle), run by
:func:`~chorus_portal.web.invoices.detail.run_action` over the same RPCs as
``/api/v1/invoices/{id}/…``."""

from __future__ import annotations

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from fastapi import APIRouter, Request
from fastapi.responses import Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.invoices import INVOICE_STATUS
from chorus_edge.problems import FieldError, ProblemError
from chorus_portal.web import formats, session
from chorus_portal.web.forms import text
from chorus_portal.web.invoices import forms as invoice_forms
from chorus_portal.web.invoices import processing
from chorus_portal.web.invoices.detail import run_action
from chorus_portal.web.invoices.display import status_name
from chorus_portal.web.invoices.forms import with_submission_key
from chorus_portal.web.pages import render
from chorus_portal.web.paths import known_id
from chorus_portal.web.session import signed_in

router = APIRouter(include_in_schema=False)


@router.post("/factures/{invoice_id}/depot", response_model=None)
async def submit_draft(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    return await run_action(
        request, clients, caller, invoice_id, "submit", clients.invoices.submit_invoice,
        notice="soumise",
    )  # fmt: skip


@router.post("/factures/{invoice_id}/suppression", response_model=None)
async def delete_draft(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    return await run_action(
        request, clients, caller, invoice_id, "delete", clients.invoices.delete_invoice,
        notice="supprimee", done_url="/factures?avis=supprimee",
    )  # fmt: skip


@router.post("/factures/{invoice_id}/rejet-pris-en-compte", response_model=None)
async def acknowledge_rejection(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    return await run_action(
        request, clients, caller, invoice_id, "acknowledge",
        clients.invoices.acknowledge_rejection, notice="rejet",
    )  # fmt: skip


@router.post("/factures/{invoice_id}/statut", response_model=None)
async def change_status(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    """One processing button (``status``), or the send-back form (``status`` with
    ``reason_code`` and the comment ``reason``). A move to a terminal status is first
    answered with a confirmation page; its form posts again with ``confirm=oui``."""
    form = await request.form()
    values = {
        "status": text(form, "status"),
        "reason_code": text(form, "reason_code"),
        "reason": text(form, "reason"),
    }
    if text(form, "confirm") != processing.CONFIRMED:
        page = await _confirmation(request, clients, caller, invoice_id, values)
        if page is not None:
            return page

    async def change(known: str, me: Caller) -> None:
        target = values["status"] if values["status"] in formats.STATUS_LABELS else None
        status_request = pb.ChangeInvoiceStatusRequest(
            invoice_id=known,
            status=INVOICE_STATUS.to_proto(target),
            reason=processing.reason_text(values["reason_code"], values["reason"]),
        )
        await clients.invoices.change_invoice_status(status_request, me)

    return await run_action(
        request, clients, caller, invoice_id, "status", change, notice="statut", values=values
    )


async def _confirmation(
    request: Request, clients: Clients, caller: Caller, invoice_id: str, values: dict[str, str]
) -> Response | None:
    """The confirmation page of a move to a terminal status (the service's table says which
    are), or None to go on (a CSRF or read failure is then answered by run_action, a move the
    table does not have is refused by the service)."""
    me = signed_in(request, caller)
    known = known_id(invoice_id)
    form = await request.form()
    if me is None or known is None or not session.csrf_valid(request, text(form, "csrf_token")):
        return None
    try:
        invoice = await clients.invoices.get_invoice(known, me)
    except grpc.aio.AioRpcError:
        return None
    moves = await processing.transitions(clients, me, invoice.status)
    move = processing.find_move(moves, values["status"])
    reason = processing.reason_text(values["reason_code"], values["reason"])
    if moves is not None and (move is None or not move.terminal):
        return None
    if move is not None and move.reason_required and not reason:
        return None  # the service refuses it, and says why beside the field
    return render(
        request,
        "facture_confirmation.html",
        {
            "invoice": invoice,
            "move": move,
            "target_label": formats.status(values["status"]),
            "current_label": formats.status(status_name(invoice.status)),
            "values": values,
            "reason": reason,
        },
    )


@router.post("/factures/{invoice_id}/completion", response_model=None)
async def complete(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    form = await request.form()
    values = {"comment": text(form, "comment")}

    async def completion(known: str, me: Caller) -> None:
        submitter = with_submission_key(me, form)
        completion_request = pb.CompleteInvoiceRequest(
            invoice_id=known,
            comment=values["comment"],
            staged_attachment_ids=await invoice_forms.staged_uploads(
                request, clients, submitter, form, "attachments", invoice_id=known
            ),
        )
        await clients.invoices.complete_invoice(completion_request, submitter)

    return await run_action(
        request, clients, caller, invoice_id, "complete", completion,
        notice="completee", values=values,
    )  # fmt: skip


@router.post("/factures/{invoice_id}/recyclage", response_model=None)
async def recycle(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    form = await request.form()
    values = {
        name: text(form, name) for name in ("recipient_siret", "service_code", "engagement_number")
    }

    async def recycling(known: str, me: Caller) -> None:
        recipient_id = ""
        if values["recipient_siret"]:
            recipient_id = await _recipient_id(clients, me, values["recipient_siret"])
        recycle_request = pb.RecycleInvoiceRequest(
            invoice_id=known,
            recipient_structure_id=recipient_id,
            service_code=values["service_code"],
            engagement_number=values["engagement_number"],
        )
        await clients.invoices.recycle_invoice(recycle_request, me)

    return await run_action(
        request, clients, caller, invoice_id, "recycle", recycling,
        notice="recyclee", values=values,
    )  # fmt: skip


async def _recipient_id(clients: ServiceClients, caller: Caller, siret: str) -> str:
    """The id of the structure registered under ``siret``; ProblemError 422 when none is."""
    wanted = "".join(siret.split())
    if len(wanted) >= 3:
        found = await clients.structures.search_structures(
            structures_pb.SearchStructuresRequest(identifier_prefix=wanted, page_size=5), caller
        )
        for structure in found.structures:
            if structure.identifier == wanted:
                return structure.id
    message = "Aucune structure de l'annuaire n'a ce SIRET : vérifiez les 14 chiffres."
    raise ProblemError(
        422,
        "RECIPIENT_NOT_FOUND",
        message,
        [FieldError(field="recipient_siret", message=message)],
    )
