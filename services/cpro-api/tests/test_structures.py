"""``structures/v1``, ``utilisateurs/v1``, the reference lists, the health check and
``engagementsJuridiques/v1`` against the real stack."""

from __future__ import annotations

import re

import pytest
from cpro_support import cpp_id_of, ok

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = "/cpro/structures/v1"
T = "/cpro/transverses/v1"


async def test_search_finds_a_structure_by_siret_as_chorus_api_and_oca_ask(
    cpro, supplier, recipient
):
    for caller, target in ((supplier, recipient), (recipient, recipient), (supplier, supplier)):
        answer = await ok(
            await cpro.post(
                f"{S}/rechercher",
                json={
                    "structure": {
                        "identifiantStructure": target.siret,
                        "typeIdentifiantStructure": "SIRET",
                    },
                    "restreindreStructuresPrivees": False,
                },
                headers=caller.headers(),
            )
        )
        assert answer["parametresRetour"]["total"] == 1  # what PY-FE checks
        (found,) = answer["listeStructures"]
        assert found["identifiantStructure"] == target.siret
        assert found["typeIdentifiantStructure"] == "SIRET"
        assert found["statut"] == "ACTIVE"
        assert isinstance(found["idStructureCPP"], int)
        assert found["designationStructure"] == target.structure["raison_sociale"]


async def test_a_search_finding_nothing_is_an_empty_list_with_true_pages(cpro, supplier):
    # OCA 18's "Test API" button.
    answer = await ok(
        await cpro.post(
            f"{S}/rechercher",
            json={"structure": {"nomStructure": "This is just a test"}},
            headers=supplier.headers(),
        )
    )
    assert answer["listeStructures"] == []
    assert answer["parametresRetour"] == {
        "pageCourante": 1, "pages": 0, "nbResultatsParPage": 10, "total": 0
    }  # fmt: skip


async def test_a_private_structure_is_found_only_by_its_exact_identifier(cpro, supplier, recipient):
    by_name = await ok(
        await cpro.post(
            f"{S}/rechercher",
            json={"structure": {"raisonSocialeStructure": supplier.structure["raison_sociale"]},
                  "restreindreStructuresPrivees": True},
            headers=recipient.headers(),
        )
    )  # fmt: skip
    assert supplier.siret not in {s["identifiantStructure"] for s in by_name["listeStructures"]}


async def test_consulter_gives_the_routing_parameters_and_the_own_password_expiry(
    cpro, supplier, recipient
):
    own_id = await cpp_id_of(cpro, supplier, supplier)
    own = await ok(
        await cpro.post(
            f"{S}/consulter",
            json={"idStructureCPP": own_id, "codeLangue": "fr"},
            headers=supplier.headers(),
        )
    )
    general = own["informationGenerales"]
    assert general["idStructureCPP"] == own_id
    assert general["identifiantStructure"] == supplier.siret
    assert general["structurePriveePublique"] == "PRIVEE"
    assert re.match(r"^\d{4}-\d{2}-\d{2}T", general["dateExpirationMotPasseCompteTech"])
    assert own["adressePostaleDuSiege"]["codePostal"] == "75002"
    other = await ok(
        await cpro.post(
            f"{S}/consulter",
            json={"idStructureCPP": await cpp_id_of(cpro, supplier, recipient)},
            headers=supplier.headers(),
        )
    )
    assert other["informationGenerales"]["structurePriveePublique"] == "PUBLIQUE"
    assert "dateExpirationMotPasseCompteTech" not in other["informationGenerales"]
    parametres = other["parametres"]
    for flag in (
        "codeServiceDoitEtreRenseigne",
        "numeroEJDoitEtreRenseigne",
        "gestionNumeroEJOuCodeService",
        "statutMiseEnPaiementNestPasRemonte",
    ):
        assert isinstance(parametres[flag], bool)
    missing = await cpro.post(f"{S}/consulter", json={}, headers=supplier.headers())
    assert (missing.status_code, missing.json()["codeRetour"]) == (400, 20002)
    unknown = await cpro.post(
        f"{S}/consulter", json={"idStructureCPP": 2**40}, headers=supplier.headers()
    )
    assert (unknown.status_code, unknown.json()["codeRetour"]) == (404, 20006)


async def test_services_of_a_structure_and_one_service(cpro, supplier, recipient, api):
    created = await ok(
        await api.post(
            f"/structures/{recipient.structure['id']}/services",
            headers=recipient.manager,
            json={"code": "SERV-CPRO", "name": "Service des achats"},
        ),
        201,
    )
    assert created
    structure_id = await cpp_id_of(cpro, supplier, recipient)
    listed = await ok(
        await cpro.post(
            f"{S}/rechercher/services",
            json={
                "idStructure": structure_id,
                "parametresRechercherServicesStructure": {"nbResultatsParPage": 10000},
            },
            headers=supplier.headers(),
        )
    )
    assert listed["parametresRetour"]["nbResultatsParPage"] == 1000  # capped, and said
    service = next(s for s in listed["listeServices"] if s["codeService"] == "SERV-CPRO")
    assert service["estActif"] is True and service["libelleService"] == "Service des achats"
    assert re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$", service["dateDbtService"])
    one = await ok(
        await cpro.post(
            f"{S}/consulter/service",
            json={"idStructure": structure_id, "idService": service["idService"]},
            headers=supplier.headers(),
        )
    )
    assert one["informationsGenerales"]["codeService"] == "SERV-CPRO"
    assert one["parametres"]["numeroEngagement"] is False
    mismatch = await cpro.post(
        f"{S}/consulter/service",
        json={
            "idStructure": await cpp_id_of(cpro, supplier, supplier),
            "idService": service["idService"],
        },
        headers=supplier.headers(),
    )
    assert (mismatch.status_code, mismatch.json()["codeRetour"]) == (404, 20006)


