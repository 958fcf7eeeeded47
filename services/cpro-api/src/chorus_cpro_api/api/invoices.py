"""``/cpro/factures/v1``: searching and reading invoices.

| operation | invoices RPC |
|---|---|
| ``rechercher/fournisseur``, ``rechercher/atraiter/fournisseur`` | ``ListInvoices`` issued |
| ``rechercher/recipiendaire``, ``rechercher/atraiter/recipiendaire`` | ``ListInvoices`` received |
| ``consulter/fournisseur``, ``consulter/recipiendaire`` | ``GetInvoice`` by ``cpp_id`` |
| ``consulter/historique`` | ``GetInvoice`` + ``GetInvoiceHistory`` |

One id per invoice: ``identifiantFactureCPP`` = ``idFacture`` = ``Invoice.cpp_id``. Lists are
paged by number with a true total (``parametresRetour``; for ``rechercher/recipiendaire``
also at the top level, as its Swagger says), 10 per page by default, 1,000 at most. An
invoice the technical account may not see is 404 ``codeRetour`` 20006, like an unknown one.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from chorus.invoices.v1 import invoices_service_pb2 as ipb
from fastapi import APIRouter, Request
from google.protobuf.timestamp_pb2 import Timestamp

from chorus_cpro_api.edge.bodies import as_list, as_object, read_body, required
from chorus_cpro_api.edge.credentials import Technical, TechnicalCaller
from chorus_cpro_api.edge.envelope import (
    NOT_FOUND,
    CproError,
    FieldProblem,
    fields_named,
    invalid_field,
    ok,
)
from chorus_cpro_api.edge.formats import (
    amount,
    date_of,
    decimal_text,
    iso_date,
    parse_date,
    parse_moment,
    timestamp,
)
from chorus_cpro_api.edge.invoices import (
    DEPOSIT_MODES,
    FRAMEWORK_VALUES,
    FRAMEWORKS,
    MODES_SHOWN_AS,
    Parties,
    identifier_type,
    parties_of,
    recipient_line,
    service_of,
    sort_order,
    status_name,
    status_value,
    supplier_line,
    type_name,
    type_value,
)
from chorus_cpro_api.edge.paging import Page, page_request, page_result

router = APIRouter(prefix="/cpro/factures/v1")

SUPPLIER_TO_PROCESS = (ipb.INVOICE_STATUS_SUSPENDUE, ipb.INVOICE_STATUS_A_RECYCLER)
"""Issued invoices waiting for their supplier: to complete, to recycle (and, unless
``masquerRejetee``, the rejected ones whose rejection is to acknowledge)."""
RECIPIENT_TO_PROCESS = (
    ipb.INVOICE_STATUS_MISE_A_DISPOSITION,
    ipb.INVOICE_STATUS_COMPLETEE,
    ipb.INVOICE_STATUS_PRISE_EN_COMPTE_DESTINATAIRE,
    ipb.INVOICE_STATUS_SERVICE_FAIT,
    ipb.INVOICE_STATUS_MANDATEE,
    ipb.INVOICE_STATUS_MISE_A_DISPOSITION_COMPTABLE,
    ipb.INVOICE_STATUS_COMPTABILISEE,
)
"""Received invoices the recipient may still move (not yet paid, not sent back)."""

LIST_FIELDS = {
    "number": "numeroFacture",
    "flow_number": "numeroFluxDepot",
    "page_size": "nbResultatsParPage",
    "page_number": "pageResultatDemandee",
    "deposited_from": "periodeDateDepotDu",
    "deposited_to": "periodeDateDepotAu",
    "issued_from": "periodeDateFactureDu",
    "issued_to": "periodeDateFactureAu",
    "min_amount": "montantTTCMin",
    "max_amount": "montantTTCMax",
    "min_net_amount": "montantHTMin",
    "max_net_amount": "montantHTMax",
    "min_amount_due": "montantApayerMin",
    "max_amount_due": "montantApayerMax",
    "framework": "cadreFacturation",
    "rejection_acknowledged": "rejetTraite",
}


def _moment(value: dt.datetime) -> Timestamp:
    moment = Timestamp()
    moment.FromDatetime(value.astimezone(dt.UTC))
    return moment


def _day(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not value:
        return ""
    day = parse_date(value)
    if day is None:
        raise invalid_field(key, "date attendue, AAAA-MM-JJ (ou un horodatage ISO 8601).")
    return day.isoformat()


def _bound(body: dict[str, Any], key: str, *, end: bool) -> Timestamp | None:
    value = body.get(key)
    if not value:
        return None
    moment = parse_moment(value, end_of_day=end)
    if moment is None:
        raise invalid_field(key, "horodatage ISO 8601 attendu (2026-01-02T10:00:00+01:00).")
    return _moment(moment)


def _text(body: dict[str, Any], key: str) -> str:
    """A string criterion ("" when absent); 400 for another type (a key this operation's
    schema does not type, e.g. ``numeroFluxDepot`` of a recipient's search)."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid_field(key, "une chaîne de caractères est attendue.")
    return value.strip()


AMOUNT_BOUNDS = (
    ("montantTTCMin", "min_amount"),
    ("montantTTCMax", "max_amount"),
    ("montantHTMin", "min_net_amount"),
    ("montantHTMax", "max_net_amount"),
    ("montantApayerMin", "min_amount_due"),
    ("montantApayerMax", "max_amount_due"),
)
"""The Swagger's amount bounds (TTC, HT, to pay) → ListInvoices' (the service checks them)."""


def _common_criteria(body: dict[str, Any], search: ipb.ListInvoicesRequest) -> bool:
    """The criteria both searches share, set on ``search``; False when one of them matches
    nothing Chorus has (a ``cadreFacturation`` of works invoices, …)."""
    if number := _text(body, "numeroFacture"):
        search.number = number
    if flow := _text(body, "numeroFluxDepot"):
        search.flow_number = flow
    search.deposited_from = _day(body, "periodeDateDepotDu")
    search.deposited_to = _day(body, "periodeDateDepotAu")
    search.issued_from = _day(body, "periodeDateFactureDu")
    search.issued_to = _day(body, "periodeDateFactureAu")
    for key, attribute in AMOUNT_BOUNDS:
        if (bound := body.get(key)) is not None:
            setattr(search, attribute, decimal_text(bound))
    for index, name in enumerate(as_list(body.get("statutCourant"))):
        search.statuses.append(status_value(name, f"statutCourant[{index}]"))
    if (since := _bound(body, "periodeDateHeureEtatCourantDu", end=False)) is not None:
        search.status_changed_from.CopyFrom(since)
    if (until := _bound(body, "periodeDateHeureEtatCourantAu", end=True)) is not None:
        search.status_changed_to.CopyFrom(until)
    if framework := body.get("cadreFacturation"):
        if framework not in FRAMEWORK_VALUES:
            return False
        search.framework = FRAMEWORK_VALUES[framework]
    return True


def _sorted(
    search: ipb.ListInvoicesRequest, params: Any, side: int, field: str
) -> ipb.ListInvoicesRequest:
    search.order_by, search.ascending = sort_order(as_object(params), side, field)
    return search


async def _list(
    request: Request,
    caller: TechnicalCaller,
    search: ipb.ListInvoicesRequest,
    page: Page,
    paging: str,
    *,
    possible: bool = True,
) -> tuple[list[ipb.Invoice], int, Parties]:
    """One page of the search; nothing without asking when a criterion matches nothing
    Chorus has (``possible`` False)."""
    parties = Parties(request.app.state.clients.structures, caller.caller)
    if not possible:
        return [], 0, parties
    search.page_number, search.page_size = page.number, page.size
    names = {k: (f"{paging}.{v}" if k.startswith("page") else v) for k, v in LIST_FIELDS.items()}
    names |= {"order_by": f"{paging}.triColonne", "ascending": f"{paging}.triSens"}
    with fields_named(names):
        found = await request.app.state.clients.invoices.list_invoices(search, caller.caller)
    await parties.load(parties_of(found.invoices))
    return list(found.invoices), int(found.total_size), parties


async def _structure_id(
    request: Request, caller: TechnicalCaller, cpp_id: int | None, field: str
) -> str:
    """The structure a search is about: the technical account's own by default."""
    if cpp_id is None:
        return caller.structure_id
    parties = Parties(request.app.state.clients.structures, caller.caller)
    with fields_named({"cpp_id": field}):
        return (await parties.by_cpp_id(cpp_id)).id


@router.post("/rechercher/fournisseur")
async def search_issued(request: Request, caller: Technical) -> dict:
    """``rechercherFactureParFournisseur``: the structure's issued invoices, by number, flow
    (``numeroFluxDepot``: every invoice of a flow, what chorus-api and OCA ask after a
    deposit), type, statuses, dates, TTC, HT and to-pay amounts, framework, deposit mode,
    acknowledged rejection (``rejetTraite``), recipients; sorted by
    ``rechercheFactureParFournisseur.triColonne`` / ``triSens``. A framework or deposit mode
    no invoice here has (works invoices, portal modes Chorus names otherwise) finds none."""
    body = await read_body(request, "rechercherFactureParFournisseur")
    paging = body.get("rechercheFactureParFournisseur")
    page = page_request(paging)
    search = ipb.ListInvoicesRequest(
        side=ipb.LIST_SIDE_ISSUED,
        structure_id=await _structure_id(
            request, caller, body.get("idFournisseur"), "idFournisseur"
        ),
    )
    _sorted(search, paging, ipb.LIST_SIDE_ISSUED, "rechercheFactureParFournisseur")
    possible = _common_criteria(body, search)
    if kind := body.get("typeFacture"):
        search.type = type_value(kind)
    if mode := body.get("modeDepot"):
        modes = MODES_SHOWN_AS.get(mode, ())
        search.deposit_modes.extend(modes)
        possible = possible and bool(modes)
    if body.get("rejetTraite") is not None:
        search.rejection_acknowledged = body["rejetTraite"]
    recipients = as_list(body.get("listeDestinataire"))
    for index, recipient in enumerate(recipients):
        if recipient.get("idDestinataire") is not None:
            search.counterparty_structure_ids.append(
                await _structure_id(
                    request,
                    caller,
                    recipient["idDestinataire"],
                    f"listeDestinataire[{index}].idDestinataire",
                )
            )
    invoices, total, parties = await _list(
        request, caller, search, page, "rechercheFactureParFournisseur", possible=possible
    )
    return ok(
        parametresRetour=page_result(page, total),
        listeFactures=[supplier_line(i, parties) for i in invoices],
    )


@router.post("/rechercher/atraiter/fournisseur")
async def search_issued_to_process(request: Request, caller: Technical) -> dict:
    """``rechercherFactureATraiterParFournisseur``: issued invoices waiting for the supplier
    (suspended: to complete; to recycle; rejected and not yet acknowledged by ``traiterRejet``,
    unless ``masquerRejetee``), sorted by ``triColonne`` / ``triSens``."""
    body = await read_body(request, "rechercherFactureATraiterParFournisseur")
    paging = body.get("rechercheFactureATraiterParFournisseur")
    page = page_request(paging)
    search = ipb.ListInvoicesRequest(
        side=ipb.LIST_SIDE_ISSUED,
        structure_id=await _structure_id(request, caller, body.get("idStructure"), "idStructure"),
        statuses=list(SUPPLIER_TO_PROCESS),
        rejection_acknowledged=False,
    )
    _sorted(search, paging, ipb.LIST_SIDE_ISSUED, "rechercheFactureATraiterParFournisseur")
    if body.get("masquerRejetee") is not True:
        search.statuses.append(ipb.INVOICE_STATUS_REJETEE)
    invoices, total, parties = await _list(
        request, caller, search, page, "rechercheFactureATraiterParFournisseur"
    )
    lines = []
    for invoice in invoices:
        line = supplier_line(invoice, parties)
        for key in ("numeroFluxDepot", "modeDepot", "rejetTraite", "dateHeureEtatCourant",
                    "numeroFactureOrigine"):  # fmt: skip
            line.pop(key, None)
        lines.append(line)
    return ok(parametresRetour=page_result(page, total), listeFactures=lines)


def _received_search(
    body: dict[str, Any], structure_id: str, statuses: tuple[int, ...] = ()
) -> ipb.ListInvoicesRequest:
    search = ipb.ListInvoicesRequest(
        side=ipb.LIST_SIDE_RECEIVED, structure_id=structure_id, statuses=list(statuses)
    )
    if (downloaded := body.get("factureTelechargeeParDestinataire")) is not None:
        if not isinstance(downloaded, bool):
            raise invalid_field("factureTelechargeeParDestinataire", "un booléen est attendu.")
        search.downloaded_by_recipient = downloaded
    kinds = {type_value(k) for k in as_list(body.get("listeTypeFacture"))}
    if len(kinds) == 1:
        search.type = kinds.pop()
    return search


@router.post("/rechercher/recipiendaire")
async def search_received(request: Request, caller: Technical) -> dict:
    """``rechercherFactureRecipiendaire``: invoices received by the structure
    (``idDestinataire``, the technical account's own by default), by supplier, number, type,
    statuses, dates, TTC, HT and to-pay amounts, framework, downloaded or not, service; sorted
    by ``paramRecherche.triColonne`` / ``triSens``. The page is described at the top level
    (``pageCourante``, ``pages``, …: Pastell loops on them) and in ``parametresRetour``;
    ``listeFactures`` is ``[]`` when nothing matches (never ``codeRetour`` 20000)."""
    body = await read_body(request, "rechercherFactureRecipiendaire")
    paging = body.get("paramRecherche")
    page = page_request(paging)
    structure_id = await _structure_id(
        request, caller, body.get("idDestinataire"), "idDestinataire"
    )
    search = _sorted(
        _received_search(body, structure_id), paging, ipb.LIST_SIDE_RECEIVED, "paramRecherche"
    )
    possible = _common_criteria(body, search)
    for index, supplier in enumerate(as_list(body.get("listeFournisseurs"))):
        if supplier.get("idFournisseur") is not None:
            search.counterparty_structure_ids.append(
                await _structure_id(
                    request,
                    caller,
                    supplier["idFournisseur"],
                    f"listeFournisseurs[{index}].idFournisseur",
                )
            )
    if body.get("idServiceExecutant") is not None:
        search.service_code = await _service_code(
            request, caller, structure_id, body["idServiceExecutant"]
        )
    invoices, total, parties = await _list(
        request, caller, search, page, "paramRecherche", possible=possible
    )
    result = page_result(page, total)
    return ok(
        listeFactures=[recipient_line(i, parties) for i in invoices],
        parametresRetour=result,
        **result,
    )


async def _service_code(
    request: Request, caller: TechnicalCaller, structure_id: str, service_cpp_id: int
) -> str:
    parties = Parties(request.app.state.clients.structures, caller.caller)
    await parties.load([structure_id])
    structure = parties.get(structure_id)
    service = next(
        (s for s in (structure.services if structure else []) if s.cpp_id == service_cpp_id),
        None,
    )
    if service is None:
        raise invalid_field("idServiceExecutant", "service inconnu dans la structure destinataire.")
    return service.code


@router.post("/rechercher/atraiter/recipiendaire")
async def search_received_to_process(request: Request, caller: Technical) -> dict:
    """``rechercherFactureATraiterParRecipiendaire``: received invoices the recipient may
    still process (made available or completed, taken up, service done, mandated, with the
    accountant, booked), sorted by ``triColonne`` / ``triSens``."""
    body = await read_body(request, "rechercherFactureATraiterParRecipiendaire")
    paging = body.get("parametreRechercheFactureATraiterParRecipiendaire")
    page = page_request(paging)
    structure_id = await _structure_id(request, caller, body.get("idStructure"), "idStructure")
    search = _sorted(
        _received_search(body, structure_id, RECIPIENT_TO_PROCESS),
        paging,
        ipb.LIST_SIDE_RECEIVED,
        "parametreRechercheFactureATraiterParRecipiendaire",
    )
    invoices, total, parties = await _list(
        request, caller, search, page, "parametreRechercheFactureATraiterParRecipiendaire"
    )
    return ok(
        listeFactures=[recipient_line(i, parties) for i in invoices],
        parametresRetour=page_result(page, total),
    )


# -- one invoice -------------------------------------------------------------------------------


_NOT_ON_THIS_SIDE = {
    "supplier": "Aucune facture émise par votre structure n'a cet identifiant ; pour une facture "
    "reçue, utilisez consulter/recipiendaire.",
    "recipient": "Aucune facture reçue par votre structure n'a cet identifiant ; pour une facture "
    "émise, utilisez consulter/fournisseur.",
}


async def _invoice(request: Request, caller: TechnicalCaller, cpp_id: int, field: str):
    with fields_named({"cpp_id": field, "invoice_id": field}):
        return await request.app.state.clients.invoices.get_invoice(cpp_id, caller.caller)


def _document(invoice: ipb.Invoice) -> dict[str, Any]:
    try:
        document = json.loads(invoice.document_json) if invoice.document_json else {}
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _lines(invoice: ipb.Invoice, page: Page) -> dict[str, Any]:
    lines = []
    for number, line in enumerate(invoice.lines, start=1):
        entry: dict[str, Any] = {
            "lignePosteNumero": number,
            "lignePosteDenomination": line.description,
            "lignePosteQuantite": amount(line.quantity),
            "lignePosteUniteLibelle": line.unit,
            "lignePosteMontantUnitaireHT": amount(line.unit_price),
            "lignePosteMontantHtApresRemise": amount(line.net_amount),
            "lignePosteTauxTva": line.vat_rate,
        }
        lines.append({k: v for k, v in entry.items() if v is not None})
    start = (page.number - 1) * page.size
    result = page_result(page, len(lines))
    return {
        "lignePoste": lines[start : start + page.size],
        "pageCouranteLignesPoste": result["pageCourante"],
        "pagesLignesPoste": result["pages"],
        "nbResultatsParPageLignesPoste": result["nbResultatsParPage"],
        "totalLignesPoste": result["total"],
    }


def _vat(invoice: ipb.Invoice) -> dict[str, Any]:
    rows = []
    for row in invoice.totals.vat_breakdown:
        entry = {
            "ligneTvaTauxRefCode": row.category or "S",
            "ligneTvaTauxRefLibelle": f"{row.rate} %" if row.rate else row.category,
            "ligneTvaTauxRefValeur": amount(row.rate),
            "ligneTvaMontantBaseHtParTaux": amount(row.base),
            "ligneTvaMontantTvaParTaux": amount(row.amount),
        }
        rows.append({k: v for k, v in entry.items() if v is not None})
    return {
        "ligneTva": rows,
        "pageCouranteLignesRecapitulativesTVA": 1,
        "pagesLignesRecapitulativesTVA": 1 if rows else 0,
        "nbResultatsParPageLignesRecapitulativesTVA": max(len(rows), 1),
        "totalLignesRecapitulativesTVA": len(rows),
    }


def _attachments(invoice: ipb.Invoice) -> dict[str, Any]:
    pieces = []
    for index, document in enumerate(invoice.documents, start=1):
        extension = document.filename.rsplit(".", 1)[-1].upper() if "." in document.filename else ""
        pieces.append(
            {
                "pieceJointeTypeCode": "FACTURE"
                if document.role in ("ORIGINAL", "FACTURX", "CII")
                else "PIECE_JOINTE_COMPLEMENTAIRE",
                "pieceJointeTypeLibelle": document.role,
                "pieceJointeDesignation": document.filename,
                "pieceJointeId": index,
                "pieceJointeIdLiaison": index,
                "pieceJointeExtension": extension,
            }
        )
    return {
        "pieceJointe": pieces,
        "pageCouranteListePiecesJointe": 1,
        "pagesListePiecesJointe": 1 if pieces else 0,
        "nbResultatsParPageListePiecesJointe": max(len(pieces), 1),
        "totalListePiecesJointe": len(pieces),
    }


async def _full_invoice(
    request: Request, caller: TechnicalCaller, body: dict[str, Any], side: str
) -> dict[str, Any]:
    cpp_id = required(body, "identifiantFactureCPP")
    invoice = await _invoice(request, caller, cpp_id, "identifiantFactureCPP")
    party = invoice.supplier_structure_id if side == "supplier" else invoice.recipient_structure_id
    if party != caller.structure_id:
        # consulter/fournisseur reads the structure's issued invoices, consulter/recipiendaire
        # its received ones: the other side's invoice is refused as if unknown.
        raise CproError(
            NOT_FOUND,
            "Facture introuvable.",
            "INVOICE_NOT_FOUND",
            [FieldProblem("identifiantFactureCPP", _NOT_ON_THIS_SIDE[side])],
        )
    parties = Parties(request.app.state.clients.structures, caller.caller)
    await parties.load(parties_of([invoice]))
    supplier = parties.get(invoice.supplier_structure_id)
    recipient = parties.get(invoice.recipient_structure_id)
    service = service_of(recipient, invoice.service_code)
    document = _document(invoice)
    totals = invoice.totals
    recipient_part: dict[str, Any] = {"codeServiceExecutant": invoice.service_code}
    if recipient is not None:
        place = recipient.address
        recipient_part |= {
            "idDestinataire": recipient.cpp_id,
            "codeDestinataire": recipient.identifier,
            "libelleDestinataire": recipient.raison_sociale,
            "designationDestinataire": recipient.raison_sociale or recipient.libelle,
            "miseEnPaiementDestinataire": not recipient.routing.payment_status_not_reported,
            "adresseDestinataireDetail": place.line1,
            "adresseDestinataireComplement1": place.line2,
            "adresseDestinataireCodePostal": place.postal_code,
            "adresseDestinataireVille": place.city,
            "adresseDestinataireCodePays": place.country,
        }
    if service is not None:
        recipient_part |= {
            "idServiceExecutant": service.cpp_id,
            "libelleServiceExecutant": service.name,
        }
    supplier_part: dict[str, Any] = {}
    if supplier is not None:
        place = supplier.address
        supplier_part = {
            "idFournisseur": supplier.cpp_id,
            "typeIdentifiantFournisseur": identifier_type(supplier),
            "codeFournisseur": supplier.identifier,
            "raisonSocialeFournisseur": supplier.raison_sociale,
            "designationFournisseur": supplier.raison_sociale or supplier.libelle,
            "adresseFournisseurDetail": place.line1,
            "adresseFournisseurComplement1": place.line2,
            "adresseFournisseurCodePostal": place.postal_code,
            "adresseFournisseurVille": place.city,
            "adresseFournisseurCodePays": place.country,
        }
    payment = document.get("payment_instructions") or {}
    transfers = payment.get("credit_transfers") or []
    if transfers and isinstance(transfers[0], dict) and transfers[0].get("account"):
        supplier_part["coordBancairesFournisseurType"] = "IBAN"
        supplier_part["coordBancairesFournisseurCompteBancaire"] = transfers[0]["account"]
        if transfers[0].get("account_name"):
            supplier_part["coordBancairesFournisseurLibelle"] = transfers[0]["account_name"]
        if transfers[0].get("service_provider"):
            supplier_part["coordBancairesBicSwift"] = transfers[0]["service_provider"]

    references: dict[str, Any] = {
        "dateFacture": iso_date(invoice.issue_date),
        "dateDepot": date_of(invoice.created_at),
        "dateCreationFacture": timestamp(invoice.created_at),
        "codeDeviseFacture": invoice.currency or "EUR",
        "typeFacture": type_name(invoice.type),
        "numeroBonCommande": invoice.engagement_number,
        "numeroFactureOrigine": invoice.preceding_invoice_number,
        "motifExonerationTva": invoice.vat_exemption_reason,
    }
    if due := iso_date(str(document.get("due_date") or "")):
        references["dateEcheancePaiement"] = due
    if contract := document.get("contract_reference"):
        references["numeroMarche"] = str(contract)

    facture: dict[str, Any] = {
        "identifiantFactureCPP": invoice.cpp_id,
        "numeroFacture": invoice.number,
        "statutFacture": status_name(invoice.status),
        "rejetTraite": invoice.HasField("rejection_acknowledged_at"),
        "destinataire": recipient_part,
        "fournisseur": supplier_part,
        "references": {k: v for k, v in references.items() if v is not None},
        "recapitulatifDeTva": _vat(invoice),
        "montantTotal": {
            k: v
            for k, v in {
                "montantHtTotal": amount(totals.net_total),
                "montantTVA": amount(totals.vat_total),
                "montantTtcAvantRemiseGlobalTTC": amount(totals.gross_total),
                "montantTtcTotal": amount(totals.gross_total),
                "montantAPayer": amount(totals.amount_due or totals.gross_total),
            }.items()
            if v is not None
        },
        "lignesDePoste": _lines(
            invoice,
            page_request(
                body.get("getpLignesPoste"),
                size_key="nbResultatsParPageLignesPoste",
                number_key="pageResultatDemandeeLignesPoste",
            ),
        ),
        "listeDesPiecesJointes": _attachments(invoice),
        "commentaire": invoice.comment,
    }
    if mode := DEPOSIT_MODES.get(invoice.deposit_mode):
        facture["modeDepot"] = mode
    if framework := FRAMEWORKS.get(invoice.framework):
        facture["cadreDeFacturation"] = {"codeCadreFacturation": framework}
    return ok(facture=facture)


@router.post("/consulter/fournisseur")
async def get_issued(request: Request, caller: Technical) -> dict:
    """``consulterFactureParFournisseur``: one invoice issued by the structure, whole."""
    body = await read_body(request, "consulterFactureParFournisseur")
    return await _full_invoice(request, caller, body, "supplier")


@router.post("/consulter/recipiendaire")
async def get_received(request: Request, caller: Technical) -> dict:
    """``consulterFactureParRecipiendaire``: one invoice received by the structure, whole."""
    body = await read_body(request, "consulterFactureParRecipiendaire")
    return await _full_invoice(request, caller, body, "recipient")


@router.post("/consulter/historique")
async def history(request: Request, caller: Technical) -> dict:
    """``consulterHistoriqueFacture``: the current status (``statutCourantCode``) and the
    status history, newest first, each with who made the change (their name when identity
    shows it), ``idFacture`` the integer OCA compares with what it stored."""
    body = await read_body(request, "consulterHistoriqueFacture")
    cpp_id = required(body, "idFacture")
    invoice = await _invoice(request, caller, cpp_id, "idFacture")
    with fields_named({"cpp_id": "idFacture"}):
        entries = await request.app.state.clients.invoices.get_invoice_history(
            cpp_id, caller.caller
        )
    numbered = list(enumerate(entries, start=1))
    numbered.reverse()
    params = as_object(body.get("paramRechercheHistoStatuts"))
    page = page_request(
        params,
        size_key="nbResultatsParPageListeHistoStatut",
        number_key="pageResultatDemandeeListeHistoStatut",
    )
    if (limit := body.get("nbResultatsMaximum")) and limit > 0 and not params:
        page = Page(number=1, size=min(limit, 1000))
    start = (page.number - 1) * page.size
    shown = numbered[start : start + page.size]
    people = await _people(request, caller, {e.actor for _, e in shown})
    statuses = []
    for index, entry in shown:
        line: dict[str, Any] = {
            "histoStatutId": index,
            "histoStatutCode": status_name(entry.status),
            "histoStatutDatePassage": timestamp(entry.at),
            "histoStatutCommentaire": entry.comment,
        }
        line |= people.get(entry.actor, {})
        statuses.append(line)
    result = page_result(page, len(numbered))
    actions = []
    if invoice.HasField("recipient_downloaded_at"):
        actions.append(("TELECHARGEMENT_FACTURE", invoice.recipient_downloaded_at))
    if invoice.HasField("rejection_acknowledged_at"):
        actions.append(("ACQUITTEMENT_REJET", invoice.rejection_acknowledged_at))
    actions.sort(key=lambda a: (a[1].seconds, a[1].nanos))
    answer: dict[str, Any] = {
        "idFacture": invoice.cpp_id,
        "numeroFacture": invoice.number,
        "statutCourantCode": status_name(invoice.status),
        "historiquesDesStatuts": {
            "histoStatut": statuses,
            "pageCouranteHistoStatut": result["pageCourante"],
            "pagesHistoStatut": result["pages"],
            "nbResultatsParPageHistoStatut": result["nbResultatsParPage"],
            "totalHistoStatut": result["total"],
        },
        "historiquesDesEvenementsComplementaires": {
            "evenement": [],
            "pageCouranteEvenement": 1,
            "pagesEvenement": 0,
            "nbResultatsParPageEvenement": 10,
            "totalEvenement": 0,
        },
        "historiquesDesActionsUtilisateurs": {
            "histoAction": [
                {"histoActionId": i, "histoActionCode": code, "histoActionDateHeure": timestamp(at)}
                for i, (code, at) in enumerate(actions, start=1)
            ],
            "pageCouranteHistoAction": 1,
            "pagesHistoAction": 1 if actions else 0,
            "nbResultatsParPageHistoAction": 10,
            "totalHistoAction": len(actions),
        },
    }
    if actions:
        answer["derniereAction"] = {
            "derniereActionId": len(actions),
            "derniereActionCode": actions[-1][0],
        }
    if mode := DEPOSIT_MODES.get(invoice.deposit_mode):
        answer["modeDepot"] = mode
    return ok(**answer)


async def _people(
    request: Request, caller: TechnicalCaller, user_ids: set[str]
) -> dict[str, dict[str, str]]:
    """Names and e-mails of the history's actors, as identity shows them to the caller (best
    effort: an actor identity does not show, or "system", is left unnamed)."""
    wanted = sorted(u for u in user_ids if u and u != "system")
    if not wanted:
        return {}
    try:
        users = await request.app.state.clients.identity.batch_get_users(wanted, caller.caller)
    except Exception:
        return {}
    return {
        user.id: {
            k: v
            for k, v in {
                "histoStatutUtilisateurNom": user.last_name,
                "histoStatutUtilisateurPrenom": user.first_name,
                "histoStatutUtilisateurEmail": user.contact_email,
            }.items()
            if v
        }
        for user in users
    }
