"""``/cpro/factures/v1``: acting on an invoice, both sides.

| operation | invoices RPC |
|---|---|
| ``traiter/recue`` (recipient) | ``ChangeInvoiceStatus`` (``motif`` → the history's comment) |
| ``completer`` (supplier, ``SUSPENDUE``) | ``CompleteInvoice`` |
| ``recycler`` (supplier, ``A_RECYCLER``) | ``RecycleInvoice`` |
| ``traiterRejet`` (supplier, ``REJETEE``) | ``AcknowledgeRejection``, each invoice |
| ``telecharger/groupe`` | ``GetInvoiceDocument`` per invoice, zipped when several |

Whether the move is allowed (status, side, motif required) is the invoices service's
decision: its refusal comes back as 400 ``codeRetour`` 20007 (wrong state) or 20008 (a value
refused, e.g. ``REASON_REQUIRED`` naming ``motif``), an invoice the account may not see as 404.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
import zipfile
from typing import Any

from chorus.invoices.v1 import invoices_service_pb2 as ipb
from chorus.structures.v1 import structures_service_pb2 as spb
from fastapi import APIRouter, Request

from chorus_cpro_api.edge.attachments import add_staged
from chorus_cpro_api.edge.bodies import as_list, as_object, read_body, required
from chorus_cpro_api.edge.credentials import Technical
from chorus_cpro_api.edge.envelope import NOT_FOUND, CproError, fields_named, invalid_field, ok
from chorus_cpro_api.edge.formats import PARIS, date_of
from chorus_cpro_api.edge.invoices import status_name, status_value

router = APIRouter(prefix="/cpro/factures/v1")

MAX_GROUP = 50
"""Invoices one ``telecharger/groupe`` downloads at most (as ``/api/v1/invoices/archive``)."""


def _today() -> str:
    return dt.datetime.now(PARIS).date().isoformat()


@router.post("/traiter/recue")
async def process_received(request: Request, caller: Technical) -> dict:
    """``traiterFactureRecue``: the recipient gives a received invoice its next status
    (``nouveauStatut``); ``SUSPENDUE``, ``A_RECYCLER`` and ``REJETEE`` need a ``motif``.
    ``numeroDPMandat`` (the mandate of a ``MANDATEE``) is kept in the history's comment."""
    body = await read_body(request, "traiterUneFactureRecue")
    cpp_id = required(body, "idFacture")
    target = status_value(required(body, "nouveauStatut"), "nouveauStatut")
    reason = (body.get("motif") or "").strip()
    if mandate := (body.get("numeroDPMandat") or "").strip():
        reason = f"{reason} (mandat n° {mandate})" if reason else f"Mandat n° {mandate}"
    with fields_named({"cpp_id": "idFacture", "reason": "motif", "status": "nouveauStatut"}):
        invoice = await request.app.state.clients.invoices.change_invoice_status(
            ipb.ChangeInvoiceStatusRequest(cpp_id=cpp_id, status=target, reason=reason),
            caller.caller,
        )
    return ok(
        idFacture=invoice.cpp_id,
        numeroFacture=invoice.number,
        dateTraitement=_today(),
        nouveauStatut=status_name(invoice.status),
    )


@router.post("/completer")
async def complete(request: Request, caller: Technical) -> dict:
    """``completerFacture``: the supplier completes a suspended invoice with a comment and
    attachments added beforehand with ``transverses/v1/ajouter/fichier``
    (``pieceJointeComplementaire[].pieceJointeComplementaireId``)."""
    body = await read_body(request, "completerFacture")
    cpp_id = required(body, "identifiantFactureCPP")
    completion = ipb.CompleteInvoiceRequest(
        cpp_id=cpp_id, comment=(body.get("commentaire") or "").strip()
    )
    for index, piece in enumerate(as_list(body.get("pieceJointeComplementaire"))):
        if piece.get("pieceJointeComplementaireId") is None:
            continue
        add_staged(
            completion,
            piece["pieceJointeComplementaireId"],
            f"pieceJointeComplementaire[{index}].pieceJointeComplementaireId",
        )
    with fields_named({"cpp_id": "identifiantFactureCPP", "comment": "commentaire"}):
        invoice = await request.app.state.clients.invoices.complete_invoice(
            completion, caller.caller
        )
    return ok(
        identifiantFactureCPP=invoice.cpp_id,
        numeroFacture=invoice.number,
        dateTraitement=_today(),
    )


