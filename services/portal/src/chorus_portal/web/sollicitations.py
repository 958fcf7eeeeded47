"""Portal: Sollicitations — the sent and received lists, writing one (to a structure's
managers or to the support, about an invoice or a structure, with files), the thread with
its answers, closing, downloading an attachment. Same RPCs and edge checks as
``/api/v1/sollicitations``.

Pages: ``/sollicitations`` (``?boite=emises|recues``), ``/sollicitations/nouvelle``
(``?facture=<id>`` or ``?structure=<id>``, ``&support=1`` to write to the support),
``/sollicitations/<id>`` and its forms ``/reponse`` and ``/cloture``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import grpc
from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from chorus_edge.callers import AnonymousCaller, Clients
from chorus_edge.clients import ServiceClients
from chorus_edge.clients.caller import Caller
from chorus_edge.problems import TITLES, ProblemError, problem_from_rpc_error
from chorus_edge.sollicitations import (
    SOLLICITATION_BOX,
    SOLLICITATION_STATUS,
    NewSollicitation,
    attachment_response,
    create_sollicitation,
    read_attachments,
)
from chorus_portal.web import formats, session
from chorus_portal.web.forms import text
from chorus_portal.web.pages import not_found, render
from chorus_portal.web.paths import known_id
from chorus_portal.web.refusals import csrf_refused, field_errors

router = APIRouter(include_in_schema=False)

BOXES = {"emises": "Émises", "recues": "Reçues"}
STATUS_LABELS = {"OUVERTE": "Ouverte", "REPONDUE": "Répondue", "CLOTUREE": "Clôturée"}
NOTICES = {
    "envoyee": "Votre sollicitation a été envoyée : ses destinataires sont prévenus par e-mail.",
    "repondue": "Votre message a été envoyé : l'autre partie est prévenue par e-mail.",
    "cloturee": "La sollicitation est clôturée.",
}


def _gone(request: Request, title: str = "Sollicitation introuvable") -> Response:
    message = (
        "Elle n'existe pas, ou vous n'en êtes ni l'expéditeur ni un des destinataires."
        if title.startswith("Sollicitation")
        else "Elle n'existe pas, ou vous n'y avez pas accès."
    )
    return render(request, "erreur.html", {"title": title, "message": message}, 404)


def failure_page(
    request: Request, err: grpc.aio.AioRpcError, title: str = "Sollicitation introuvable"
) -> Response:
    """The page answering a failed read: login when the session expired, the French 404
    (``title``), or the service's message."""
    problem = problem_from_rpc_error(err)
    if problem.status == 401:
        return session.to_login()
    if problem.status == 404:
        return _gone(request, title)
    context = {"title": TITLES.get(problem.status, "Erreur"), "message": problem.detail}
    return render(request, "erreur.html", context, problem.status)


def _status(message: pb.Sollicitation) -> str:
    return SOLLICITATION_STATUS.to_rest(message.status) or ""


def _about(message: pb.Sollicitation) -> str:
    if message.invoice_number:
        return f"Facture n° {message.invoice_number}"
    return f"Structure « {message.structure_name} »" if message.structure_name else "—"


def _person(person: pb.Person) -> str:
    return " ".join(p for p in (person.first_name, person.last_name) if p) or "Un utilisateur"


def _addressee(message: pb.Sollicitation) -> str:
    if message.to_support:
        return "Support de la plateforme"
    return f"Gestionnaires de « {message.addressee_structure_name} »"


def _sender(message: pb.Sollicitation) -> str:
    name = _person(message.sender)
    return f"{name} ({message.sender_structure_name})" if message.sender_structure_name else name


def _row(message: pb.Sollicitation) -> dict[str, Any]:
    return {
        "id": message.id,
        "subject": message.subject,
        "about": _about(message),
        "counterpart": _addressee(message) if message.caller_is_sender else _sender(message),
        "status": _status(message),
        "updated": formats.moment(message, "updated_at"),
    }


@router.get("/sollicitations", response_model=None)
async def sollicitation_list(
    request: Request, clients: Clients, caller: AnonymousCaller, boite: str = "emises"
) -> Response:
    me = session.signed_in(request, caller)
    if me is None:
        return session.to_login()
    box = boite if boite in BOXES else "emises"
    page_token = request.query_params.get("page_token", "")
    list_request = pb.ListSollicitationsRequest(
        box=SOLLICITATION_BOX.to_proto(box.upper()), page_token=page_token
    )
    try:
        found = await clients.structures.list_sollicitations(list_request, me)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    context = {
        "box": box,
        "boxes": BOXES,
        "rows": [_row(s) for s in found.sollicitations],
        "statuses": STATUS_LABELS,
        "first_page": not page_token,
        "first_url": "/sollicitations?" + urlencode({"boite": box}),
        "next_url": "/sollicitations?"
        + urlencode({"boite": box, "page_token": found.next_page_token})
        if found.next_page_token
        else "",
        "notice": NOTICES.get(request.query_params.get("avis", "")),
    }
    return render(request, "sollicitations.html", context)


