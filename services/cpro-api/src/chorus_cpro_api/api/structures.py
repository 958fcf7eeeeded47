"""``/cpro/structures/v1``: the directory as Chorus Pro's Structures API shows it.

| operation | structures RPC |
|---|---|
| ``rechercher`` | ``SearchStructures`` by page number, the Swagger's criteria |
| ``consulter`` | ``GetStructure`` by ``cpp_id`` (``idStructureCPP``) |
| ``rechercher/services`` | ``ListServices`` by the structure's ``cpp_id`` |
| ``consulter/service`` | ``GetService`` by ``cpp_id`` (``idService``) |
| ``rechercher/espaces`` | ``ListSpaces`` by the structure's ``cpp_id`` |

Visibility is structures' rule (public structures and the technical account's own; a private
structure otherwise only by its exact identifier): what it does not find is 404 ``codeRetour``
20006, whether unknown or not visible.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Request

from chorus_cpro_api.edge.bodies import as_object, read_body, required
from chorus_cpro_api.edge.credentials import Technical, TechnicalCaller
from chorus_cpro_api.edge.envelope import NOT_FOUND, CproError, fields_named, invalid_field, ok
from chorus_cpro_api.edge.formats import service_datetime, timestamp
from chorus_cpro_api.edge.paging import page_request, page_result

router = APIRouter(prefix="/cpro/structures/v1")

SERVICE_END = "2050-12-31 00:00"
"""``dateFinService`` of a service without an end (what Chorus Pro itself answers)."""


def identifier_type(value: int) -> str:
    return pb.IdentifierType.Name(value).removeprefix("IDENTIFIER_TYPE_")


def kind_name(value: int) -> str | None:
    name = pb.StructureKind.Name(value).removeprefix("STRUCTURE_KIND_")
    return None if name == "UNSPECIFIED" else name


def status_name(value: int) -> str:
    name = pb.StructureStatus.Name(value).removeprefix("STRUCTURE_STATUS_")
    return "ACTIVE" if name == "UNSPECIFIED" else name


def structure_summary(structure: pb.Structure) -> dict[str, Any]:
    """``StructureAAfficher``: one line of a structure search."""
    return {
        "idStructureCPP": structure.cpp_id,
        "identifiantStructure": structure.identifier,
        "typeIdentifiantStructure": identifier_type(structure.identifier_type),
        "designationStructure": structure.raison_sociale or structure.libelle,
        "statut": status_name(structure.status),
    }


def address(structure: pb.Structure) -> dict[str, Any]:
    """``AdressePostale``."""
    place = structure.address
    return {
        "adresse": place.line1,
        "complementAdresse1": place.line2,
        "complementAdresse2": "",
        "codePostal": place.postal_code,
        "ville": place.city,
        "pays": place.country,
        "telephone": "",
        "indicatifTelephone": "",
        "fax": "",
        "indicatifFax": "",
    }


def service_line(service: pb.StructureService) -> dict[str, Any]:
    """``ServiceExpose`` with the dates OCA's connector reads (``YYYY-MM-DD HH:MM``)."""
    return {
        "idService": service.cpp_id,
        "codeService": service.code,
        "libelleService": service.name,
        "estActif": service.active,
        "statutService": "ACTIF" if service.active else "INACTIF",
        "dateDbtService": service_datetime(service.created_at),
        "dateFinService": SERVICE_END,
    }


_SEARCH_FIELDS = {
    "identifier": "structure.identifiantStructure",
    "identifier_type": "structure.typeIdentifiantStructure",
    "name": "structure.raisonSocialeStructure",
    "postal_code": "structure.adresseCodePostal",
    "city": "structure.adresseVille",
    "country": "structure.adresseCodePays",
    "kind": "structure.typeStructure",
    "status": "structure.statutStructure",
    "page_size": "parametres.nbResultatsParPage",
    "page_number": "parametres.pageResultatDemandee",
}


