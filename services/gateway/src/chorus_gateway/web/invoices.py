"""Portal invoice pages: "Mes factures" (issued or received, filtered, page by page), one
invoice with its documents and the actions its reader may take; the deposit pages are in
:mod:`chorus_gateway.web.invoice_deposit`, which shares the helpers of this module.

The pages call InvoicesService exactly as ``/api/v1/invoices`` does, with the session's token:
the service decides what the reader may see and do (``allowed_actions``); a page only offers
what it was told. Each POST checks the CSRF token first; a success redirects (303) to the
invoice with a notice, a refusal shows the page again with the service's French message and,
beside each field, what to fix. An invoice the reader may not see is the French 404 page.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from chorus_platform import idempotency
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from chorus_gateway.api.problems import TITLES, FieldError, ProblemError, problem_from_rpc_error
from chorus_gateway.api.schemas.invoices import FRAMEWORK, INVOICE_STATUS, INVOICE_TYPE, LIST_SIDE
from chorus_gateway.api.security import AnonymousCaller, Clients
from chorus_gateway.clients import ServiceClients
from chorus_gateway.clients.caller import Caller
from chorus_gateway.web import formats, invoice_forms, session
from chorus_gateway.web.pages import render
from chorus_gateway.web.portal import CSRF_EXPIRED, _render_refusal

router = APIRouter(include_in_schema=False)

# Notices shown after a redirect (``?avis=``): fixed texts, nothing from the URL is echoed.
NOTICES = {
    "deposee": "Facture déposée. Elle est contrôlée puis mise à disposition du destinataire.",
    "brouillon": "Brouillon enregistré. Déposez-le quand il est prêt.",
    "soumise": "Brouillon déposé : la facture suit maintenant son circuit.",
    "statut": "Le statut de la facture a été mis à jour.",
    "completee": "Facture complétée : le destinataire reprend son traitement.",
    "recyclee": "Facture redéposée avec les nouvelles informations d'acheminement.",
    "rejet": "Vous avez pris connaissance du rejet.",
    "supprimee": "Brouillon supprimé.",
}
FILTERS = (
    "status",
    "number",
    "issued_from",
    "issued_to",
    "deposited_from",
    "deposited_to",
    "min_amount",
    "max_amount",
    "counterparty_name",
    "service_code",
)
SIDES = {"issued": "Émises", "received": "Reçues"}


def signed_in(request: Request, caller: Caller) -> Caller | None:
    token = session.session_token(request)
    return replace(caller, token=token) if token else None


def to_login() -> RedirectResponse:
    return RedirectResponse("/connexion", status_code=303)


def _known(invoice_id: str) -> str | None:
    """The canonical invoice id, or None for anything that is not one (it names nothing)."""
    try:
        return str(uuid.UUID(invoice_id))
    except ValueError:
        return None


def csrf_refused() -> ProblemError:
    return ProblemError(403, "CSRF_TOKEN_INVALID", CSRF_EXPIRED)


def with_submission_key(me: Caller, form: FormData) -> Caller:
    """The caller with the form's one-time submission key as its Idempotency-Key, so that a
    form sent twice (double click, reload) deposits once: the service replays the first
    answer. A page refused and shown again carries a new key."""
    key = invoice_forms.text(form, "submission_key")
    return replace(me, idempotency_key=key) if idempotency.is_valid_key(key) else me


def _not_found(request: Request) -> HTMLResponse:
    return render(
        request,
        "erreur.html",
        {
            "title": "Facture introuvable",
            "message": "Cette facture n'existe pas, ou vous n'avez pas accès à ses données.",
        },
        status_code=404,
    )


def failure_page(request: Request, err: grpc.aio.AioRpcError) -> Response:
    """The page answering a failed read: login when the session expired, the 404 page, or
    the service's message."""
    problem = problem_from_rpc_error(err)
    if problem.status == 401:
        return to_login()
    if problem.status == 404:
        return _not_found(request)
    title = TITLES.get(problem.status, "Erreur")
    return render(
        request, "erreur.html", {"title": title, "message": problem.detail}, problem.status
    )


