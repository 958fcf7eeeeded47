"""Entering an invoice through the API: ``transverses/v1/ajouter/fichier`` (an attachment
staged ahead, by integer id), ``factures/v1/deposer/pdf`` (a PDF read for pre-filling) and
``factures/v1/soumettre`` (an invoice entered field by field: invoices' ``CreateInvoice``).

``soumettre`` with ``modeDepot`` ``DEPOT_PDF_API`` (PY-FE's flow: the PDF uploaded with
``ajouter/fichier``, then named by ``pieceJointePrincipale[0].pieceJointePrincipaleId``)
becomes invoices' ``DepositPdfInvoice`` with that staged file as the invoice itself: the
invoices service reads it (a Factur-X's XML gives the data and every header field or total the
JSON states must agree with it; a plain PDF needs them) and decides.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from chorus.invoices.v1 import invoices_service_pb2 as ipb
from chorus.structures.v1 import structures_service_pb2 as spb
from defusedxml import ElementTree
from fastapi import APIRouter, Request

from chorus_cpro_api.api.flows import decode_file
from chorus_cpro_api.edge.bodies import as_list, as_object, read_body, required
from chorus_cpro_api.edge.credentials import Technical, TechnicalCaller
from chorus_cpro_api.edge.envelope import (
    ATTACHMENT_TOO_LARGE,
    DATA_REFUSED,
    CproError,
    FieldProblem,
    fields_named,
    invalid_field,
    ok,
)
from chorus_cpro_api.edge.formats import PARIS, amount, date_of, decimal_text, parse_date
from chorus_cpro_api.edge.invoices import status_name

router = APIRouter()

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""An attachment above 10 MB is refused (Chorus Pro's 20003)."""

FRAMEWORKS = {
    "A1_FACTURE_FOURNISSEUR": ipb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
    "A2_FACTURE_FOURNISSEUR_DEJA_PAYEE": ipb.FRAMEWORK_A2_FACTURE_FOURNISSEUR_DEJA_PAYEE,
    "A9_FACTURE_SOUSTRAITANT": ipb.FRAMEWORK_A9_FACTURE_SOUSTRAITANT,
    "A12_FACTURE_COTRAITANT": ipb.FRAMEWORK_A12_FACTURE_COTRAITANT,
}
PAYMENT_MEANS = {
    "VIREMENT": "30",
    "CHEQUE": "20",
    "PRELEVEMENT": "49",
    "ESPECE": "10",
    "AUTRE": "1",
    "REPORT": "1",
}
"""``modePaiement`` → UNTDID 4461 (BT-81)."""
UNITS = {
    "UNITE": "C62",
    "PIECE": "H87",
    "HEURE": "HUR",
    "JOUR": "DAY",
    "MOIS": "MON",
    "ANNEE": "ANN",
    "KG": "KGM",
    "KILOGRAMME": "KGM",
    "LITRE": "LTR",
    "METRE": "MTR",
    "M2": "MTK",
    "M3": "MTQ",
    "FORFAIT": "C62",
    "LOT": "C62",
}
"""Chorus Pro's unit labels → UN/ECE rec. 20 codes; a code itself (``HUR``) is kept; anything
else is a unit (``C62``)."""
_UNECE = re.compile(r"^[A-Z0-9]{2,3}$")
_RATE = re.compile(r"(\d+(?:[.,]\d+)?)")


def _unit(value: str) -> str:
    text = (value or "").strip().upper().replace("É", "E")
    if not text:
        return "C62"
    return UNITS.get(text) or (text if _UNECE.match(text) else "C62")


def _decimal(value: Any) -> str:
    return decimal_text(value) if value is not None else ""