@router.post("/rechercher")
async def search_structures(request: Request, caller: Technical) -> dict:
    """``rechercherStructure``: ``listeStructures`` and a true ``parametresRetour``. Words of
    ``raisonSocialeStructure``, ``libelleStructure``, ``nomStructure`` and
    ``prenomStructure`` must all appear in the raison sociale or the libellé;
    ``restreindreStructuresPrivees`` keeps public structures only; the MOA flags and the sort
    are ignored (Chorus has no MOA; results come in the directory's order)."""
    body = await read_body(request, "rechercherStructure")
    criteria = as_object(body.get("structure"))
    page = page_request(body.get("parametres"), "parametres")
    search = pb.SearchStructuresRequest(page_number=page.number, page_size=page.size)
    if kind := criteria.get("typeIdentifiantStructure"):
        search.identifier_type = pb.IdentifierType.Value(f"IDENTIFIER_TYPE_{kind}")
    if identifier := (criteria.get("identifiantStructure") or "").strip():
        search.identifier = identifier
    words = [
        criteria.get(key, "").strip()
        for key in ("raisonSocialeStructure", "libelleStructure", "nomStructure", "prenomStructure")
    ]
    if name := " ".join(w for w in words if w):
        search.name = name
    if kind := criteria.get("typeStructure"):
        search.kind = pb.StructureKind.Value(f"STRUCTURE_KIND_{kind}")
    if body.get("restreindreStructuresPrivees") is True:
        if search.kind == pb.STRUCTURE_KIND_PRIVEE:
            return ok(listeStructures=[], parametresRetour=page_result(page, 0))
        search.kind = pb.STRUCTURE_KIND_PUBLIQUE
    if status := criteria.get("statutStructure"):
        search.status = (
            pb.STRUCTURE_STATUS_ACTIVE if status == "ACTIF" else pb.STRUCTURE_STATUS_INACTIVE
        )
    search.postal_code = (criteria.get("adresseCodePostal") or "").strip()
    search.city = (criteria.get("adresseVille") or "").strip()
    search.country = (criteria.get("adresseCodePays") or "").strip().upper()
    with fields_named(_SEARCH_FIELDS):
        found = await request.app.state.clients.structures.search_structures(search, caller.caller)
    return ok(
        listeStructures=[structure_summary(s) for s in found.structures],
        parametresRetour=page_result(page, found.total_size),
    )


@router.post("/consulter")
async def get_structure(request: Request, caller: Technical) -> dict:
    """``consulterStructureAvecTVAIntraCom``: ``informationGenerales``,
    ``adressePostaleDuSiege`` and the routing ``parametres`` (what OCA's connector derives
    "service or engagement required" from). For the technical account's own structure,
    ``dateExpirationMotPasseCompteTech`` is its password's expiry."""
    body = await read_body(request, "consulterStructureAvecTVAIntraCom")
    cpp_id = required(body, "idStructureCPP")
    with fields_named({"cpp_id": "idStructureCPP"}):
        structure = await request.app.state.clients.structures.get_structure(
            pb.GetStructureRequest(cpp_id=cpp_id), caller.caller
        )
    own = structure.id == caller.structure_id
    expiry = caller.account.password_expires_at if own else None
    general: dict[str, Any] = {
        "idStructureCPP": structure.cpp_id,
        "identifiantStructure": structure.identifier,
        "typeIdentifiantStructure": identifier_type(structure.identifier_type),
        "raisonSocialeStructure": structure.raison_sociale,
        "libelleStructure": structure.libelle,
        "nomStructure": "",
        "prenomStructure": "",
        "numeroTVA": structure.vat_number,
        "emailStructure": structure.email,
        "numeroRcsStructure": "",
        "estValideurDeleguee": False,
        "listeStructureDupliquees": [],
    }
    if kind := kind_name(structure.kind):
        general["structurePriveePublique"] = kind
    if expiry is not None:
        general["dateExpirationMotPasseCompteTech"] = timestamp(
            dt.datetime.fromtimestamp(expiry, tz=dt.UTC)
        )
    routing = structure.routing
    return ok(
        informationGenerales=general,
        adressePostaleDuSiege=address(structure),
        parametres={
            "codeServiceDoitEtreRenseigne": routing.service_code_required,
            "numeroEJDoitEtreRenseigne": routing.engagement_required,
            "gestionNumeroEJOuCodeService": routing.service_or_engagement_required,
            "statutMiseEnPaiementNestPasRemonte": routing.payment_status_not_reported,
            "connexionEDI": False,
            "recevoirDonneesViaEDI": False,
            "estMoaUniquement": False,
            "getaMoa": False,
            "aMoa": False,
            "estValideurDelegue": False,
            "nonDiffusibleInsee": False,
        },
    )


