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
from dataclasses import replace
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
from chorus_portal.web.invoices import entry, kept_files
from chorus_portal.web.invoices import forms as invoice_forms
from chorus_portal.web.invoices.display import failure_page
from chorus_portal.web.invoices.forms import with_submission_key
from chorus_portal.web.pages import render
from chorus_portal.web.paths import known_id
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


async def _entry_context(
    clients: ServiceClients, me: Caller, values: dict[str, str]
) -> dict[str, Any]:
    """The chosen or typed recipient as the directory describes it (requirements, services)."""
    siret = "".join(values.get("recipient_siret", "").split())
    found = await entry.recipient(clients, me, values.get("recipient_structure_id", ""), siret)
    if found is not None and found.identifier != siret:
        found = await entry.recipient(clients, me, siret=siret)
    return {"recipient": found}


@router.get("/factures/nouvelle", response_model=None)
async def deposit_form(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    tab = request.query_params.get("onglet", "saisie")
    draft_id = known_id(request.query_params.get("brouillon", ""))
    if draft_id is not None:
        return await _draft_form(request, clients, me, draft_id)
    return await _deposit_page(request, clients, me, tab if tab in TABS else "saisie")


async def _draft_form(request: Request, clients: Clients, me: Caller, draft_id: str) -> Response:
    """A draft opened in the entry form, to edit it and save it again or deposit it."""
    try:
        invoice = await clients.invoices.get_invoice(draft_id, me)
        siret = ""
        if invoice.recipient_structure_id:
            structure = await clients.structures.get_structure(invoice.recipient_structure_id, me)
            siret = structure.identifier
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    if invoice.status != pb.INVOICE_STATUS_BROUILLON or "SUBMIT" not in invoice.allowed_actions:
        # no longer a draft, or the caller may only read it: its page says what they may do
        return RedirectResponse(f"/factures/{invoice.id}", status_code=303)
    values, rows, charges = entry.draft_values(invoice, siret)
    return await _deposit_page(
        request,
        clients,
        me,
        "saisie",
        values=values,
        line_rows=rows,
        charge_rows=charges,
        draft_id=invoice.id,
        draft_number=invoice.number,
        **await _entry_context(clients, me, values),
    )


@router.post("/factures/nouvelle", response_model=None)
async def deposit_entry(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    """The entry form posted: "Rechercher" / "Choisir" in the directory, "Vérifier" (the
    service's dry run, shown with the form carried in hidden inputs), "Modifier" (back to the
    form), "Déposer" or "Enregistrer le brouillon" (a new invoice, or the draft edited)."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    form = await request.form()
    rows = invoice_forms.LineRows.read(form)
    charges = invoice_forms.ChargeRows.read(form)
    action = text(form, "action")
    draft = action == "brouillon"
    draft_id = known_id(text(form, "draft_id")) or ""
    values = invoice_forms.header_values(form)
    kept: dict[str, Any] = {
        "values": values,
        "line_rows": rows.rows,
        "charge_rows": charges.rows,
        "draft_id": draft_id,
        "draft_number": text(form, "draft_number"),
        "recipient_query": text(form, "recipient_query"),
        "kept_attachments": kept_files.kept(form, "attachments"),
    }
    if not session.csrf_valid(request, text(form, "csrf_token")):
        return await _deposit_page(request, clients, me, "saisie", csrf_refused(), **kept)
    supplier = text(form, "supplier_structure_id")
    try:
        if supplier:
            kept["kept_attachments"] = kept["kept_attachments"] + await kept_files.stage_chosen(
                request, clients, me, form, "attachments", supplier
            )
    except ProblemError as err:
        kept.update(await _entry_context(clients, me, values))
        return await _deposit_page(request, clients, me, "saisie", err, **kept)
    choice = known_id(text(form, "recipient_choice"))
    if choice is not None:
        chosen = await entry.recipient(clients, me, choice)
        if chosen is not None:
            values["recipient_siret"] = chosen.identifier
            values["recipient_structure_id"] = chosen.id
        return await _deposit_page(request, clients, me, "saisie", recipient=chosen, **kept)
    if action == "chercher" and not kept["recipient_query"].strip():
        # Enter pressed in another field ("Rechercher" is the form's first button): shown again
        kept.update(await _entry_context(clients, me, values))
        return await _deposit_page(request, clients, me, "saisie", **kept)
    if action == "chercher":
        found = await entry.search(clients, me, kept["recipient_query"])
        return await _deposit_page(
            request,
            clients,
            me,
            "saisie",
            results=found if isinstance(found, list) else [],
            search_error=found if isinstance(found, str) else "",
            **kept,
            **await _entry_context(clients, me, values),
        )
    if action == "modifier":
        kept.update(await _entry_context(clients, me, values))
        return await _deposit_page(request, clients, me, "saisie", **kept)
    create = invoice_forms.header_request(form)
    create.lines.extend(rows.lines())
    create.allowances_charges.extend(charges.allowances_charges())
    create.draft = draft
    try:
        if action == "verifier":
            create.dry_run = True  # without the submission key: nothing to replay
            computed = await clients.invoices.create_invoice(create, me)
            return await _summary_page(request, clients, me, form, computed, kept)
        create.staged_attachment_ids.extend(f.id for f in kept["kept_attachments"])
        submitter = with_submission_key(me, form)
        if draft_id:
            invoice = await clients.invoices.update_draft_invoice(draft_id, create, submitter)
        else:
            invoice = await clients.invoices.create_invoice(create, submitter)
    except grpc.aio.AioRpcError as err:
        errors = invoice_forms.form_errors(
            {e.field: e.message for e in problem_from_rpc_error(err).errors},
            lines=rows.sent,
            charges=charges.sent,
        )
        kept.update(await _entry_context(clients, me, values))
        return await _deposit_page(request, clients, me, "saisie", err, errors=errors, **kept)
    notice = "brouillon" if draft else "deposee"
    return RedirectResponse(f"/factures/{invoice.id}?avis={notice}", status_code=303)


async def _summary_page(
    request: Request,
    clients: Clients,
    me: Caller,
    form: Any,
    computed: pb.Invoice,
    kept: dict[str, Any],
) -> Response:
    """The "Vérifier" step: the invoice as the service will compute it, the form carried."""
    try:
        issuers = await _issuers(clients, me)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    found = await _entry_context(clients, me, kept["values"])
    context = {
        "invoice": entry.summary(computed),
        "supplier": issuers.get(computed.supplier_structure_id, ""),
        "recipient": found["recipient"],
        "recipient_siret": kept["values"].get("recipient_siret", ""),
        "carried": entry.carried(form),
        "kept_attachments": kept["kept_attachments"],
        "draft_id": kept["draft_id"],
        "submission_key": secrets.token_urlsafe(24),
    }
    return render(request, "facture_verification.html", context)


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


def _keyed(me: Caller, suffix: str) -> Caller:
    """``me`` with its submission key made unique to one use (the staging of one input):
    the service derives staged ids from it."""
    if not me.idempotency_key:
        return me
    return replace(me, idempotency_key=f"{me.idempotency_key}/{suffix}")


@router.post("/factures/nouvelle/pdf", response_model=None)
async def deposit_pdf(request: Request, clients: Clients, caller: AnonymousCaller) -> Response:
    """A PDF with its header and totals. The PDF and the attachments are staged first
    (:mod:`.kept_files`), the deposit names them: a refused deposit shows the form again
    with "Fichier conservé : …", so the user corrects the data without choosing the files
    again. Without a supplier structure nothing can be staged: the PDF is sent as is."""
    me = signed_in(request, caller)
    if me is None:
        return to_login()
    form = await request.form()
    vat = invoice_forms.vat_rows(form)
    values = {
        **invoice_forms.header_values(form),
        **{name: text(form, name) for name in invoice_forms.TOTAL_FIELDS},
    }
    files = {
        "kept_pdf": kept_files.kept(form, "file")[:1],
        "kept_attachments": kept_files.kept(form, "attachments"),
    }
    kept = {"values": values, "vat_rows": vat}
    if not session.csrf_valid(request, text(form, "csrf_token")):
        return await _deposit_page(request, clients, me, "pdf", csrf_refused(), **kept, **files)
    totals, sent = invoice_forms.stated_totals(form, vat)
    supplier = text(form, "supplier_structure_id")
    try:
        submitter = with_submission_key(me, form)
        filename, content = "", b""
        if supplier and kept_files.chosen(form, "file"):
            files["kept_pdf"] = await kept_files.stage_chosen(
                request, clients, _keyed(submitter, "pdf"), form, "file", supplier
            )
        elif kept_files.chosen(form, "file") or not files["kept_pdf"]:
            filename, content = await invoice_forms.one_upload(form, "file")
        if supplier:
            files["kept_attachments"] = files["kept_attachments"] + await kept_files.stage_chosen(
                request, clients, submitter, form, "attachments", supplier
            )
        deposit = pb.DepositPdfInvoiceRequest(
            header=invoice_forms.header_request(form, with_recipient=False),
            totals=totals,
            filename=filename,
            content=content,
            staged_attachment_ids=[f.id for f in files["kept_attachments"]],
        )
        if not content and files["kept_pdf"]:
            deposit.filename = files["kept_pdf"][0].name
            deposit.staged_pdf_id = files["kept_pdf"][0].id
        invoice = await clients.invoices.deposit_pdf_invoice(deposit, submitter)
    except ProblemError as err:
        return await _deposit_page(request, clients, me, "pdf", err, **kept, **files)
    except grpc.aio.AioRpcError as err:
        if err.code() == grpc.StatusCode.UNIMPLEMENTED:
            unavailable = ProblemError(501, "PDF_DEPOSIT_UNAVAILABLE", UNAVAILABLE_PDF)
            return await _deposit_page(request, clients, me, "pdf", unavailable, **kept, **files)
        errors = invoice_forms.form_errors(
            {e.field: e.message for e in problem_from_rpc_error(err).errors}, vat=sent
        )
        # The service drops the staged attachments a refused PDF deposit named (not the PDF).
        files["attachments_lost"] = [f.name for f in files.pop("kept_attachments")]
        return await _deposit_page(request, clients, me, "pdf", err, errors=errors, **kept, **files)
    return RedirectResponse(f"/factures/{invoice.id}?avis=deposee", status_code=303)