async def _names(clients: ServiceClients, caller: Caller, ids: set[str]) -> dict[str, str]:
    """Raison sociale of each structure id (the directory is readable by any user); a
    structure that cannot be read is left out."""
    wanted = sorted(i for i in ids if i)
    found = await asyncio.gather(
        *(clients.structures.get_structure(i, caller) for i in wanted), return_exceptions=True
    )
    return {
        i: s.raison_sociale
        for i, s in zip(wanted, found, strict=True)
        if not isinstance(s, BaseException)
    }


def _status_name(number: int) -> str:
    return INVOICE_STATUS.to_rest(number) or ""


# "Mes factures"


@router.get("/factures", response_model=None)
async def invoice_list(
    request: Request, clients: Clients, caller: AnonymousCaller, side: str = "issued"
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    side = side if side in SIDES else "issued"
    values = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    status = values["status"] if values["status"] in formats.STATUS_LABELS else ""
    page_token = request.query_params.get("page_token", "")
    list_request = pb.ListInvoicesRequest(
        side=LIST_SIDE.to_proto(side.upper()),
        status=INVOICE_STATUS.to_proto(status or None),
        number=values["number"],
        issued_from=values["issued_from"],
        issued_to=values["issued_to"],
        deposited_from=values["deposited_from"],
        deposited_to=values["deposited_to"],
        min_amount=formats.decimal_input(values["min_amount"]),
        max_amount=formats.decimal_input(values["max_amount"]),
        counterparty_name=values["counterparty_name"],
        service_code=values["service_code"],
        page_token=page_token,
    )
    context: dict[str, Any] = {
        "side": side,
        "sides": SIDES,
        "values": values,
        "statuses": formats.STATUS_LABELS,
        "rows": [],
        "filtered": any(values.values()),
        "notice": NOTICES.get(request.query_params.get("avis", "")),
        "first_page": not page_token,
    }
    try:
        found = await clients.invoices.list_invoices(list_request, me)
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.UNAUTHENTICATED:
            return to_login()
        return _render_refusal(request, "factures.html", err, context)
    other = "recipient_structure_id" if side == "issued" else "supplier_structure_id"
    names = await _names(clients, me, {getattr(i, other) for i in found.invoices})
    context["rows"] = [
        {
            "id": invoice.id,
            "number": invoice.number,
            "issue_date": invoice.issue_date,
            "counterparty": names.get(getattr(invoice, other), ""),
            "gross_total": invoice.totals.gross_total,
            "currency": invoice.currency,
            "status": _status_name(invoice.status),
        }
        for invoice in found.invoices
    ]
    query = {"side": side, **{k: v for k, v in values.items() if v}}
    context["first_url"] = "/factures?" + urlencode(query)
    if found.next_page_token:
        context["next_url"] = "/factures?" + urlencode(
            {**query, "page_token": found.next_page_token}
        )
    return render(request, "factures.html", context)


# One invoice


async def _detail_context(clients: ServiceClients, caller: Caller, invoice_id: str) -> dict:
    invoice, history = await asyncio.gather(
        clients.invoices.get_invoice(invoice_id, caller),
        clients.invoices.get_invoice_history(invoice_id, caller),
    )
    names = await _names(
        clients, caller, {invoice.supplier_structure_id, invoice.recipient_structure_id}
    )
    actions = list(invoice.allowed_actions)
    return {
        "invoice": invoice,
        "status": _status_name(invoice.status),
        "supplier_name": names.get(invoice.supplier_structure_id, ""),
        "recipient_name": names.get(invoice.recipient_structure_id, ""),
        "history": [
            {
                "status": _status_name(entry.status),
                "at": formats.moment(entry, "at"),
                "comment": entry.comment,
            }
            for entry in history
        ],
        "documents": [
            {
                "filename": d.filename,
                "size": d.size,
                "kind": "Pièce jointe" if d.role == "ATTACHMENT" else "Facture",
                "url": f"/factures/{invoice.id}/document"
                if d.role != "ATTACHMENT"
                else f"/factures/{invoice.id}/pieces-jointes/{quote(d.id, safe='')}",
            }
            for d in invoice.documents
        ],
        "actions": actions,
        "targets": {
            target: formats.status(target)
            for target in (a.removeprefix("MARK_") for a in actions if a.startswith("MARK_"))
        },
        "reason_statuses": formats.REASON_REQUIRED_STATUSES,
        "framework": formats.FRAMEWORK_LABELS.get(FRAMEWORK.to_rest(invoice.framework) or "", ""),
        "type_label": formats.TYPE_LABELS.get(INVOICE_TYPE.to_rest(invoice.type) or "", ""),
        "units": formats.UNIT_LABELS,
        "acknowledged_at": formats.moment(invoice, "rejection_acknowledged_at"),
        "submission_key": secrets.token_urlsafe(24),
    }


@router.get("/factures/{invoice_id}", response_model=None)
async def invoice_detail(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = _known(invoice_id)
    if known is None:
        return _not_found(request)
    try:
        context = await _detail_context(clients, me, known)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    context["notice"] = NOTICES.get(request.query_params.get("avis", ""))
    return render(request, "facture.html", context)


async def _action(
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
    known = _known(invoice_id)
    if known is None:
        return _not_found(request)
    form = await request.form()
    if not session.csrf_valid(request, invoice_forms.text(form, "csrf_token")):
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
        return _not_found(request)
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


def field_errors(problem: ProblemError) -> dict[str, str]:
    return {e.field: e.message for e in problem.errors}


@router.post("/factures/{invoice_id}/depot", response_model=None)
async def submit_draft(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    return await _action(
        request, clients, caller, invoice_id, "submit", clients.invoices.submit_invoice,
        notice="soumise",
    )  # fmt: skip


@router.post("/factures/{invoice_id}/suppression", response_model=None)
async def delete_draft(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    return await _action(
        request, clients, caller, invoice_id, "delete", clients.invoices.delete_invoice,
        notice="supprimee", done_url="/factures?avis=supprimee",
    )  # fmt: skip


@router.post("/factures/{invoice_id}/rejet-pris-en-compte", response_model=None)
async def acknowledge_rejection(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    return await _action(
        request, clients, caller, invoice_id, "acknowledge",
        clients.invoices.acknowledge_rejection, notice="rejet",
    )  # fmt: skip


@router.post("/factures/{invoice_id}/statut", response_model=None)
async def change_status(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    form = await request.form()
    values = {
        "status": invoice_forms.text(form, "status"),
        "reason": invoice_forms.text(form, "reason"),
    }

    async def change(known: str, me: Caller) -> None:
        target = values["status"] if values["status"] in formats.STATUS_LABELS else None
        status_request = pb.ChangeInvoiceStatusRequest(
            invoice_id=known, status=INVOICE_STATUS.to_proto(target), reason=values["reason"]
        )
        await clients.invoices.change_invoice_status(status_request, me)

    return await _action(
        request, clients, caller, invoice_id, "status", change, notice="statut", values=values
    )


@router.post("/factures/{invoice_id}/completion", response_model=None)
async def complete(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    form = await request.form()
    values = {"comment": invoice_forms.text(form, "comment")}

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

    return await _action(
        request, clients, caller, invoice_id, "complete", completion,
        notice="completee", values=values,
    )  # fmt: skip


@router.post("/factures/{invoice_id}/recyclage", response_model=None)
async def recycle(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    form = await request.form()
    values = {
        name: invoice_forms.text(form, name)
        for name in ("recipient_siret", "service_code", "engagement_number")
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

    return await _action(
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


# Documents


async def _stream(call) -> Response:
    document = await call
    return Response(
        document.content,
        media_type=document.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(document.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@router.get("/factures/{invoice_id}/document", response_model=None)
async def invoice_document(
    request: Request, invoice_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = _known(invoice_id)
    if known is None:
        return _not_found(request)
    try:
        return await _stream(clients.invoices.get_invoice_document(known, me))
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)


@router.get("/factures/{invoice_id}/pieces-jointes/{document_id}", response_model=None)
async def invoice_attachment(
    request: Request, invoice_id: str, document_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    known = _known(invoice_id)
    if known is None:
        return _not_found(request)
    try:
        return await _stream(clients.invoices.get_invoice_attachment(known, document_id, me))
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