async def test_spaces_and_attachments_of_the_technical_account(cpro, supplier):
    spaces = await ok(
        await cpro.post(f"{S}/rechercher/espaces", json={}, headers=supplier.headers())
    )
    by_code = {s["codeEspace"]: s for s in spaces["listeEspace"]}
    issued = by_code[1]  # FACTURES_EMISES
    assert (issued["etatCourant"], issued["typeHabilitation"]) == ("ACTIVE", "MODIFICATION")
    assert spaces["parametresRetour"]["total"] == len(spaces["listeEspace"]) or (
        spaces["parametresRetour"]["total"] > 10
    )
    attachments = await ok(
        await cpro.post(
            "/cpro/utilisateurs/v1/monCompte/recuperer/rattachements",
            json={"parametresRecherche": {"nbResultatsParPage": 50}},
            headers=supplier.headers(),
        )
    )
    (only,) = attachments["listeStructureRattachement"]
    assert only["identifiantStructure"] == supplier.siret
    assert only["roleUtilisateur"] == "COMPTE_TECHNIQUE"
    assert only["statutRattachementStructure"] == "VALIDEE"
    assert attachments["parametresRetour"]["total"] == 1


@pytest.mark.parametrize(
    ("path", "key", "probe"),
    [
        ("recuperer/tauxtva", "listeTauxTva", {"codeTauxTva": "TVA_20"}),
        ("recuperer/devises", "listeDevises", {"codeDevise": "EUR", "libelleDevise": "Euro"}),
        ("recuperer/pays", "listePays", {"codePays": "FR", "libellePays": "France"}),
        ("recuperer/modereglements", "listeModePaiement", {"modePaiement": "VIREMENT"}),
        ("recuperer/formatflux", "listeFormatFlux", {"formatFlux": "IN_DP_E1_CII_16B"}),
        ("recuperer/typespj", "listeTypePieceJointe", {"codeTypePieceJointe": "FACTURE"}),
        (
            "recuperer/etats/traitement",
            "listeStatutsPossiblesPourTraitement",
            {"statutPossiblePourTraitement": "REJETEE"},
        ),
        ("recuperer/motifs/exonerationtva", "listeMotifsExonerationTva", {}),
        ("recuperer/modedepot", "listeModeDepot", {"modeDepot": "SAISIE_API"}),
        ("recuperer/cadrefacturation", "listeCadreFacturation", {}),
        ("recuperer/typedp", "listeTypeDemandePaiement", {}),
        ("recuperer/etat/typedp", "listeEtatDemandePaiement", {}),
        ("recuperer/typeidentifiant/structure", "listeTypeIdentifiant", {}),
    ],
)
async def test_reference_lists(cpro, supplier, path, key, probe):
    answer = await ok(
        await cpro.post(f"{T}/{path}", json={"codeLangue": "fr"}, headers=supplier.headers())
    )
    assert answer["codeRetour"] == 0 and isinstance(answer[key], list) and answer[key]
    if probe:
        assert any(probe.items() <= item.items() for item in answer[key]), answer[key][:3]


async def test_reference_lists_take_an_empty_body_and_refuse_a_bad_one(cpro, supplier):
    # Pastell's connectivity test posts {} to tauxtva; an empty body is {} too.
    assert (
        await cpro.post(f"{T}/recuperer/tauxtva", content=b"", headers=supplier.headers())
    ).status_code == 200
    bad = await cpro.post(f"{T}/recuperer/pays", content=b"[1]", headers=supplier.headers())
    assert (bad.status_code, bad.json()["codeRetour"]) == (400, 20002)
    english = await ok(
        await cpro.post(
            f"{T}/recuperer/pays", json={"codeLangue": "EN"}, headers=supplier.headers()
        )
    )
    assert {"codePays": "DE", "libellePays": "Germany"} in english["listePays"]


async def test_health_check_is_the_spring_shape_with_both_credentials(cpro, supplier):
    answer = await ok(await cpro.get(f"{T}/health-check", headers=supplier.headers()))
    assert (answer["statusCodeValue"], answer["statusCode"]) == (200, "OK")
    assert answer["body"] and answer["codeRetour"] == 0
    anonymous = await cpro.get(f"{T}/health-check")
    assert anonymous.status_code == 401


async def test_commitments_are_an_empty_list(cpro, supplier, recipient):
    # OCA's commitment check.
    answer = await ok(
        await cpro.post(
            "/cpro/engagementsJuridiques/v1/rechercher",
            json={
                "structureReceptriceEngagementJuridique": recipient.siret,
                "numeroEngagementJuridique": "EJ-1",
                "etatCourantEngagementJuridique": "COMMANDE",
            },
            headers=supplier.headers(),
        )
    )
    assert answer["listeEngagementJuridique"] == []
    assert answer["parametresRetour"]["total"] == 0