def _vat_rate(line: dict[str, Any], field: str, prefix: str = "lignePoste") -> str:
    """``<prefix>TauxTvaManuel`` (a number), else ``<prefix>TauxTva``: a rate ("20", "5,5",
    "TVA_5_5" of ``recuperer/tauxtva``); 400 naming the field otherwise."""
    manual, coded = f"{prefix}TauxTvaManuel", f"{prefix}TauxTva"
    if prefix == "ligneTva":
        manual, coded = "ligneTvaTauxManuel", "ligneTvaTaux"
    if line.get(manual) is not None:
        return decimal_text(line[manual])
    code = (line.get(coded) or "").strip()
    if not code:
        raise invalid_field(f"{field}.{coded}", "taux de TVA obligatoire.")
    normalized = code.upper().removeprefix("TVA").strip("_ ").replace("_", ".")
    found = _RATE.fullmatch(normalized.replace(",", ".")) or _RATE.fullmatch(normalized)
    if found is None:
        raise invalid_field(
            f"{field}.{coded}",
            "taux inconnu : un nombre (« 20 », « 5,5 ») ou un code de recuperer/tauxtva.",
        )
    try:
        return format(Decimal(found.group(1).replace(",", ".")).normalize(), "f")
    except InvalidOperation:
        raise invalid_field(f"{field}.{coded}", "taux illisible.") from None


def _lines(body: dict[str, Any]) -> list[ipb.InvoiceLine]:
    lines = []
    for index, line in enumerate(as_list(body.get("lignePoste"))):
        field = f"lignePoste[{index}]"
        entry = ipb.InvoiceLine(
            description=(
                line.get("lignePosteDenomination") or line.get("lignePosteReference") or ""
            ).strip(),
            quantity=_decimal(line.get("lignePosteQuantite")),
            unit=_unit(line.get("lignePosteUnite", "")),
            unit_price=_decimal(line.get("lignePosteMontantUnitaireHT")),
            vat_rate=_vat_rate(line, field),
        )
        if discount := line.get("lignePosteMontantRemiseHT"):
            entry.allowances_charges.append(
                ipb.LineAllowanceCharge(
                    charge=False, amount=decimal_text(discount), reason="Remise"
                )
            )
        lines.append(entry)
    return lines


def _payment(entry: ipb.CreateInvoiceRequest, body: dict[str, Any]) -> None:
    """``references.modePaiement`` as the payment means, with PY-FE's ``fournisseur.iban``
    (not in the Swagger: Chorus Pro names registered bank details by
    ``codeCoordonneesBancairesFournisseur``) as the account of a transfer."""
    means = PAYMENT_MEANS.get(as_object(body.get("references")).get("modePaiement") or "")
    if not means:
        return
    entry.payment.means_code = means
    iban = as_object(body.get("fournisseur")).get("iban")
    if isinstance(iban, str) and iban.strip():
        entry.payment.iban = iban.replace(" ", "").upper()


SUBMIT_FIELDS = {
    "payment.means_code": "references.modePaiement",
    "payment.iban": "fournisseur.iban",
    "number": "numeroFactureSaisi",
    "issue_date": "dateFacture",
    "recipient": "destinataire.codeDestinataire",
    "recipient.identifier": "destinataire.codeDestinataire",
    "service_code": "destinataire.codeServiceExecutant",
    "engagement_number": "references.numeroBonCommande",
    "currency": "references.deviseFacture",
    "type": "references.typeFacture",
    "framework": "cadreDeFacturation.codeCadreFacturation",
    "preceding_invoice_number": "references.numeroFactureOrigine",
    "vat_exemption_reason": "references.motifExonerationTva",
    "lines": "lignePoste",
    "comment": "commentaire",
}


PDF_FIELDS = SUBMIT_FIELDS | {
    "staged_pdf_id": "pieceJointePrincipale.pieceJointePrincipaleId",
    "file": "pieceJointePrincipale.pieceJointePrincipaleId",
    "net_total": "montantTotal.montantHtTotal",
    "vat_total": "montantTotal.montantTVA",
    "gross_total": "montantTotal.montantTtcTotal",
    "vat_breakdown": "ligneTva",
    "supplier_structure_id": "fournisseur",
}
"""The fields of ``DepositPdfInvoice``'s refusals named as in ``soumettre`` (indexed ones are
added per request: :func:`_pdf_field_names`)."""