@router.post("/recycler")
async def recycle(request: Request, caller: Technical) -> dict:
    """``recyclerFacture``: the supplier re-addresses an ``A_RECYCLER`` invoice (same number)
    to ``destinataire.codeDestinataire`` (an identifier, e.g. a SIRET) and
    ``destinataire.codeServiceExecutant``, with ``reference.numeroBonCommande``; what is not
    given is kept."""
    body = await read_body(request, "recyclerFacture")
    cpp_id = required(body, "identifiantFactureCPP")
    recipient = as_object(body.get("destinataire"))
    references = as_object(body.get("reference"))
    recycling = ipb.RecycleInvoiceRequest(
        cpp_id=cpp_id,
        service_code=(recipient.get("codeServiceExecutant") or "").strip(),
        engagement_number=(references.get("numeroBonCommande") or "").strip(),
    )
    if code := (recipient.get("codeDestinataire") or "").strip():
        recycling.recipient_structure_id = await _structure_by_identifier(
            request, caller, code, "destinataire.codeDestinataire"
        )
    with fields_named(
        {
            "cpp_id": "identifiantFactureCPP",
            "recipient_structure_id": "destinataire.codeDestinataire",
            "service_code": "destinataire.codeServiceExecutant",
            "engagement_number": "reference.numeroBonCommande",
        }
    ):
        invoice = await request.app.state.clients.invoices.recycle_invoice(recycling, caller.caller)
    return ok(
        identifiantFactureCPP=invoice.cpp_id,
        numeroFacture=invoice.number,
        statutFacture=status_name(invoice.status),
        dateDepot=date_of(invoice.updated_at) or _today(),
    )


async def _structure_by_identifier(request: Request, caller, identifier: str, field: str) -> str:
    search = spb.SearchStructuresRequest(page_number=1, page_size=2, identifier=identifier)
    with fields_named({"identifier": field}):
        found = await request.app.state.clients.structures.search_structures(search, caller.caller)
    if len(found.structures) != 1:
        raise CproError(
            NOT_FOUND,
            f"Aucune structure unique d'identifiant {identifier!r} visible avec ce compte "
            "technique.",
            "STRUCTURE_NOT_FOUND",
        )
    return found.structures[0].id


@router.post("/traiterRejet")
async def acknowledge_rejections(request: Request, caller: Technical) -> dict:
    """``traiterFacturesRejetees``: the supplier acknowledges the rejection of each invoice of
    ``listeDemandePaiement`` (in order; the first refusal stops and says which; those before it
    stay acknowledged, and acknowledging again is refused as already done)."""
    body = await read_body(request, "traiterFacturesRejetees")
    items = as_list(required(body, "listeDemandePaiement"))
    if len(items) > MAX_GROUP:
        raise invalid_field("listeDemandePaiement", f"{MAX_GROUP} factures au plus par appel.")
    invoices = request.app.state.clients.invoices
    for index, item in enumerate(items):
        field = f"listeDemandePaiement[{index}].idDemandePaiement"
        if item.get("idDemandePaiement") is None:
            raise invalid_field(field, "champ obligatoire.", "CHAMP_OBLIGATOIRE")
        with fields_named({"cpp_id": field, "invoice_id": field}):
            await invoices.acknowledge_rejection(item["idDemandePaiement"], caller.caller)
    return ok()


@router.post("/telecharger/groupe")
async def download(request: Request, caller: Technical) -> dict:
    """``telechargerGroupeFacture``: ``fichierResultat`` (base64) is the invoice's document
    (its Factur-X PDF, or the file deposited) for one invoice, a ZIP of them for several
    (50 at most). An invoice the account may not see refuses the whole request (404)."""
    body = await read_body(request, "telechargerGroupeFacture")
    items = as_list(required(body, "listeFacture"))
    if len(items) > MAX_GROUP:
        raise invalid_field("listeFacture", f"{MAX_GROUP} factures au plus par téléchargement.")
    documents: list[Any] = []
    for index, item in enumerate(items):
        field = f"listeFacture[{index}].idFacture"
        if item.get("idFacture") is None:
            raise invalid_field(field, "champ obligatoire.", "CHAMP_OBLIGATOIRE")
        with fields_named({"cpp_id": field, "invoice_id": field}):
            documents.append(
                await request.app.state.clients.invoices.get_invoice_document(
                    item["idFacture"], caller.caller
                )
            )
    if len(documents) == 1:
        content = documents[0].content
    else:
        # Compressing up to 50 documents takes a while: off the event loop.
        content = await asyncio.to_thread(_zip_of, items, documents)
    return ok(fichierResultat=base64.b64encode(content).decode("ascii"))


def _zip_of(items: list[dict[str, Any]], documents: list[Any]) -> bytes:
    """The documents in one ZIP, each under its file name (made unique by the invoice id)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        names: set[str] = set()
        for item, document in zip(items, documents, strict=True):
            name = document.filename or f"facture-{item['idFacture']}"
            if name in names:
                name = f"{item['idFacture']}-{name}"
            names.add(name)
            archive.writestr(name, document.content)
    return buffer.getvalue()
