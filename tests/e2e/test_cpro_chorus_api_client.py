"""The unchanged ``chorus-api`` package from PyPI (1.0.6, a dev dependency) against the whole
stack, its ``auth_url`` and ``api_url`` pointed at the gateway's address: token, health-check,
a Factur-X and a UBL flow, their reports, the invoices of a flow, the history (posted as OCA
does, with chorus-api's own headers), structure search, consultation and services.

chorus-api is synchronous (requests): each call runs in a thread, the event loop (and the
stack's mail catcher in it) keeps running.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid

import pytest
import requests
from chorusapi.client import ChorusAPI
from chorusapi.constants.syntax_flux_constant import SyntaxFlux
from chorusapi.exceptions.exception import ChorusApiException
from cpro_e2e_support import CproParty, cpro_party, facturx_invoice, ubl_invoice

pytestmark = pytest.mark.asyncio(loop_scope="session")


def connected(gateway_url: str, party: CproParty) -> ChorusAPI:
    """chorus-api as an integrator configures it, with the two URLs changed."""
    client = ChorusAPI(
        party.client_id,
        party.client_secret,
        tech_username=party.login,
        tech_password=party.password,
        sandbox=True,
    )
    client.auth_url = f"{gateway_url}/api/oauth/token"
    client.api_url = gateway_url
    return client.auth()


async def test_chorus_api_from_token_to_history(gateway_url, api, mailbox):
    supplier, recipient = await asyncio.gather(
        cpro_party(api, mailbox, public=False, name="Atelier ERP SARL"),
        cpro_party(api, mailbox, public=True, name="Mairie ERP"),
    )
    client = await asyncio.to_thread(connected, gateway_url, supplier)
    assert client.get_token()

    health = await asyncio.to_thread(client.health_check)
    assert (health.status_code_value, health.status_code) == (200, "OK")

    # A Factur-X flow with chorus-api's default syntax, then a UBL one.
    number_fx, number_ubl = (f"ERP-{uuid.uuid4().hex[:8]}" for _ in range(2))
    facturx = base64.b64encode(facturx_invoice(supplier, recipient, number_fx)).decode()
    deposited_fx = await asyncio.to_thread(client.deposer_flux, facturx, "facture.pdf")
    ubl = base64.b64encode(ubl_invoice(supplier, recipient, number_ubl)).decode()
    deposited_ubl = await asyncio.to_thread(
        client.deposer_flux, ubl, "facture.xml", False, SyntaxFlux.IN_DP_E1_UBL_INVOICE
    )
    for deposited in (deposited_fx, deposited_ubl):
        assert deposited.code_retour == 0
        assert re.fullmatch(r"CPP\d{22}", deposited.numero_flux_depot)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", deposited.date_depot)  # PY-TR's strptime

    # The reports are final at once: no "retry in 30 s".
    report = await asyncio.to_thread(client.consulter_cr, deposited_fx.numero_flux_depot)
    assert report.etat_courant_flux == "IN_INTEGRE"
    detailed = await asyncio.to_thread(
        client.consulter_cr_detaille, deposited_ubl.numero_flux_depot
    )
    assert detailed.etat_courant_depot_flux == "IN_INTEGRE"
    assert detailed.liste_erreur_dp == []

    # The invoices of a flow, by its number.
    found = await asyncio.to_thread(client.rechercher_facture, deposited_ubl.numero_flux_depot)
    assert found.code_retour == 0
    (invoice,) = found.liste_factures
    assert invoice.numero_facture == number_ubl
    assert invoice.numero_flux_depot == deposited_ubl.numero_flux_depot
    assert isinstance(invoice.identifiant_facture_cpp, int)

    # The history, as OCA asks for it, with chorus-api's headers.
    def history() -> dict:
        response = requests.post(
            f"{gateway_url}/cpro/factures/v1/consulter/historique",
            headers=client._make_headers(),
            data=json.dumps({"idFacture": invoice.identifiant_facture_cpp}),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    answer = await asyncio.to_thread(history)
    assert answer["idFacture"] == invoice.identifiant_facture_cpp
    assert answer["statutCourantCode"] in ("DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION")
    assert answer["historiquesDesStatuts"]["histoStatut"][-1]["histoStatutCode"] == "DEPOSEE"

    # Structures: search by SIRET, consultation, services.
    structures = await asyncio.to_thread(client.rechercher_structure, recipient.siret)
    (structure,) = structures.liste_structures
    assert structure.identifiant_structure == recipient.siret
    consulted = await asyncio.to_thread(client.consulter_structure, structure.id_structure_cpp)
    assert consulted.code_retour == 0
    assert consulted.information_generales.identifiant_structure == recipient.siret
    assert consulted.information_generales.structure_privee_publique == "PUBLIQUE"
    assert consulted.parametres.code_service_doit_etre_renseigne is False
    services = await asyncio.to_thread(client.rechercher_services, structure.id_structure_cpp)
    assert services.code_retour == 0 and isinstance(services.liste_structures, list)
    currencies = await asyncio.to_thread(client.devises)
    assert "EUR" in {c.code_devise for c in currencies.liste_devises}


async def test_chorus_api_sees_which_credential_is_wrong(gateway_url, api, mailbox):
    party = await cpro_party(api, mailbox, public=False, name="Mauvais Mot SARL")
    party.password += "x"
    client = await asyncio.to_thread(connected, gateway_url, party)  # the token is fine
    with pytest.raises(ChorusApiException) as refused:
        await asyncio.to_thread(client.health_check)
    assert "INVALID_PASSWORD" in str(refused.value) and "cpro-account" in str(refused.value)
    party.client_secret = "not-the-secret"
    with pytest.raises(ChorusApiException) as bad_client:
        await asyncio.to_thread(connected, gateway_url, party)
    assert "invalid_client" in str(bad_client.value)