@router.post("/cpro/factures/v1/soumettre")
async def submit(request: Request, caller: Technical) -> dict:
    """``soumettreFacture``. ``SAISIE_API`` (the default): an invoice entered field by field,
    from the technical account's structure to ``destinataire.codeDestinataire`` (a SIRET);
    totals are computed by the invoices service from the lines (the stated ``ligneTva`` and
    ``montantTotal`` are not used); without ``dateFacture`` (PY-FE leaves it out) the invoice
    is dated today. ``DEPOT_PDF_API``: the PDF staged by ``ajouter/fichier`` and named by
    ``pieceJointePrincipale.pieceJointePrincipaleId`` is the invoice (:func:`_submit_pdf`).
    ``DEPOT_PDF_SIGNE_API`` is refused (20008): Chorus does not check PDF signatures."""
    body = await read_body(request, "soumettreFacture")
    mode = body.get("modeDepot") or "SAISIE_API"
    if mode == "DEPOT_PDF_API":
        invoice = await _submit_pdf(request, caller, body)
    elif mode == "SAISIE_API":
        invoice = await _submit_entry(request, caller, body)
    else:
        raise CproError(
            DATA_REFUSED,
            f"Dépôt refusé : le mode {mode} n'est pas pris en charge (Chorus ne vérifie pas la "
            "signature d'un PDF) ; déposez le PDF en DEPOT_PDF_API ou saisissez la facture "
            "(SAISIE_API).",
            "MODE_DEPOT_NON_PRIS_EN_CHARGE",
            [FieldProblem("modeDepot", "SAISIE_API ou DEPOT_PDF_API attendu.")],
        )
    answer: dict[str, Any] = {
        "identifiantFactureCPP": invoice.cpp_id,
        "numeroFacture": invoice.number,
        "statutFacture": status_name(invoice.status),
        "dateDepot": date_of(invoice.created_at),
    }
    own = await _own_identifier(request, caller)
    if own:
        answer["identifiantStructure"] = own
    return ok(**answer)


async def _submit_entry(
    request: Request, caller: TechnicalCaller, body: dict[str, Any]
) -> ipb.Invoice:
    if as_list(body.get("pieceJointeComplementaire")):
        raise invalid_field(
            "pieceJointeComplementaire",
            "une facture saisie ne prend pas de pièce jointe ; ajoutez-les par completer si la "
            "facture est suspendue.",
        )
    recipient = as_object(body.get("destinataire"))
    references = as_object(body.get("references"))
    framework = as_object(body.get("cadreDeFacturation"))
    issued = body.get("dateFacture")
    day = parse_date(issued) if issued else dt.datetime.now(PARIS).date()
    if day is None:
        raise invalid_field("dateFacture", "date attendue, AAAA-MM-JJ.")
    entry = ipb.CreateInvoiceRequest(
        supplier_structure_id=caller.structure_id,
        recipient=ipb.RecipientRef(
            identifier_type="SIRET",
            identifier=required(body, "destinataire.codeDestinataire").strip(),
        ),
        service_code=(recipient.get("codeServiceExecutant") or "").strip(),
        engagement_number=(references.get("numeroBonCommande") or "").strip(),
        framework=FRAMEWORKS.get(
            framework.get("codeCadreFacturation") or "", ipb.FRAMEWORK_A1_FACTURE_FOURNISSEUR
        ),
        type=ipb.INVOICE_TYPE_AVOIR
        if references.get("typeFacture") == "AVOIR"
        else ipb.INVOICE_TYPE_FACTURE,
        number=required(body, "numeroFactureSaisi").strip(),
        issue_date=day.isoformat(),
        currency=(references.get("deviseFacture") or "EUR").strip().upper(),
        lines=_lines(body),
        comment=(body.get("commentaire") or "").strip(),
        preceding_invoice_number=(references.get("numeroFactureOrigine") or "").strip(),
        vat_exemption_reason=(references.get("motifExonerationTva") or "").strip(),
        contract_reference=(references.get("numeroMarche") or "").strip(),
    )
    _payment(entry, body)
    with fields_named(SUBMIT_FIELDS):
        return await request.app.state.clients.invoices.create_invoice(entry, caller.caller)