@router.post("/rechercher/services")
async def list_services(request: Request, caller: Technical) -> dict:
    """``rechercherServicesStructure``: ``listeServices`` of a structure, paged (10 by
    default, 1,000 at most per page, ``parametresRetour`` true)."""
    body = await read_body(request, "rechercherServicesStructure")
    cpp_id = required(body, "idStructure")
    page = page_request(body.get("parametresRechercherServicesStructure"))
    with fields_named(
        {
            "structure_cpp_id": "idStructure",
            "page_size": "parametresRechercherServicesStructure.nbResultatsParPage",
        }
    ):
        found = await request.app.state.clients.structures.list_services(
            pb.ListServicesRequest(
                structure_cpp_id=cpp_id, page_number=page.number, page_size=page.size
            ),
            caller.caller,
        )
    return ok(
        listeServices=[service_line(s) for s in found.services],
        parametresRetour=page_result(page, found.total_size),
    )


@router.post("/consulter/service")
async def get_service(request: Request, caller: Technical) -> dict:
    """``consulterServiceStructure``: ``informationsGenerales``, ``parametres``
    (``numeroEngagement``: an engagement number is required for this service, what OCA reads)
    and the structure's address."""
    body = await read_body(request, "consulterServiceStructure")
    service_id = required(body, "idService")
    lookup = pb.GetServiceRequest(cpp_id=service_id)
    if body.get("idStructure") is not None:
        lookup.structure_cpp_id = body["idStructure"]
    with fields_named({"cpp_id": "idService", "structure_cpp_id": "idStructure"}):
        found = await request.app.state.clients.structures.get_service(lookup, caller.caller)
    service, structure = found.service, found.structure
    routing = structure.routing
    return ok(
        informationsGenerales={
            "codeService": service.code,
            "nomService": service.name,
            "descriptionService": service.name,
        },
        parametres={
            "numeroEngagement": service.engagement_required or routing.engagement_required,
            "miseEnPaiement": not routing.payment_status_not_reported,
            "dateCreation": timestamp(service.created_at),
            "dateDebutValidite": timestamp(service.created_at),
            "dateModification": timestamp(service.created_at),
        },
        adressePostale=address(structure),
        pageCourante=1,
        pages=1,
        nbResultatsParPage=1,
        total=1,
    )


_SPACE_LABELS = {
    pb.SPACE_FACTURES_EMISES: "Factures émises",
    pb.SPACE_FACTURES_RECUES: "Factures reçues",
    pb.SPACE_SOLLICITATIONS_EMISES: "Sollicitations émises",
    pb.SPACE_SOLLICITATIONS_RECUES: "Sollicitations reçues",
    pb.SPACE_ACTIVITES_GESTIONNAIRE: "Activités du gestionnaire",
    pb.SPACE_MON_COMPTE: "Mon compte",
    pb.SPACE_ENGAGEMENTS: "Engagements",
    pb.SPACE_FACTURES_TRAVAUX: "Factures de travaux",
    pb.SPACE_FACTURES_A_VALIDER: "Factures à valider",
    pb.SPACE_SUIVI_FLUX: "Suivi des flux",
    pb.SPACE_MEMOIRES_FRAIS_JUSTICE: "Mémoires de frais de justice",
    pb.SPACE_REMBOURSEMENT_TIC: "Remboursement TIC",
}


