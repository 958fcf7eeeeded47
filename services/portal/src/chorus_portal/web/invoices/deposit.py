"""Portal pages depositing an invoice: ``/factures/nouvelle`` with three tabs, the entry form
(``Saisie``: header and line rows, saved as a draft or deposited), a structured file (UBL, CII,
Factur-X; the EN 16931 rule ids listed on a refusal) and a PDF with its header and totals.

Same RPCs as ``POST /api/v1/invoices``, ``/invoices/xml`` and ``/invoices/pdf``. Each form
carries a one-time submission key sent as the Idempotency-Key, so a form sent twice deposits
once. A refusal shows the tab again with what was typed, the service's message and each error
beside its field (line rows and VAT rows as typed, see :mod:`.forms`). This router is
included before :mod:`chorus_portal.web.invoices.detail`, whose ``/factures/{id}`` would catch
``/factures/nouvelle`` (:mod:`chorus_portal.web` assembles them).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import grpc
from chorus.invoices.v1 import invoices_service_pb2 as pb
from chorus.structures.v1 import structures_service_pb2 as structures_pb
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.problems import ProblemError, problem_from_rpc_error
from chorus_portal.web import formats, session
from chorus_portal.web.forms import text
from chorus_portal.web.invoices import forms as invoice_forms
from chorus_portal.web.invoices.display import failure_page
from chorus_portal.web.invoices.forms import with_submission_key
from chorus_portal.web.pages import render
from chorus_portal.web.refusals import csrf_refused, field_errors
from chorus_portal.web.session import signed_in, to_login

router = APIRouter(include_in_schema=False)

TABS = ("saisie", "fichier", "pdf")
UNAVAILABLE_PDF = (
    "Le dépôt de factures PDF n'est pas encore disponible sur ce portail. "
    "Saisissez la facture ou déposez-la au format Factur-X, UBL ou CII."
)


async def _issuers(clients: ServiceClients, caller: Caller) -> dict[str, str]:
    """The caller's structures in which it may issue invoices (FACTURES_EMISES, modification),
    id -> "raison sociale — SIRET"."""
    memberships = await clients.structures.list_my_memberships(caller)
    return {
        m.structure.id: f"{m.structure.raison_sociale} — {m.structure.identifier}"
        for m in memberships
        if any(
            access.space == structures_pb.SPACE_FACTURES_EMISES
            and access.mode == structures_pb.ACCESS_MODE_MODIFICATION
            for access in m.spaces
        )
    }


def _deposit_context(issuers: dict[str, str], tab: str, **extra: Any) -> dict[str, Any]:
    rows = extra.pop("line_rows", None) or [{} for _ in range(invoice_forms.LINE_ROWS)]
    vat = extra.pop("vat_rows", None) or [{} for _ in range(invoice_forms.VAT_ROWS)]
    charges = extra.pop("charge_rows", None) or [{} for _ in range(invoice_forms.CHARGE_ROWS)]
    return {
        "issuers": issuers,
        "tab": tab,
        "line_rows": rows,
        "vat_rows": vat,
        "charge_rows": charges,
        "charge_reasons": invoice_forms.CHARGE_REASONS,
        "payment_means": invoice_forms.PAYMENT_MEANS,
        "manual_rate": invoice_forms.MANUAL_RATE,
        "units": formats.UNIT_LABELS,
        "vat_rates": formats.VAT_RATES,
        "frameworks": formats.FRAMEWORK_LABELS,
        "types": formats.TYPE_LABELS,
        "today": datetime.now(formats.PARIS).date().isoformat(),
        "submission_key": secrets.token_urlsafe(24),
        **extra,
    }


async def _deposit_page(
    request: Request,
    clients: Clients,
    me: Caller,
    tab: str,
    refusal: grpc.aio.AioRpcError | ProblemError | None = None,
    **extra: Any,
) -> Response:
    """The deposit page on ``tab``, with a refusal's message and field errors when given
    (``errors`` already in the form's names when passed in ``extra``)."""
    try:
        issuers = await _issuers(clients, me)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    context = _deposit_context(issuers, tab, **extra)
    if refusal is None:
        return render(request, "nouvelle_facture.html", context)
    problem = refusal if isinstance(refusal, ProblemError) else problem_from_rpc_error(refusal)
    if problem.status == 401:
        return to_login()
    context.setdefault("error", problem.detail)
    context.setdefault("errors", field_errors(problem))
    context["code"] = problem.code
    # Rule findings of a structured file name XPaths, not form fields: listed on their own.
    context["findings"] = [(e.field, e.message) for e in problem.errors if e.field != "file"]
    return render(request, "nouvelle_facture.html", context, problem.status)


@router.get("/factures/nouvelle", response_model=None)
async def deposit_form(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    tab = request.query_params.get("onglet", "saisie")
    return await _deposit_page(request, clients, me, tab if tab in TABS else "saisie")


@router.post("/factures/nouvelle", response_model=None)
async def deposit_entry(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    form = await request.form()
    rows = invoice_forms.LineRows.read(form)
    charges = invoice_forms.ChargeRows.read(form)
    draft = text(form, "action") == "brouillon"
    kept = {
        "values": invoice_forms.header_values(form),
        "line_rows": rows.rows,
        "charge_rows": charges.rows,
    }
    if not session.csrf_valid(request, text(form, "csrf_token")):
        return await _deposit_page(
            request,
            clients,
            me,
            "saisie",
            csrf_refused(),
            **kept,
        )
    create = invoice_forms.header_request(form)
    create.lines.extend(rows.lines())
    create.allowances_charges.extend(charges.allowances_charges())
    create.draft = draft
    try:
        invoice = await clients.invoices.create_invoice(create, with_submission_key(me, form))
    except grpc.aio.AioRpcError as err:
        errors = invoice_forms.form_errors(
            {e.field: e.message for e in problem_from_rpc_error(err).errors},
            lines=rows.sent,
            charges=charges.sent,
        )
        return await _deposit_page(request, clients, me, "saisie", err, errors=errors, **kept)
    notice = "brouillon" if draft else "deposee"
    return RedirectResponse(f"/factures/{invoice.id}?avis={notice}", status_code=303)


@router.post("/factures/nouvelle/fichier", response_model=None)
async def deposit_file(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    form = await request.form()
    kept = {"values": invoice_forms.header_values(form)}
    if not session.csrf_valid(request, text(form, "csrf_token")):
        return await _deposit_page(
            request,
            clients,
            me,
            "fichier",
            csrf_refused(),
            **kept,
        )
    try:
        filename, content = await invoice_forms.one_upload(form, "file")
        deposit = pb.DepositStructuredInvoiceRequest(
            supplier_structure_id=text(form, "supplier_structure_id"),
            filename=filename,
            content=content,
        )
        invoice = await clients.invoices.deposit_structured_invoice(
            deposit, with_submission_key(me, form)
        )
    except (grpc.aio.AioRpcError, ProblemError) as err:
        return await _deposit_page(request, clients, me, "fichier", err, **kept)
    return RedirectResponse(f"/factures/{invoice.id}?avis=deposee", status_code=303)


@router.post("/factures/nouvelle/pdf", response_model=None)
async def deposit_pdf(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    form = await request.form()
    vat = invoice_forms.vat_rows(form)
    values = {
        **invoice_forms.header_values(form),
        **{name: text(form, name) for name in invoice_forms.TOTAL_FIELDS},
    }
    kept = {"values": values, "vat_rows": vat}
    if not session.csrf_valid(request, text(form, "csrf_token")):
        return await _deposit_page(
            request,
            clients,
            me,
            "pdf",
            csrf_refused(),
            **kept,
        )
    totals, sent = invoice_forms.stated_totals(form, vat)
    try:
        submitter = with_submission_key(me, form)
        filename, content = await invoice_forms.one_upload(form, "file")
        staged = await invoice_forms.staged_uploads(
            request,
            clients,
            submitter,
            form,
            "attachments",
            supplier_structure_id=text(form, "supplier_structure_id"),
        )
        deposit = pb.DepositPdfInvoiceRequest(
            header=invoice_forms.header_request(form, with_recipient=False),
            totals=totals,
            filename=filename,
            content=content,
            staged_attachment_ids=staged,
        )
        invoice = await clients.invoices.deposit_pdf_invoice(deposit, submitter)
    except ProblemError as err:
        return await _deposit_page(request, clients, me, "pdf", err, **kept)
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.UNIMPLEMENTED:
            unavailable = ProblemError(501, "PDF_DEPOSIT_UNAVAILABLE", UNAVAILABLE_PDF)
            return await _deposit_page(request, clients, me, "pdf", unavailable, **kept)
        errors = invoice_forms.form_errors(
            {e.field: e.message for e in problem_from_rpc_error(err).errors}, vat=sent
        )
        return await _deposit_page(request, clients, me, "pdf", err, errors=errors, **kept)
    return RedirectResponse(f"/factures/{invoice.id}?avis=deposee", status_code=303)
