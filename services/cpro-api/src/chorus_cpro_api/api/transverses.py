"""``/cpro/transverses/v1``: the health check and the reference lists (``recuperer/*``).

The reports of flows (``consulterCR``, ``consulterCRDetaille``) are in :mod:`.flows`, the
attachment upload (``ajouter/fichier``) in :mod:`.attachments`."""

from __future__ import annotations

from chorus.invoices.v1 import invoices_service_pb2 as ipb
from chorus_platform.grpc_client import SERVING
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from chorus_cpro_api.edge import reference_data as ref
from chorus_cpro_api.edge.bodies import read_body
from chorus_cpro_api.edge.credentials import Technical
from chorus_cpro_api.edge.envelope import OK_LIBELLE, UNAVAILABLE, fields_named, ok
from chorus_cpro_api.edge.invoices import status_name, status_value

router = APIRouter(prefix="/cpro/transverses/v1")

REFERENTIAL = "recupererReferentiel"
RECIPIENT_PARTY = ipb.LIFECYCLE_PARTY_RECIPIENT


@router.get("/health-check")
async def health_check(request: Request, caller: Technical) -> JSONResponse:
    """``{body, statusCodeValue, statusCode}`` (a serialized Spring ``ResponseEntity``, what
    chorus-api and go-choruspro read), with the envelope; 503 when a service is down."""
    settings = request.app.state.settings
    statuses = await request.app.state.clients.health(deadline=settings.health_timeout_seconds)
    down = sorted(name for name, status in statuses.items() if status != SERVING)
    if down:
        message = f"Chorus est partiellement indisponible (services : {', '.join(down)})."
        return JSONResponse(
            {
                "codeRetour": UNAVAILABLE.code_retour,
                "libelle": message,
                "body": message,
                "statusCodeValue": 503,
                "statusCode": "SERVICE_UNAVAILABLE",
            },
            status_code=503,
            headers={"Retry-After": "2"},
        )
    return JSONResponse(
        {
            "codeRetour": 0,
            "libelle": OK_LIBELLE,
            "body": "Chorus est opérationnel.",
            "statusCodeValue": 200,
            "statusCode": "OK",
        }
    )


@router.post("/recuperer/tauxtva")
async def vat_rates(request: Request, caller: Technical) -> dict:
    await read_body(request, REFERENTIAL)
    return ok(listeTauxTva=ref.vat_rates())


@router.post("/recuperer/motifs/exonerationtva")
async def vat_exemptions(request: Request, caller: Technical) -> dict:
    await read_body(request, REFERENTIAL)
    return ok(listeMotifsExonerationTva=ref.vat_exemptions())


@router.post("/recuperer/devises")
async def currencies(request: Request, caller: Technical) -> dict:
    body = await read_body(request, REFERENTIAL)
    return ok(listeDevises=list(ref.currencies(ref.language(body.get("codeLangue")))))


@router.post("/recuperer/pays")
async def countries(request: Request, caller: Technical) -> dict:
    body = await read_body(request, REFERENTIAL)
    return ok(listePays=list(ref.countries(ref.language(body.get("codeLangue")))))


@router.post("/recuperer/modereglements")
async def payment_modes(request: Request, caller: Technical) -> dict:
    await read_body(request, REFERENTIAL)
    return ok(listeModePaiement=[{"modePaiement": mode} for mode in ref.PAYMENT_MODES])


@router.post("/recuperer/modedepot")
async def deposit_modes(request: Request, caller: Technical) -> dict:
    await read_body(request, REFERENTIAL)
    return ok(listeModeDepot=[{"modeDepot": mode} for mode in ref.DEPOSIT_MODES])


@router.post("/recuperer/formatflux")
async def flow_formats(request: Request, caller: Technical) -> dict:
    await read_body(request, REFERENTIAL)
    return ok(listeFormatFlux=[{"formatFlux": syntax} for syntax in ref.FLOW_SYNTAXES])


@router.post("/recuperer/typespj")
async def attachment_types(request: Request, caller: Technical) -> dict:
    body = await read_body(request, REFERENTIAL)
    return ok(listeTypePieceJointe=ref.attachment_types(body.get("typeObjet")))


@router.post("/recuperer/etats/traitement")
async def processing_statuses(request: Request, caller: Technical) -> dict:
    """``recupererEtatsPossiblesPourTraitement``: the statuses a recipient may set with
    ``traiter/recue``. For one invoice (``idFacture`` or ``identifiantFactureCPP``): those the
    invoices service allows this technical account from its current status (none for its
    supplier, or once paid; 404 20006 for an invoice it cannot see). For a status
    (``statutCourant``, what go-choruspro sends): the recipient's moves out of it in the
    invoices service's lifecycle table. Neither: every status ``traiter/recue`` may set."""
    body = await read_body(request, "recupererEtatsTraitement")
    field = next((k for k in ("idFacture", "identifiantFactureCPP") if k in body), "")
    current = body.get("statutCourant") or ""
    if field:
        with fields_named({"cpp_id": field, "invoice_id": field}):
            invoice = await request.app.state.clients.invoices.get_invoice(
                body[field], caller.caller
            )
        statuses = [status_name(s) for s in invoice.settable_statuses]
    elif current.strip():
        source = status_value(current, "statutCourant")
        with fields_named({"from_status": "statutCourant"}):
            moves = await request.app.state.clients.invoices.list_status_transitions(
                source, caller.caller
            )
        statuses = [status_name(m.target) for m in moves if m.party == RECIPIENT_PARTY]
    else:
        statuses = list(ref.RECIPIENT_STATUSES)
    return ok(
        listeStatutsPossiblesPourTraitement=[
            {"statutPossiblePourTraitement": status} for status in statuses
        ]
    )


@router.post("/recuperer/etat/typedp")
async def payment_request_states(request: Request, caller: Technical) -> dict:
    await read_body(request, REFERENTIAL)
    return ok(
        listeEtatDemandePaiement=[
            {"etatDemandePaiement": state} for state in ref.PAYMENT_REQUEST_STATES
        ]
    )


@router.post("/recuperer/typedp")
async def payment_request_types(request: Request, caller: Technical) -> dict:
    await read_body(request, REFERENTIAL)
    return ok(
        listeTypeDemandePaiement=[
            {"typeDemandePaiement": kind} for kind in ref.PAYMENT_REQUEST_TYPES
        ]
    )


@router.post("/recuperer/cadrefacturation")
async def frameworks(request: Request, caller: Technical) -> dict:
    await read_body(request, REFERENTIAL)
    return ok(listeCadreFacturation=[{"codeCadreFacturation": code} for code in ref.FRAMEWORKS])


@router.post("/recuperer/typeidentifiant/structure")
async def identifier_types(request: Request, caller: Technical) -> dict:
    await read_body(request, REFERENTIAL)
    return ok(
        listeTypeIdentifiant=[{"typeIdentifiantStructure": kind} for kind in ref.IDENTIFIER_TYPES]
    )
