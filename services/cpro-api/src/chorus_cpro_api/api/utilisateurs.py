"""``/cpro/utilisateurs/v1/monCompte/recuperer/rattachements``: the structures the technical
account is attached to (structures' ``ListMyMemberships``: its own structure, role
``ROLE_COMPTE_TECHNIQUE``), with their services, as go-choruspro reads them
(``utilisateurs_rattachements.go``; service dates ``YYYY-MM-DD HH:MM``)."""

from __future__ import annotations

from typing import Any

from chorus.structures.v1 import structures_service_pb2 as pb
from fastapi import APIRouter, Request

from chorus_cpro_api.api.structures import SERVICE_END, identifier_type
from chorus_cpro_api.edge.bodies import read_body
from chorus_cpro_api.edge.credentials import Technical
from chorus_cpro_api.edge.envelope import ok
from chorus_cpro_api.edge.formats import service_datetime
from chorus_cpro_api.edge.paging import page_request, page_result, slice_of

router = APIRouter(prefix="/cpro/utilisateurs/v1")


def role_name(role: int) -> str:
    return pb.Role.Name(role).removeprefix("ROLE_")


def _service(service: pb.StructureService) -> dict[str, Any]:
    return {
        "idService": service.cpp_id,
        "codeService": service.code,
        "libelleService": service.name,
        "estActif": service.active,
        "statutService": "ACTIF" if service.active else "INACTIF",
        "statutRattachementService": "VALIDEE",
        "idRattachementService": service.cpp_id,
        "dateDbtService": service_datetime(service.created_at),
        "dateFinService": SERVICE_END,
    }


@router.post("/monCompte/recuperer/rattachements")
async def my_attachments(request: Request, caller: Technical) -> dict:
    """``listeStructureRattachement`` (every membership is validated: a pending request is no
    attachment), paged by ``parametresRecherche``. A membership limited to no service is to
    the whole structure: every service of it is listed."""
    body = await read_body(request, "recupererRattachementsMonCompteUtilisateur")
    page = page_request(body.get("parametresRecherche"))
    memberships = await request.app.state.clients.structures.list_my_memberships(caller.caller)
    lines = []
    for membership in memberships:
        structure = membership.structure
        services = list(membership.services) or list(structure.services)
        lines.append(
            {
                "idStructure": structure.cpp_id,
                "identifiantStructure": structure.identifier,
                "typeIdentifiantStructure": identifier_type(structure.identifier_type),
                "designationStructure": structure.raison_sociale or structure.libelle,
                "roleUtilisateur": role_name(membership.role),
                "statutUtilisateur": "ACTIF",
                "statutRattachementStructure": "VALIDEE",
                "idRattachementStructure": structure.cpp_id,
                "listeServicesRattache": [_service(s) for s in services],
            }
        )
    return ok(
        listeStructureRattachement=slice_of(lines, page),
        parametresRetour=page_result(page, len(lines)),
    )
