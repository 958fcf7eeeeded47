"""Flows: ``factures/v1/deposer/flux`` and their reports, ``transverses/v1/consulterCR`` and
``consulterCRDetaille`` (invoices' ``DepositFlow`` / ``GetFlow``).

A flow of one invoice is checked (schema, official schematron, Chorus Pro rules, duplicates:
the same checks as ``/api/v1/invoices/xml``) **before** ``deposer/flux`` answers, so its report
is final at once (``IN_INTEGRE`` or ``IN_REJETE``: no "retry in 30 s"); an archive (tar.gz, ZIP)
is answered ``IN_EN_ATTENTE_TRAITEMENT_CPP`` and ends ``IN_INTEGRE``, ``IN_INTEGRE_PARTIEL`` or
``IN_REJETE``. A file that fails the checks is still a flow (200, ``codeRetour`` 0, a
``numeroFluxDepot``) whose report says why; only a malformed call is refused: no file (400
``codeRetour`` 20004), not base64 (20004), an unknown ``syntaxeFlux`` (20005), too large (413
20001). A retry with the same ``Idempotency-Key`` and the same file answers the first flow.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from typing import Any

from chorus.invoices.v1 import invoices_service_pb2 as ipb
from fastapi import APIRouter, Request

from chorus_cpro_api.edge import reference_data as ref
from chorus_cpro_api.edge.bodies import checked, parse_json_object, required
from chorus_cpro_api.edge.credentials import Technical
from chorus_cpro_api.edge.envelope import (
    FILE_INVALID,
    FILE_TOO_LARGE,
    FLOW_SYNTAX_UNKNOWN,
    CproError,
    FieldProblem,
    fields_named,
    ok,
)
from chorus_cpro_api.edge.formats import date_of, timestamp
from chorus_cpro_api.edge.report_pdf import report_pdf

router = APIRouter()

MAX_FLOW_BYTES = 15 * 1024 * 1024
"""Largest flow file (before base64), what the invoices service takes."""
DEFAULT_SYNTAX = "IN_DP_E2_CII_FACTURX"
"""chorus-api's default ``syntaxeFlux``, used when a client sends none."""
ANSWER_SYNTAXES = frozenset(ref.FLOW_SYNTAXES) - {
    "IN_DP_PDFARCHIVE_UBL_INVOICE_MUG",
    "IN_DP_PDFARCHIVE_CII_MUG",
}
"""The ``syntaxeFlux`` the Swagger's answer lists (11 of the 13): the other two are not
echoed back."""

_WHITESPACE = re.compile(rb"\s+")


def _syntax(document: dict[str, Any]) -> str:
    value = document.get("syntaxeFlux")
    if value is None or value == "":
        return DEFAULT_SYNTAX
    match = (
        next((s for s in ref.FLOW_SYNTAXES if s == value.strip().upper()), None)
        if isinstance(value, str)
        else None
    )
    if match is None:
        message = "syntaxe inconnue ; syntaxes admises : " + ", ".join(ref.FLOW_SYNTAXES) + "."
        raise CproError(
            FLOW_SYNTAX_UNKNOWN,
            f"Flux refusé : syntaxeFlux {value!r} inconnue.",
            "FLOW_SYNTAX_UNKNOWN",
            [FieldProblem("syntaxeFlux", message)],
        )
    return match


def decode_file(value: Any, field: str) -> bytes:
    """A base64 file of a body (line breaks and URL-safe alphabet tolerated); 400 20004 when
    absent, empty or not base64."""
    if not isinstance(value, str) or not value.strip():
        raise CproError(
            FILE_INVALID,
            f"Requête invalide : le fichier ({field}, en base64) est absent.",
            "FICHIER_ABSENT",
            [FieldProblem(field, "fichier en base64 obligatoire.")],
        )
    raw = _WHITESPACE.sub(b"", value.encode("ascii", "replace"))
    raw = raw.replace(b"-", b"+").replace(b"_", b"/").rstrip(b"=")
    try:
        content = base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        content = b""
    if not content:
        raise CproError(
            FILE_INVALID,
            f"Requête invalide : {field} n'est pas un fichier encodé en base64.",
            "FICHIER_BASE64_INVALIDE",
            [FieldProblem(field, "base64 attendu (RFC 4648).")],
        )
    return content


def flow_state(flow: ipb.Flow) -> str:
    return ipb.FlowState.Name(flow.state).removeprefix("FLOW_STATE_")


@router.post("/cpro/factures/v1/deposer/flux")
async def deposit_flow(request: Request, caller: Technical) -> dict:
    """``deposerFluxFacture`` → ``{numeroFluxDepot, dateDepot (YYYY-MM-DD), syntaxeFlux}``
    and, beyond the Swagger, ``etatCourantFlux`` (final for a single invoice)."""
    document = parse_json_object(await request.body())
    syntax = _syntax(document)
    document.pop("syntaxeFlux", None)
    body = checked("deposerFluxFacture", document)
    content = decode_file(body.get("fichierFlux"), "fichierFlux")
    if len(content) > MAX_FLOW_BYTES:
        raise CproError(
            FILE_TOO_LARGE,
            f"Flux refusé : {len(content) // (1024 * 1024)} Mo, plus que les 15 Mo admis ; "
            "déposez les factures en plusieurs flux.",
            "FLOW_TOO_LARGE",
            [FieldProblem("fichierFlux", "15 Mo au plus (avant encodage base64).")],
        )
    name = (body.get("nomFichier") or "").strip() or "flux"
    with fields_named(
        {"content": "fichierFlux", "file_name": "nomFichier", "syntax": "syntaxeFlux"}
    ):
        flow = await request.app.state.clients.invoices.deposit_flow(
            ipb.DepositFlowRequest(
                supplier_structure_id=caller.structure_id,
                file_name=name,
                syntax=syntax,
                content=content,
            ),
            caller.caller,
        )
    answer: dict[str, Any] = {
        "numeroFluxDepot": flow.number,
        "dateDepot": date_of(flow.deposited_at),
        "etatCourantFlux": flow_state(flow),
    }
    if flow.syntax in ANSWER_SYNTAXES:
        answer["syntaxeFlux"] = flow.syntax
    return ok(**answer)


