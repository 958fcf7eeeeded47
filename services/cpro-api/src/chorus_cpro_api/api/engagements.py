"""``/cpro/engagementsJuridiques/v1/rechercher``: legal commitments (purchase orders) are not
modelled yet, so every search answers an empty list in the envelope (OCA's connector, which
checks a commitment number here, then reports it as not found)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from chorus_cpro_api.edge.bodies import read_body
from chorus_cpro_api.edge.credentials import Technical
from chorus_cpro_api.edge.envelope import ok
from chorus_cpro_api.edge.paging import page_request, page_result

router = APIRouter(prefix="/cpro/engagementsJuridiques/v1")


@router.post("/rechercher")
async def search_commitments(request: Request, caller: Technical) -> dict:
    body = await read_body(request, "rechercherEngagementJuridique")
    page = page_request(body.get("parametresRecherche"), "parametresRecherche")
    return ok(listeEngagementJuridique=[], parametresRetour=page_result(page, 0))
