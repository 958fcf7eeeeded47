"""Searching, reading and processing invoices through the Chorus Pro API against the real
stack, both sides: the supplier's and the recipient's technical accounts, one id per invoice
everywhere, true pages, the history, the recipient's statuses with and without ``motif``, the
supplier's completion, recycling and acknowledgement, downloads, and another structure's
invoice out of sight."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
import pytest_asyncio
from cpro_support import Party, deposit, ok

pytestmark = pytest.mark.asyncio(loop_scope="session")

F = "/cpro/factures/v1"


@pytest_asyncio.fixture(loop_scope="session")
async def invoice(cpro, supplier, recipient) -> dict:
    return (await deposit(cpro, supplier, recipient))[0]


async def history(cpro, party: Party, cpp_id: int) -> dict:
    return await ok(
        await cpro.post(
            f"{F}/consulter/historique", json={"idFacture": cpp_id}, headers=party.headers()
        )
    )


async def test_one_invoice_one_id_on_both_sides(cpro, supplier, recipient, invoice):
    cpp_id = invoice["idFacture"]
    issued = await ok(
        await cpro.post(
            f"{F}/consulter/fournisseur",
            json={"identifiantFactureCPP": cpp_id, "codeLangue": "fr"},
            headers=supplier.headers(),
        )
    )
    received = await ok(
        await cpro.post(
            f"{F}/consulter/recipiendaire",
            json={"identifiantFactureCPP": cpp_id},
            headers=recipient.headers(),
        )
    )
    for facture in (issued["facture"], received["facture"]):
        assert facture["identifiantFactureCPP"] == cpp_id
        assert facture["numeroFacture"] == invoice["numeroFacture"]
        assert facture["statutFacture"] == "MISE_A_DISPOSITION"
        assert facture["fournisseur"]["codeFournisseur"] == supplier.siret
        assert facture["destinataire"]["codeDestinataire"] == recipient.siret
        assert facture["montantTotal"]["montantTtcTotal"] == 1080.0
        assert facture["references"]["dateFacture"] == "2026-01-15"
        assert facture["lignesDePoste"]["totalLignesPoste"] == 1
        assert facture["recapitulatifDeTva"]["ligneTva"][0]["ligneTvaMontantTvaParTaux"] == 180.0
    issued_list = await ok(
        await cpro.post(
            f"{F}/rechercher/fournisseur",
            json={"numeroFacture": invoice["numeroFacture"]},
            headers=supplier.headers(),
        )
    )
    assert issued_list["listeFactures"][0]["identifiantFactureCPP"] == cpp_id


async def test_the_history_says_the_current_status_newest_first(cpro, supplier, invoice):
    answer = await history(cpro, supplier, invoice["idFacture"])
    assert answer["idFacture"] == invoice["idFacture"]  # OCA compares integers
    assert answer["statutCourantCode"] == "MISE_A_DISPOSITION"
    statuses = answer["historiquesDesStatuts"]
    codes = [s["histoStatutCode"] for s in statuses["histoStatut"]]
    assert codes[0] == "MISE_A_DISPOSITION" and codes[-1] == "DEPOSEE"
    assert statuses["totalHistoStatut"] == len(codes)
    limited = await ok(
        await cpro.post(
            f"{F}/consulter/historique",
            json={"idFacture": invoice["idFacture"], "nbResultatsMaximum": 1},
            headers=supplier.headers(),
        )
    )
    assert len(limited["historiquesDesStatuts"]["histoStatut"]) == 1
    assert limited["historiquesDesStatuts"]["totalHistoStatut"] == len(codes)


async def test_another_structure_sees_nothing_and_is_told_the_same_as_for_an_unknown_id(
    cpro, party_factory, invoice
):
    stranger = await party_factory(name="Curieux SARL")
    for path, body in (
        ("consulter/fournisseur", {"identifiantFactureCPP": invoice["idFacture"]}),
        ("consulter/recipiendaire", {"identifiantFactureCPP": invoice["idFacture"]}),
        ("consulter/historique", {"idFacture": invoice["idFacture"]}),
        ("consulter/historique", {"idFacture": 987654321}),
        ("traiter/recue", {"idFacture": invoice["idFacture"], "nouveauStatut": "MANDATEE"}),
        ("telecharger/groupe", {"listeFacture": [{"idFacture": invoice["idFacture"]}]}),
    ):
        response = await cpro.post(f"{F}/{path}", json=body, headers=stranger.headers())
        assert (response.status_code, response.json()["codeRetour"]) == (404, 20006), path
    found = await ok(
        await cpro.post(
            f"{F}/rechercher/fournisseur",
            json={"numeroFacture": invoice["numeroFacture"]},
            headers=stranger.headers(),
        )
    )
    assert found["listeFactures"] == [] and found["parametresRetour"]["total"] == 0


async def test_each_consultation_reads_its_own_side_only(cpro, supplier, recipient, invoice):
    cpp = {"identifiantFactureCPP": invoice["idFacture"]}
    for party, own, other in (
        (supplier, "consulter/fournisseur", "consulter/recipiendaire"),
        (recipient, "consulter/recipiendaire", "consulter/fournisseur"),
    ):
        mine = await ok(await cpro.post(f"{F}/{own}", json=cpp, headers=party.headers()))
        assert mine["facture"]["identifiantFactureCPP"] == invoice["idFacture"], own
        refused = await cpro.post(f"{F}/{other}", json=cpp, headers=party.headers())
        assert (refused.status_code, refused.json()["codeRetour"]) == (404, 20006), other
        (problem,) = refused.json()["erreur"]["champs"]
        assert problem["champ"] == "identifiantFactureCPP"
        assert own.split("/")[1] in problem["message"]


async def test_recipient_search_pages_are_true_and_at_the_top_level_too(cpro, supplier, recipient):
    lines = await deposit(cpro, supplier, recipient, count=3)
    ids = {line["idFacture"] for line in lines}
    seen, page = set(), 1
    while True:
        answer = await ok(
            await cpro.post(
                f"{F}/rechercher/recipiendaire",
                json={"paramRecherche": {"nbResultatsParPage": 2, "pageResultatDemandee": page}},
                headers=recipient.headers(),
            )
        )
        assert answer["parametresRetour"]["pageCourante"] == answer["pageCourante"] == page
        assert answer["pages"] == answer["parametresRetour"]["pages"]
        assert answer["total"] >= 3 and answer["pages"] == -(-answer["total"] // 2)
        seen |= {line["idFacture"] for line in answer["listeFactures"]}
        if page >= answer["pages"]:
            break
        page += 1
    assert ids <= seen
    nothing = await ok(
        await cpro.post(
            f"{F}/rechercher/recipiendaire",
            json={"numeroFacture": "NO-SUCH-INVOICE"},
            headers=recipient.headers(),
        )
    )
    assert (nothing["codeRetour"], nothing["listeFactures"], nothing["total"]) == (0, [], 0)
    to_process = await ok(
        await cpro.post(
            f"{F}/rechercher/atraiter/recipiendaire", json={}, headers=recipient.headers()
        )
    )
    assert ids <= {line["idFacture"] for line in to_process["listeFactures"]} or (
        to_process["parametresRetour"]["total"] > 10
    )


async def test_the_recipient_suspends_with_a_motif_and_the_supplier_completes(
    cpro, supplier, recipient
):
    (line,) = await deposit(cpro, supplier, recipient)
    cpp_id = line["idFacture"]
    without = await cpro.post(
        f"{F}/traiter/recue",
        json={"idFacture": cpp_id, "nouveauStatut": "SUSPENDUE"},
        headers=recipient.headers(),
    )
    assert (without.status_code, without.json()["codeRetour"]) == (400, 20008), without.text
    assert "motif" in {c["champ"] for c in without.json()["erreur"].get("champs", [])} or (
        without.json()["erreur"]["raison"] == "REASON_REQUIRED"
    )
    suspended = await ok(
        await cpro.post(
            f"{F}/traiter/recue",
            json={"idFacture": cpp_id, "nouveauStatut": "SUSPENDUE", "motif": "Bon de commande ?"},
            headers=recipient.headers(),
        )
    )
    assert (suspended["idFacture"], suspended["nouveauStatut"]) == (cpp_id, "SUSPENDUE")
    waiting = await ok(
        await cpro.post(f"{F}/rechercher/atraiter/fournisseur", json={}, headers=supplier.headers())
    )
    assert cpp_id in {i["identifiantFactureCPP"] for i in waiting["listeFactures"]}
    completed = await ok(
        await cpro.post(
            f"{F}/completer",
            json={"identifiantFactureCPP": cpp_id, "commentaire": "Bon de commande BC-42."},
            headers=supplier.headers(),
        )
    )
    assert completed["identifiantFactureCPP"] == cpp_id
    assert (await history(cpro, supplier, cpp_id))["statutCourantCode"] == "COMPLETEE"
    # A move the status machine refuses is 20007; a status Chorus does not have, 20002.
    wrong = await cpro.post(
        f"{F}/completer", json={"identifiantFactureCPP": cpp_id}, headers=supplier.headers()
    )
    assert (wrong.status_code, wrong.json()["codeRetour"]) == (400, 20007)
    unknown = await cpro.post(
        f"{F}/traiter/recue",
        json={"idFacture": cpp_id, "nouveauStatut": "A_VALIDER_1"},
        headers=recipient.headers(),
    )
    assert (unknown.status_code, unknown.json()["codeRetour"]) == (400, 20002)
    # Forward without motif, with a mandate number kept in the history.
    mandated = await ok(
        await cpro.post(
            f"{F}/traiter/recue",
            json={"idFacture": cpp_id, "nouveauStatut": "MANDATEE", "numeroDPMandat": "M-7"},
            headers=recipient.headers(),
        )
    )
    assert mandated["nouveauStatut"] == "MANDATEE"
    entries = (await history(cpro, recipient, cpp_id))["historiquesDesStatuts"]["histoStatut"]
    assert "M-7" in entries[0]["histoStatutCommentaire"]


async def test_a_rejection_is_acknowledged_once(cpro, supplier, recipient):
    (line,) = await deposit(cpro, supplier, recipient)
    cpp_id = line["idFacture"]
    await ok(
        await cpro.post(
            f"{F}/traiter/recue",
            json={"idFacture": cpp_id, "nouveauStatut": "REJETEE", "motif": "Doublon"},
            headers=recipient.headers(),
        )
    )
    body = {"listeDemandePaiement": [{"idDemandePaiement": cpp_id}]}
    first = await ok(await cpro.post(f"{F}/traiterRejet", json=body, headers=supplier.headers()))
    assert first == {"codeRetour": 0, "libelle": "TRA_MSG_00.000"}
    again = await cpro.post(f"{F}/traiterRejet", json=body, headers=supplier.headers())
    assert (again.status_code, again.json()["codeRetour"]) == (400, 20007)
    found = await ok(
        await cpro.post(
            f"{F}/rechercher/fournisseur",
            json={"numeroFacture": line["numeroFacture"]},
            headers=supplier.headers(),
        )
    )
    assert found["listeFactures"][0]["rejetTraite"] is True
    assert found["listeFactures"][0]["statut"] == "REJETEE"


async def test_a_misaddressed_invoice_is_recycled_to_its_recipient(cpro, supplier, recipient):
    (line,) = await deposit(cpro, supplier, recipient)
    cpp_id = line["idFacture"]
    await ok(
        await cpro.post(
            f"{F}/traiter/recue",
            json={"idFacture": cpp_id, "nouveauStatut": "A_RECYCLER", "motif": "Mauvais service"},
            headers=recipient.headers(),
        )
    )
    recycled = await ok(
        await cpro.post(
            f"{F}/recycler",
            json={
                "identifiantFactureCPP": cpp_id,
                "destinataire": {"codeDestinataire": recipient.siret},
            },
            headers=supplier.headers(),
        )
    )
    assert recycled["identifiantFactureCPP"] == cpp_id
    assert recycled["statutFacture"] in ("DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION")
    unknown = await cpro.post(
        f"{F}/recycler",
        json={
            "identifiantFactureCPP": cpp_id,
            "destinataire": {"codeDestinataire": "00000000000000"},
        },
        headers=supplier.headers(),
    )
    assert (unknown.status_code, unknown.json()["codeRetour"]) == (404, 20006)


async def test_downloads_one_document_or_a_zip_of_several(cpro, supplier, recipient):
    lines = await deposit(cpro, supplier, recipient, count=2)
    one = await ok(
        await cpro.post(
            f"{F}/telecharger/groupe",
            json={"format": "PDF", "listeFacture": [{"idFacture": lines[0]["idFacture"]}]},
            headers=recipient.headers(),
        )
    )
    assert base64.b64decode(one["fichierResultat"]).lstrip().startswith(b"<?xml")
    both = await ok(
        await cpro.post(
            f"{F}/telecharger/groupe",
            json={"listeFacture": [{"idFacture": line["idFacture"]} for line in lines]},
            headers=supplier.headers(),
        )
    )
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(both["fichierResultat"])))
    assert len(archive.namelist()) == 2
    # The recipient downloaded the first one: its search says so.
    after = await ok(
        await cpro.post(
            f"{F}/rechercher/recipiendaire",
            json={"numeroFacture": lines[0]["numeroFacture"]},
            headers=recipient.headers(),
        )
    )
    assert after["listeFactures"][0]["factureTelechargeeParDestinataire"] is True
    empty = await cpro.post(f"{F}/telecharger/groupe", json={}, headers=supplier.headers())
    assert (empty.status_code, empty.json()["codeRetour"]) == (400, 20002)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("consulter/fournisseur", {}, "identifiantFactureCPP"),
        ("consulter/fournisseur", {"identifiantFactureCPP": "12"}, "identifiantFactureCPP"),
        ("consulter/historique", {"idFacture": -1.5}, "idFacture"),
        ("rechercher/fournisseur", {"statutCourant": ["INCONNU"]}, "statutCourant[0]"),
        ("rechercher/fournisseur", {"periodeDateDepotDu": "hier"}, "periodeDateDepotDu"),
        ("rechercher/fournisseur", {"typeFacture": "DEVIS"}, "typeFacture"),
        ("traiter/recue", {"idFacture": 1}, "nouveauStatut"),
        (
            "traiterRejet",
            {"listeDemandePaiement": [{}]},
            "listeDemandePaiement[0].idDemandePaiement",
        ),
    ],
)
async def test_malformed_requests_name_their_field(cpro, supplier, path, body, field):
    response = await cpro.post(f"{F}/{path}", json=body, headers=supplier.headers())
    assert (response.status_code, response.json()["codeRetour"]) == (400, 20002), response.text
    assert field in {c["champ"] for c in response.json()["erreur"]["champs"]}


FORWARD = ["PRISE_EN_COMPTE_DESTINATAIRE", "SERVICE_FAIT", "MANDATEE",
           "MISE_A_DISPOSITION_COMPTABLE", "COMPTABILISEE", "MISE_EN_PAIEMENT"]  # fmt: skip
SEND_BACK = ["SUSPENDUE", "A_RECYCLER", "REJETEE"]


async def processing_statuses(cpro, party: Party, body: dict) -> list[str]:
    answer = await ok(
        await cpro.post(
            "/cpro/transverses/v1/recuperer/etats/traitement", json=body, headers=party.headers()
        )
    )
    return [
        s["statutPossiblePourTraitement"] for s in answer["listeStatutsPossiblesPourTraitement"]
    ]


async def test_processing_statuses_for_an_invoice_follow_its_status_and_the_caller(
    cpro, supplier, recipient, party_factory
):
    (line,) = await deposit(cpro, supplier, recipient)
    cpp_id = line["idFacture"]
    assert await processing_statuses(cpro, recipient, {"idFacture": cpp_id}) == FORWARD + SEND_BACK
    # The supplier may set none of them; another structure does not see the invoice.
    assert await processing_statuses(cpro, supplier, {"identifiantFactureCPP": cpp_id}) == []
    stranger = await party_factory(name="Curieux Etats SARL")
    hidden = await cpro.post(
        "/cpro/transverses/v1/recuperer/etats/traitement",
        json={"idFacture": cpp_id},
        headers=stranger.headers(),
    )
    assert (hidden.status_code, hidden.json()["codeRetour"]) == (404, 20006)
    await ok(
        await cpro.post(
            f"{F}/traiter/recue",
            json={"idFacture": cpp_id, "nouveauStatut": "MANDATEE"},
            headers=recipient.headers(),
        )
    )
    assert await processing_statuses(cpro, recipient, {"idFacture": cpp_id}) == FORWARD[3:]
    # The invoice wins over a status named beside it.
    both = {"idFacture": cpp_id, "statutCourant": "MISE_A_DISPOSITION"}
    assert await processing_statuses(cpro, recipient, both) == FORWARD[3:]


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ("MISE_A_DISPOSITION", FORWARD + SEND_BACK),
        ("SERVICE_FAIT", FORWARD[2:] + SEND_BACK),
        ("MANDATEE", FORWARD[3:]),
        ("SUSPENDUE", []),  # completing is the supplier's move, not traiter/recue's
        ("REJETEE", []),
        ("", FORWARD + SEND_BACK),  # go-choruspro's empty statutCourant: every status
    ],
)
async def test_processing_statuses_from_a_status_as_go_choruspro_asks(
    cpro, supplier, current, expected
):
    found = await processing_statuses(cpro, supplier, {"statutCourant": current})
    if current:
        assert found == expected
    else:
        assert sorted(found) == sorted(expected)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"statutCourant": "A_VALIDER_1"}, "statutCourant"),
        ({"statutCourant": 3}, "statutCourant"),
        ({"idFacture": "douze"}, "idFacture"),
    ],
)
async def test_processing_statuses_refusals(cpro, supplier, body, field):
    response = await cpro.post(
        "/cpro/transverses/v1/recuperer/etats/traitement", json=body, headers=supplier.headers()
    )
    assert (response.status_code, response.json()["codeRetour"]) == (400, 20002), response.text
    assert [c["champ"] for c in response.json()["erreur"]["champs"]] == [field]