@router.post("/rechercher/espaces")
async def list_spaces(request: Request, caller: Technical) -> dict:
    """``rechercherEspaces``: the spaces of a structure (``structure.idStructure``; by
    default the technical account's own) as the technical account sees them: ``etatCourant``
    ``ACTIVE`` when open (``SUPPRIME`` when closed), ``typeHabilitation`` its mode.
    ``codeEspace`` is the space's number, ``idEspaceFo`` = structure id × 100 + that number."""
    body = await read_body(request, "rechercherEspaces")
    target = as_object(body.get("structure"))
    page = page_request(body.get("parametresRechercherEspaces"))
    structures = request.app.state.clients.structures
    lookup = pb.ListSpacesRequest()
    if target.get("idStructure") is not None:
        lookup.structure_cpp_id = target["idStructure"]
    elif identifier := (target.get("identifiantStructure") or "").strip():
        structure_cpp_id = await _cpp_id_of(request, caller, identifier, target)
        lookup.structure_cpp_id = structure_cpp_id
    else:
        lookup.structure_id = caller.structure_id
    with fields_named({"structure_cpp_id": "structure.idStructure"}):
        spaces = await structures.list_spaces(lookup, caller.caller)
        structure = await structures.get_structure(
            pb.GetStructureRequest(structure_id=caller.structure_id)
            if lookup.structure_id
            else pb.GetStructureRequest(cpp_id=lookup.structure_cpp_id),
            caller.caller,
        )
    service: dict[str, Any] = {}
    if body.get("idService") is not None:
        match = next((s for s in structure.services if s.cpp_id == body["idService"]), None)
        if match is None:
            raise invalid_field("idService", "service inconnu dans cette structure.")
        service = {
            "idService": match.cpp_id,
            "codeService": match.code,
            "libelleService": match.name,
        }
    lines = []
    for state in spaces:
        line: dict[str, Any] = {
            "idEspaceFo": structure.cpp_id * 100 + state.space,
            "codeEspace": int(state.space),
            "libelleEspace": _SPACE_LABELS.get(state.space, pb.Space.Name(state.space)),
            "etatCourant": "ACTIVE" if state.open else "SUPPRIME",
            **service,
        }
        if state.access_mode == pb.ACCESS_MODE_MODIFICATION:
            line["typeHabilitation"] = "MODIFICATION"
        elif state.access_mode == pb.ACCESS_MODE_CONSULTATION:
            line["typeHabilitation"] = "CONSULTATION_UNIQUEMENT"
        lines.append(line)
    total = len(lines)
    start = (page.number - 1) * page.size
    return ok(
        listeEspace=lines[start : start + page.size], parametresRetour=page_result(page, total)
    )


async def _cpp_id_of(
    request: Request, caller: TechnicalCaller, identifier: str, target: dict[str, Any]
) -> int:
    """The integer id of the structure with this identifier (exact look-up)."""
    search = pb.SearchStructuresRequest(page_number=1, page_size=1, identifier=identifier)
    if kind := target.get("typeIdentifiantStructure"):
        search.identifier_type = pb.IdentifierType.Value(f"IDENTIFIER_TYPE_{kind}")
    with fields_named(
        {
            "identifier": "structure.identifiantStructure",
            "identifier_type": "structure.typeIdentifiantStructure",
        }
    ):
        found = await request.app.state.clients.structures.search_structures(search, caller.caller)
    if not found.structures:
        raise CproError(
            NOT_FOUND,
            "Structure introuvable, ou non visible avec ce compte technique.",
            "STRUCTURE_NOT_FOUND",
        )
    return found.structures[0].cpp_id
