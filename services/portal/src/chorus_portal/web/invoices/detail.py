"""Portal: one invoice (header, lines, VAT breakdown, totals, documents, EN 16931 warnings,
history) with one form per action its reader may take, and :func:`run_action`, which runs those
forms (:mod:`chorus_portal.web.invoices.actions`).

The page calls InvoicesService exactly as ``/api/v1/invoices`` does, with the session's token:
the service decides what the reader may see and do (``allowed_actions``); a page only offers
what it was told. Each POST checks the CSRF token first; a success redirects (303) to the
invoice with a notice, a refusal shows the page again with the service's French message and,
beside each field, what to fix. An invoice the reader may not see is the French 404 page.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.invoice_document import parse_document
from chorus_edge.invoices import FRAMEWORK, INVOICE_TYPE
from chorus_edge.problems import ProblemError, problem_from_rpc_error
from chorus_portal.web import formats, session
from chorus_portal.web.forms import text
from chorus_portal.web.invoices import processing
from chorus_portal.web.invoices.display import (
    NOTICES,
    actor_names,
    failure_page,
    not_found,
    status_name,
    structure_identifier,
    structures_of,
)
from chorus_portal.web.pages import render
from chorus_portal.web.paths import known_id
from chorus_portal.web.refusals import csrf_refused, field_errors
from chorus_portal.web.session import signed_in, to_login

router = APIRouter(include_in_schema=False)


async def _detail_context(clients: ServiceClients, caller: Caller, invoice_id: str) -> dict:
    invoice, history = await asyncio.gather(
        clients.invoices.get_invoice(invoice_id, caller),
        clients.invoices.get_invoice_history(invoice_id, caller),
    )
    parties, actors, moves = await asyncio.gather(
        structures_of(
            clients, caller, {invoice.supplier_structure_id, invoice.recipient_structure_id}
        ),
        actor_names(clients, caller, {entry.actor for entry in history}),
        processing.transitions(clients, caller, invoice.status),
    )
    supplier = parties.get(invoice.supplier_structure_id)
    recipient = parties.get(invoice.recipient_structure_id)
    actions = list(invoice.allowed_actions)
    offer = processing.offer(moves, actions)
    return {
        "invoice": invoice,
        "status": status_name(invoice.status),
        "lifecycle": [c.description for c in invoice.lifecycle_codes],
        "supplier_name": supplier.raison_sociale if supplier else "",
        "recipient_name": recipient.raison_sociale if recipient else "",
        "supplier_id": structure_identifier(supplier),
        "recipient_id": structure_identifier(recipient),
        "deposited_at": formats.moment(invoice, "deposited_at"),
        "history": [
            {
                "status": status_name(entry.status),
                # "204 Prise en charge — service fait": the code, then which status gave it.
                "lifecycle": [c.description for c in entry.lifecycle_codes],
                "at": formats.moment(entry, "at"),
                "by": actors.get(entry.actor, "Utilisateur inconnu"),
                "comment": entry.comment,
            }
            for entry in history
        ],
        "documents": [
            {
                "filename": d.filename,
                "size": d.size,
                "kind": DOCUMENT_KINDS.get(d.role, "Facture"),
                "url": _document_url(invoice.id, d),
            }
            for d in invoice.documents
        ],
        "facturx_pending": invoice.facturx_pending,
        "actions": actions,
        "processing": offer,
        "reason_codes": processing.REASON_CODES,
        "live": offer.live,
        "framework": formats.FRAMEWORK_LABELS.get(FRAMEWORK.to_rest(invoice.framework) or "", ""),
        "type_label": formats.TYPE_LABELS.get(INVOICE_TYPE.to_rest(invoice.type) or "", ""),
        "units": formats.UNIT_LABELS,
        # What the file says (EN 16931 model); None for an invoice without it.
        "document": parse_document(invoice.document_json),
        "vat_categories": formats.VAT_CATEGORY_LABELS,
        "schemes": formats.SCHEME_LABELS,
        "payment_means": formats.PAYMENT_MEANS_LABELS,
        "type_codes": formats.TYPE_CODE_LABELS,
        "acknowledged_at": formats.moment(invoice, "rejection_acknowledged_at"),
        "submission_key": secrets.token_urlsafe(24),
    }


DOCUMENT_KINDS = {
    "ATTACHMENT": "Pièce jointe",
    "FACTURX": "Facture (PDF Factur-X)",
    "CII": "Facture (XML CII)",
}


def _document_url(invoice_id: str, document: pb.InvoiceDocument) -> str:
    if document.role == "ATTACHMENT":
        return f"/factures/{invoice_id}/pieces-jointes/{quote(document.id, safe='')}"
    if document.role == "CII":
        return f"/factures/{invoice_id}/document?role=CII"
    return f"/factures/{invoice_id}/document"


@router.get("/factures/{invoice_id}", response_model=None)
async def invoice_detail(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = known_id(invoice_id)
    if known is None:
        return not_found(request)
    try:
        context = await _detail_context(clients, me, known)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    context["notice"] = NOTICES.get(request.query_params.get("avis", ""))
    return render(request, "facture.html", context)


@router.get("/factures/{invoice_id}/etat", response_model=None)
async def invoice_state(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    """The invoice's status as JSON, for the detail page's live refresh
    (``/static/invoice-live.js``): ``status``, its French ``label``, ``updated`` (the last
    change) and ``final`` (no move leaves it: stop asking). 401 without a session, 404 for an
    invoice the reader may not see."""
    me = signed_in(request, caller)
    known = known_id(invoice_id)
    if me is None:
        return JSONResponse({"error": "Session expirée."}, status_code=401, headers=NO_STORE)
    if known is None:
        return JSONResponse({"error": "Facture introuvable."}, status_code=404, headers=NO_STORE)
    try:
        invoice = await clients.invoices.get_invoice(known, me)
    except grpc.aio.AioRpcError as err:
        problem = problem_from_rpc_error(err)
        return JSONResponse({"error": problem.detail}, problem.status, headers=NO_STORE)
    moves = await processing.transitions(clients, me, invoice.status)
    name = status_name(invoice.status)
    return JSONResponse(
        {
            "status": name,
            "label": formats.status(name),
            "updated": invoice.updated_at.ToJsonString() if invoice.HasField("updated_at") else "",
            "final": moves is not None and not moves,
        },
        headers=NO_STORE,
    )


NO_STORE = {"Cache-Control": "no-store"}


async def run_action(
    request: Request,
    clients: Clients,
    caller: Caller,
    invoice_id: str,
    form_name: str,
    call: Callable[[str, Caller], Awaitable[object]],
    *,
    notice: str,
    values: dict[str, str] | None = None,
    done_url: str | None = None,
) -> Response:
    """Runs one action on an invoice from its detail page's form ``form_name``: CSRF check,
    ``call(invoice id, caller)``, then a redirect with the notice. A refusal (the service's,
    or a ProblemError raised while reading the form) shows the detail page again with the
    message, and the errors beside the form's fields (``values`` typed in kept)."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = known_id(invoice_id)
    if known is None:
        return not_found(request)
    form = await request.form()
    if not session.csrf_valid(request, text(form, "csrf_token")):
        problem = csrf_refused()
    else:
        try:
            await call(known, me)
        except ProblemError as err:
            problem = err
        except grpc.aio.AioRpcError as err:
            problem = problem_from_rpc_error(err)
        else:
            return RedirectResponse(done_url or f"/factures/{known}?avis={notice}", status_code=303)
    if problem.status == 401:
        return to_login()
    if problem.status == 404:
        return not_found(request)
    try:
        context = await _detail_context(clients, me, known)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    context.update(
        form=form_name,
        values=values or {},
        error=problem.detail,
        errors=field_errors(problem),
        code=problem.code,
    )
    return render(request, "facture.html", context, problem.status)