async def _flow(request: Request, caller, operation: str) -> ipb.Flow:
    body = checked(operation, parse_json_object(await request.body()))
    number = required(body, "numeroFluxDepot").strip()
    with fields_named({"number": "numeroFluxDepot"}):
        return await request.app.state.clients.invoices.get_flow(number, caller.caller)


def error_text(error: ipb.FlowError) -> str:
    """``[BR-CO-15] /Invoice/cac:LegalMonetaryTotal/… : <message>``."""
    rule = f"[{error.rule}] " if error.rule else ""
    where = f"{error.xpath} : " if error.xpath and error.xpath != "/" else ""
    return f"{rule}{where}{error.message}"


STATE_LABELS = {
    "IN_EN_ATTENTE_TRAITEMENT_CPP": "en attente de traitement",
    "IN_EN_COURS_TRAITEMENT_CPP": "en cours de traitement",
    "IN_INTEGRE": "intégré",
    "IN_INTEGRE_PARTIEL": "intégré partiellement (seules les factures correctes)",
    "IN_REJETE": "rejeté",
}


def report_lines(flow: ipb.Flow) -> list[str]:
    """The report in French, line by line (``fichierCR``)."""
    state = flow_state(flow)
    lines = [
        f"Flux : {flow.number}",
        f"Fichier : {flow.file_name} ({flow.syntax})",
        f"Déposé le : {timestamp(flow.deposited_at)}",
        f"État : {state} — {STATE_LABELS.get(state, state)}, le {timestamp(flow.state_at)}",
        "",
    ]
    for error in flow.errors:
        lines.append(f"Erreur du flux : {error_text(error)}")
    for item in flow.items:
        number = item.invoice_number or "(numéro illisible)"
        if item.invoice_cpp_id:
            lines.append(
                f"{item.file} : facture {number} intégrée (identifiant {item.invoice_cpp_id})"
            )
        elif item.errors:
            lines.append(f"{item.file} : facture {number} refusée")
            lines.extend(f"  - {error_text(error)}" for error in item.errors)
        else:
            lines.append(f"{item.file} : facture {number} en attente")
    for note in flow.notes:
        lines.append(f"Remarque : {note}")
    return lines


@router.post("/cpro/transverses/v1/consulterCR")
async def report(request: Request, caller: Technical) -> dict:
    """``consulterCR``: the flow's state (``etatCourantFlux``), dates and the report as a PDF
    (``fichierCR``, base64)."""
    flow = await _flow(request, caller, "consulterCR")
    # A flow of a thousand invoices makes pages of PDF: drawn off the event loop.
    title = f"Compte rendu de traitement du flux {flow.number}"
    pdf = await asyncio.to_thread(report_pdf, title, report_lines(flow))
    return ok(
        numeroFluxDepot=flow.number,
        etatCourantFlux=flow_state(flow),
        dateDepotFlux=timestamp(flow.deposited_at),
        dateHeureEtatCourantFlux=timestamp(flow.state_at),
        nomFichierFlux=flow.file_name,
        codeInterfaceFlux=flow.syntax,
        codeAppliPartenaire="CHORUS",
        designationPartenaire="Chorus",
        fichierCR=base64.b64encode(pdf).decode("ascii"),
    )


@router.post("/cpro/transverses/v1/consulterCRDetaille")
async def detailed_report(request: Request, caller: Technical) -> dict:
    """``consulterCRDetaille``: the state (``etatCourantDepotFlux``) and, for each refused
    invoice, one ``listeErreurDP`` entry per error with its number (``numeroDP``) and, in
    ``libelleErreurDP``, the rule id, the XPath and the French message
    (``[BR-CO-15] /Invoice/… : …``; ``regle``, ``xpath`` and ``fichier`` apart too); the
    flow's own errors (an unreadable archive) in ``listeErreurTechnique``; what the processing
    tolerated in ``remarques``. Both lists are always arrays."""
    flow = await _flow(request, caller, "consulterCRDetaille")
    invoice_errors = []
    for item in flow.items:
        for error in item.errors:
            invoice_errors.append(
                {
                    "numeroDP": item.invoice_number,
                    "identifiantFournisseur": item.supplier_identifier,
                    "identifiantDestinataire": item.recipient_identifier,
                    "libelleErreurDP": error_text(error),
                    "regle": error.rule,
                    "xpath": error.xpath,
                    "raison": error.reason,
                    "fichier": item.file,
                }
            )
    technical = [
        {
            "codeErreur": error.rule or error.reason,
            "libelleErreur": error_text(error),
            "natureErreur": "FLUX",
        }
        for error in flow.errors
    ]
    return ok(
        numeroFluxDepot=flow.number,
        nomFichier=flow.file_name,
        codeInterfaceDepotFlux=flow.syntax,
        dateDepotFlux=timestamp(flow.deposited_at),
        dateHeureEtatCourantFlux=timestamp(flow.state_at),
        etatCourantDepotFlux=flow_state(flow),
        listeErreurDP=invoice_errors,
        listeErreurTechnique=technical,
        remarques=list(flow.notes),
        listeFactures=[
            {
                "fichier": item.file,
                "numeroFacture": item.invoice_number,
                "identifiantFactureCPP": item.invoice_cpp_id,
            }
            for item in flow.items
            if item.invoice_cpp_id
        ],
    )