async def _target(
    clients: ServiceClients, me: Caller, params: dict[str, str]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """What the new sollicitation is about and to whom (from the link followed), and the
    caller's structures to write for. A structure or invoice the caller cannot read answers
    as the services do (404)."""
    memberships = await clients.structures.list_my_memberships(me)
    mine = {m.structure.id: m.structure.raison_sociale for m in memberships}
    target: dict[str, Any] = {
        "to_support": params.get("support") == "1",
        "invoice_id": "",
        "invoice_number": "",
        "addressee_id": "",
        "addressee_name": "",
        "structure_id": "",
        "structure_name": "",
        "sender_structure_id": "",
    }
    invoice_id = known_id(params.get("facture", "")) if params.get("facture") else None
    structure_id = known_id(params.get("structure", "")) if params.get("structure") else None
    if invoice_id:
        invoice = await clients.invoices.get_invoice(invoice_id, me)
        target.update(invoice_id=invoice.id, invoice_number=invoice.number)
        # The other party: the recipient for the supplier's members, else the supplier.
        ours_supplier = invoice.supplier_structure_id in mine
        other = invoice.recipient_structure_id if ours_supplier else invoice.supplier_structure_id
        own = invoice.supplier_structure_id if ours_supplier else invoice.recipient_structure_id
        target["sender_structure_id"] = own if own in mine else ""
        if not target["to_support"]:
            structure = await clients.structures.get_structure(other, me)
            target.update(addressee_id=structure.id, addressee_name=structure.raison_sociale)
    elif structure_id:
        structure = await clients.structures.get_structure(structure_id, me)
        target.update(structure_id=structure.id, structure_name=structure.raison_sociale)
        if not target["to_support"]:
            target.update(addressee_id=structure.id, addressee_name=structure.raison_sociale)
    else:
        raise ProblemError(404, "NOT_FOUND", "Choisissez d'abord une facture ou une structure.")
    return target, sorted(mine.items(), key=lambda item: item[1].casefold())


def _target_params(form_or_query) -> dict[str, str]:
    return {
        name: (form_or_query.get(name) or "").strip()
        for name in ("facture", "structure", "support")
        if isinstance(form_or_query.get(name) or "", str)
    }


@router.get("/sollicitations/nouvelle", response_model=None)
async def new_sollicitation(
    request: Request, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = session.signed_in(request, caller)
    if me is None:
        return session.to_login()
    try:
        target, structures = await _target(clients, me, _target_params(request.query_params))
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err, "Facture ou structure introuvable")
    except ProblemError:
        return _gone(request, "Facture ou structure introuvable")
    context = {
        "target": target,
        "structures": structures,
        "values": {"sender_structure_id": target["sender_structure_id"]},
        "query": _target_params(request.query_params),
    }
    return render(request, "sollicitation_nouvelle.html", context)


def _files(form: FormData) -> list[UploadFile]:
    return [f for f in form.getlist("attachments") if isinstance(f, UploadFile)]


@router.post("/sollicitations/nouvelle", response_model=None)
async def send_sollicitation(
    request: Request, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = session.signed_in(request, caller)
    if me is None:
        return session.to_login()
    form = await request.form()
    params = _target_params(form)
    values = {name: text(form, name) for name in ("subject", "body", "sender_structure_id")}
    try:
        target, structures = await _target(clients, me, params)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err, "Facture ou structure introuvable")
    except ProblemError:
        return _gone(request, "Facture ou structure introuvable")
    if not session.csrf_valid(request, text(form, "csrf_token")):
        problem = csrf_refused()
    else:
        sender = values["sender_structure_id"]
        new = NewSollicitation(
            subject=values["subject"],
            body=values["body"],
            addressee_structure_id=target["addressee_id"],
            to_support=target["to_support"],
            sender_structure_id=sender if sender in dict(structures) else "",
            invoice_id=target["invoice_id"],
            structure_id=target["structure_id"] if target["to_support"] else "",
        )
        try:
            created = await create_sollicitation(
                clients, me, new, await read_attachments(_files(form))
            )
        except ProblemError as err:
            problem = err
        except grpc.aio.AioRpcError as err:
            problem = problem_from_rpc_error(err)
        else:
            return RedirectResponse(f"/sollicitations/{created.id}?avis=envoyee", status_code=303)
    if problem.status == 401:
        return session.to_login()
    errors = _form_errors(problem)
    context = {
        "target": target,
        "structures": structures,
        "values": values,
        "query": params,
        "error": problem.detail,
        "errors": errors,
    }
    return render(request, "sollicitation_nouvelle.html", context, problem.status)


def _form_errors(problem: ProblemError) -> dict[str, str]:
    """Errors by form field; each file's (``attachments[i]``) shown under the file input."""
    errors = field_errors(problem)
    files = [message for field, message in errors.items() if field.startswith("attachments")]
    if files:
        errors["attachments"] = " ".join(files)
    return errors


async def _thread_context(
    clients: ServiceClients, me: Caller, sollicitation_id: str
) -> dict[str, Any]:
    found = await clients.structures.get_sollicitation(sollicitation_id, me)
    return {
        "s": found,
        "status": _status(found),
        "statuses": STATUS_LABELS,
        "about": _about(found),
        "sender": _sender(found),
        "addressee": _addressee(found),
        "created": formats.moment(found, "created_at"),
        "messages": [
            {
                "author": _person(m.author),
                "side": "Expéditeur" if m.from_sender else "Réponse",
                "from_sender": m.from_sender,
                "at": formats.moment(m, "created_at"),
                "body": m.body,
                "attachments": list(m.attachments),
            }
            for m in found.messages
        ],
    }


@router.get("/sollicitations/{sollicitation_id}", response_model=None)
async def sollicitation_page(
    request: Request, sollicitation_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    me = session.signed_in(request, caller)
    if me is None:
        return session.to_login()
    known = known_id(sollicitation_id)
    if known is None:
        return not_found(request)
    try:
        context = await _thread_context(clients, me, known)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    context["notice"] = NOTICES.get(request.query_params.get("avis", ""))
    return render(request, "sollicitation.html", context)


async def _thread_action(
    request: Request, clients: ServiceClients, caller: Caller, sollicitation_id: str, action
) -> Response:
    me = session.signed_in(request, caller)
    if me is None:
        return session.to_login()
    known = known_id(sollicitation_id)
    if known is None:
        return not_found(request)
    form = await request.form()
    values = {"body": text(form, "body")}
    if not session.csrf_valid(request, text(form, "csrf_token")):
        problem = csrf_refused()
    else:
        try:
            notice = await action(known, me, form)
        except ProblemError as err:
            problem = err
        except grpc.aio.AioRpcError as err:
            problem = problem_from_rpc_error(err)
        else:
            return RedirectResponse(f"/sollicitations/{known}?avis={notice}", status_code=303)
    if problem.status == 401:
        return session.to_login()
    if problem.status == 404:
        return _gone(request)
    try:
        context = await _thread_context(clients, me, known)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    context.update(values=values, error=problem.detail, errors=_form_errors(problem))
    return render(request, "sollicitation.html", context, problem.status)


@router.post("/sollicitations/{sollicitation_id}/reponse", response_model=None)
async def reply(
    request: Request, sollicitation_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def answer(known: str, me: Caller, form: FormData) -> str:
        reply_request = pb.ReplySollicitationRequest(
            sollicitation_id=known,
            body=text(form, "body"),
            attachments=await read_attachments(_files(form)),
        )
        await clients.structures.reply_sollicitation(reply_request, me)
        return "repondue"

    return await _thread_action(request, clients, caller, sollicitation_id, answer)


@router.post("/sollicitations/{sollicitation_id}/cloture", response_model=None)
async def close(
    request: Request, sollicitation_id: str, clients: Clients, caller: AnonymousCaller
) -> Response:
    async def closing(known: str, me: Caller, form: FormData) -> str:
        await clients.structures.close_sollicitation(known, me)
        return "cloturee"

    return await _thread_action(request, clients, caller, sollicitation_id, closing)


@router.get(
    "/sollicitations/{sollicitation_id}/pieces-jointes/{attachment_id}", response_model=None
)
async def download(
    request: Request,
    sollicitation_id: str,
    attachment_id: str,
    clients: Clients,
    caller: AnonymousCaller,
) -> Response:
    me = session.signed_in(request, caller)
    if me is None:
        return session.to_login()
    known, file_id = known_id(sollicitation_id), known_id(attachment_id)
    if known is None or file_id is None:
        return not_found(request)
    try:
        file = await clients.structures.get_sollicitation_attachment(known, file_id, me)
    except grpc.aio.AioRpcError as err:
        return failure_page(request, err)
    return attachment_response(file)