def _staged_id(value: Any, field: str) -> str:
    """A ``pieceJointe…Id`` (the integer ``ajouter/fichier`` answered) as invoices' staged id
    (its decimal string)."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise invalid_field(field, "l'identifiant entier rendu par ajouter/fichier est attendu.")
    return str(value)


def _main_piece(body: dict[str, Any]) -> str:
    """``pieceJointePrincipale`` (an object, or PY-FE's list of one): the staged PDF's id."""
    pieces = [p for p in as_list(body.get("pieceJointePrincipale")) if p]
    if not pieces:
        raise invalid_field(
            "pieceJointePrincipale.pieceJointePrincipaleId",
            "en DEPOT_PDF_API, le PDF de la facture, téléversé par ajouter/fichier, est"
            " obligatoire.",
        )
    if len(pieces) > 1:
        raise invalid_field(
            "pieceJointePrincipale",
            "une seule pièce jointe principale (le PDF de la facture) ; les autres pièces vont"
            " dans pieceJointeComplementaire.",
        )
    field = "pieceJointePrincipale.pieceJointePrincipaleId"
    return _staged_id(as_object(pieces[0]).get("pieceJointePrincipaleId"), field)


def _pdf_totals(body: dict[str, Any]) -> ipb.Totals:
    """``montantTotal`` and ``ligneTva`` as the stated totals (only what is given: for a
    Factur-X each is compared with the XML, a plain PDF needs them)."""
    stated = as_object(body.get("montantTotal"))
    totals = ipb.Totals()
    for key, attribute in (
        ("montantHtTotal", "net_total"),
        ("montantTVA", "vat_total"),
        ("montantTtcTotal", "gross_total"),
    ):
        if stated.get(key) is not None:
            setattr(totals, attribute, decimal_text(stated[key]))
    for index, row in enumerate(as_list(body.get("ligneTva"))):
        field = f"ligneTva[{index}]"
        totals.vat_breakdown.append(
            ipb.VatBreakdown(
                rate=_vat_rate(row, field, "ligneTva"),
                base=_decimal(row.get("ligneTvaMontantBaseHtParTaux")),
                amount=_decimal(row.get("ligneTvaMontantTvaParTaux")),
            )
        )
    return totals


def _pdf_field_names(body: dict[str, Any]) -> dict[str, str]:
    names = dict(PDF_FIELDS)
    for index, _ in enumerate(as_list(body.get("ligneTva"))):
        for part, key in (
            ("rate", "ligneTvaTauxManuel"),
            ("base", "ligneTvaMontantBaseHtParTaux"),
            ("amount", "ligneTvaMontantTvaParTaux"),
        ):
            names[f"vat_breakdown[{index}].{part}"] = f"ligneTva[{index}].{key}"
        names[f"vat_breakdown[{index}]"] = f"ligneTva[{index}]"
    for index, _ in enumerate(as_list(body.get("pieceJointeComplementaire"))):
        names[f"staged_attachment_ids[{index}]"] = (
            f"pieceJointeComplementaire[{index}].pieceJointeComplementaireId"
        )
    return names


async def _submit_pdf(
    request: Request, caller: TechnicalCaller, body: dict[str, Any]
) -> ipb.Invoice:
    """``DEPOT_PDF_API``: invoices' ``DepositPdfInvoice`` with the staged PDF as the invoice
    (``staged_pdf_id``) and the ``pieceJointeComplementaire`` staged files as attachments.
    Only what the JSON states is passed: no default date, type, framework or currency, so a
    Factur-X's own values stand (every value given must agree with its XML; a plain PDF needs
    them, the service says which is missing). ``lignePoste`` is not read: the lines are the
    PDF's."""
    staged_pdf_id = _main_piece(body)
    attachments = [
        _staged_id(
            as_object(piece).get("pieceJointeComplementaireId"),
            f"pieceJointeComplementaire[{index}].pieceJointeComplementaireId",
        )
        for index, piece in enumerate(as_list(body.get("pieceJointeComplementaire")))
    ]
    recipient = as_object(body.get("destinataire"))
    references = as_object(body.get("references"))
    framework = as_object(body.get("cadreDeFacturation"))
    header = ipb.CreateInvoiceRequest(
        supplier_structure_id=caller.structure_id,
        service_code=(recipient.get("codeServiceExecutant") or "").strip(),
        engagement_number=(references.get("numeroBonCommande") or "").strip(),
        number=(body.get("numeroFactureSaisi") or "").strip(),
        currency=(references.get("deviseFacture") or "").strip().upper(),
        comment=(body.get("commentaire") or "").strip(),
        preceding_invoice_number=(references.get("numeroFactureOrigine") or "").strip(),
        vat_exemption_reason=(references.get("motifExonerationTva") or "").strip(),
        contract_reference=(references.get("numeroMarche") or "").strip(),
    )
    if code := (recipient.get("codeDestinataire") or "").strip():
        header.recipient.CopyFrom(ipb.RecipientRef(identifier_type="SIRET", identifier=code))
    if issued := body.get("dateFacture"):
        day = parse_date(issued)
        if day is None:
            raise invalid_field("dateFacture", "date attendue, AAAA-MM-JJ.")
        header.issue_date = day.isoformat()
    if code := framework.get("codeCadreFacturation"):
        header.framework = FRAMEWORKS[code]
    if kind := references.get("typeFacture"):
        header.type = ipb.INVOICE_TYPE_AVOIR if kind == "AVOIR" else ipb.INVOICE_TYPE_FACTURE
    _payment(header, body)
    deposit = ipb.DepositPdfInvoiceRequest(
        header=header,
        totals=_pdf_totals(body),
        staged_pdf_id=staged_pdf_id,
        staged_attachment_ids=attachments,
    )
    with fields_named(_pdf_field_names(body)):
        return await request.app.state.clients.invoices.deposit_pdf_invoice(deposit, caller.caller)


async def _own_identifier(request: Request, caller: TechnicalCaller) -> str:
    try:
        structure = await request.app.state.clients.structures.get_structure(
            spb.GetStructureRequest(structure_id=caller.structure_id), caller.caller
        )
    except Exception:
        return ""
    return structure.identifier


async def _stage(
    request: Request, caller: TechnicalCaller, filename: str, content: bytes, fields: dict
) -> ipb.StageAttachmentResponse:
    with fields_named(fields):
        return await request.app.state.clients.invoices.stage_attachment(
            ipb.StageAttachmentRequest(
                file=ipb.AttachmentFile(filename=filename, content=content),
                supplier_structure_id=caller.structure_id,
            ),
            caller.caller,
        )


def _attachment_name(name: str, extension: str) -> str:
    name, extension = name.strip(), extension.strip().lstrip(".").lower()
    if extension and not name.lower().endswith(f".{extension}"):
        name = f"{name}.{extension}" if name else f"piece-jointe.{extension}"
    return name or "piece-jointe"


@router.post("/cpro/transverses/v1/ajouter/fichier")
async def add_file(request: Request, caller: Technical) -> dict:
    """``ajouterFichierDansSysteme``: one attachment (10 MB at most, an allowed extension, a
    name of 50 characters) kept for an hour for the deposit or completion that names its
    ``pieceJointeId`` (``completer``'s ``pieceJointeComplementaireId``)."""
    body = await read_body(request, "ajouterFichierDansSysteme")
    content = decode_file(body.get("pieceJointeFichier"), "pieceJointeFichier")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise CproError(
            ATTACHMENT_TOO_LARGE,
            "Pièce jointe refusée : 10 Mo au plus.",
            "ATTACHMENT_TOO_LARGE",
            [FieldProblem("pieceJointeFichier", "10 Mo au plus (avant encodage base64).")],
        )
    name = _attachment_name(
        body.get("pieceJointeNom") or "", body.get("pieceJointeExtension") or ""
    )
    staged = await _stage(
        request,
        caller,
        name,
        content,
        {
            "file.filename": "pieceJointeNom",
            "file.content": "pieceJointeFichier",
            "file": "pieceJointeFichier",
        },
    )
    return ok(pieceJointeId=staged.cpp_id)


# -- deposer/pdf -------------------------------------------------------------------------------

CII = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
MAX_XML_BYTES = 5 * 1024 * 1024


def facturx_fields(pdf: bytes) -> dict[str, Any]:
    """What a Factur-X PDF's XML says (number, date, parties, totals…); {} for a plain PDF or
    anything that does not read (the answer is then left for the supplier to fill)."""
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted:
            return {}
        attachments = reader.attachments
        xml = next(
            (
                data[0]
                for name, data in attachments.items()
                if name.lower() in ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml") and data
            ),
            None,
        )
        if xml is None or len(xml) > MAX_XML_BYTES:
            return {}
        root = ElementTree.fromstring(xml, forbid_dtd=True)
    except Exception:
        return {}

    def text(path: str) -> str:
        found = root.find(path, CII)
        return (found.text or "").strip() if found is not None else ""

    settlement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
    agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
    summation = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    issued = text("rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString")
    day = ""
    if re.fullmatch(r"\d{8}", issued):
        day = f"{issued[:4]}-{issued[4:6]}-{issued[6:]}"
    type_code = text("rsm:ExchangedDocument/ram:TypeCode")
    return {
        "numeroFacture": text("rsm:ExchangedDocument/ram:ID"),
        "dateFacture": day,
        "typeFacture": "AVOIR"
        if type_code in ("381", "261", "262", "296", "308", "396", "420", "458", "532")
        else "FACTURE",
        "codeFournisseur": text(
            f"{agreement}/ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID"
        ),
        "codeDestinataire": text(
            f"{agreement}/ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID"
        ),
        "codeServiceExecutant": text(f"{agreement}/ram:BuyerReference"),
        "numeroBonCommande": text(
            f"{agreement}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"
        ),
        "codeDeviseFacture": text(f"{settlement}/ram:InvoiceCurrencyCode"),
        "montantHtTotal": amount(text(f"{summation}/ram:TaxBasisTotalAmount")),
        "montantTVA": amount(text(f"{summation}/ram:TaxTotalAmount")),
        "montantTtcAvantRemiseGlobalTTC": amount(text(f"{summation}/ram:GrandTotalAmount")),
        "montantAPayer": amount(text(f"{summation}/ram:DuePayableAmount")),
    }


@router.post("/cpro/factures/v1/deposer/pdf")
async def deposit_pdf(request: Request, caller: Technical) -> dict:
    """``deposerPdfFacture``: the PDF is kept (``pieceJointeId``) and, for a Factur-X PDF, what
    its XML says is answered pre-filled (number, date, parties' identifiers, service,
    purchase order, currency, totals); a plain PDF answers empty values, dated today. Every
    field the Swagger requires is present."""
    body = await read_body(request, "deposerPdfFacture")
    content = decode_file(body.get("fichierFacture"), "fichierFacture")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise CproError(
            ATTACHMENT_TOO_LARGE,
            "PDF refusé : 10 Mo au plus.",
            "ATTACHMENT_TOO_LARGE",
            [FieldProblem("fichierFacture", "10 Mo au plus (avant encodage base64).")],
        )
    if not content.startswith(b"%PDF"):
        raise CproError(
            DATA_REFUSED,
            "PDF refusé : le fichier n'est pas un PDF.",
            "PDF_INVALIDE",
            [FieldProblem("fichierFacture", "un PDF (commençant par %PDF) est attendu.")],
        )
    name = _attachment_name(body.get("nomFichier") or "facture", "pdf")
    found = await asyncio.to_thread(facturx_fields, content)
    staged = await _stage(
        request,
        caller,
        name,
        content,
        {"file.filename": "nomFichier", "file.content": "fichierFacture", "file": "fichierFacture"},
    )
    today = dt.datetime.now(PARIS).date().isoformat()
    return ok(
        numeroFacture=found.get("numeroFacture", ""),
        dateFacture=found.get("dateFacture") or today,
        codeDestinataire=found.get("codeDestinataire", ""),
        codeServiceExecutant=found.get("codeServiceExecutant", ""),
        codeFournisseur=found.get("codeFournisseur", ""),
        codeDeviseFacture=found.get("codeDeviseFacture") or "EUR",
        typeFacture=found.get("typeFacture", "FACTURE"),
        typeTva="TVA_SUR_DEBIT",
        numeroBonCommande=found.get("numeroBonCommande", ""),
        montantTtcAvantRemiseGlobalTTC=found.get("montantTtcAvantRemiseGlobalTTC") or 0.0,
        montantAPayer=found.get("montantAPayer") or 0.0,
        montantHtTotal=found.get("montantHtTotal") or 0.0,
        montantTVA=found.get("montantTVA") or 0.0,
        pieceJointeId=staged.cpp_id,
    )
