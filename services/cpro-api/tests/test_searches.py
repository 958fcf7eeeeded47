"""The search criteria of the Chorus Pro API against the real stack, on a supplier and a
recipient of their own (so every list is known): HT, TTC and to-pay amount bounds, the
framework, the deposit mode, acknowledged rejections, the sort columns either way, on both
sides and in the lists "to process", and the refusals (a column Chorus cannot sort on)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import pytest_asyncio
from chorus_cpro_api.body_limits import behind_edge_middlewares
from chorus_invoices.documents import ubl_writer
from cpro_support import Party, flow_body, make_party, model, ok

pytestmark = pytest.mark.asyncio(loop_scope="session")

F = "/cpro/factures/v1"


async def deposit(cpro, supplier: Party, recipient: Party, number: str, quantity: str) -> None:
    """One UBL invoice of ``quantity`` × 450.00 HT at 20 %, through deposer/flux."""
    content = ubl_writer.write_model(model(supplier, recipient, number, quantity=quantity))
    answer = await ok(
        await cpro.post(f"{F}/deposer/flux", json=flow_body(content), headers=supplier.headers())
    )
    assert answer["etatCourantFlux"] == "IN_INTEGRE", answer


async def received(cpro, recipient: Party, count: int) -> list[dict]:
    """The recipient's list once ``count`` invoices are made available to it."""
    async with asyncio.timeout(180):
        while True:
            found = await ok(
                await cpro.post(
                    f"{F}/rechercher/recipiendaire",
                    json={"statutCourant": ["MISE_A_DISPOSITION"]},
                    headers=recipient.headers(),
                )
            )
            if found["total"] >= count:
                return found["listeFactures"]
            await asyncio.sleep(0.3)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def three(api, mailbox, cpro_app):
    """A supplier and a recipient of their own, three invoices between them: B (1 × 450 HT,
    540 TTC), A (3 ×: 1350, 1620), C (2 ×: 900, 1080), deposited in that order."""
    transport = httpx.ASGITransport(app=behind_edge_middlewares(cpro_app))
    async with httpx.AsyncClient(transport=transport, base_url="http://cpro", timeout=90) as cpro:
        supplier = await make_party(api, mailbox, cpro, public=False, name="Tri Fournisseur SARL")
        recipient = await make_party(api, mailbox, cpro, public=True, name="Commune de Tri")
        tag = uuid.uuid4().hex[:6].upper()
        for letter, quantity in (("B", "1"), ("A", "3"), ("C", "2")):
            await deposit(cpro, supplier, recipient, f"{tag}-{letter}", quantity)
        await received(cpro, recipient, 3)
    return supplier, recipient, tag


async def issued(cpro, supplier: Party, tag: str, **body) -> list[str]:
    found = await ok(
        await cpro.post(f"{F}/rechercher/fournisseur", json=body, headers=supplier.headers())
    )
    paged = found["parametresRetour"]["pages"] > 1
    assert paged or found["parametresRetour"]["total"] == len(found["listeFactures"])
    return [line["numeroFacture"].removeprefix(f"{tag}-") for line in found["listeFactures"]]


async def test_supplier_search_by_amounts_framework_and_deposit_mode(cpro, three):
    supplier, _, tag = three
    assert sorted(await issued(cpro, supplier, tag)) == ["A", "B", "C"]
    assert sorted(await issued(cpro, supplier, tag, montantHTMin=900)) == ["A", "C"]
    assert await issued(cpro, supplier, tag, montantHTMax=500.5) == ["B"]
    assert await issued(cpro, supplier, tag, montantApayerMin=1000, montantApayerMax=1100) == ["C"]
    assert await issued(cpro, supplier, tag, montantTTCMin=1600) == ["A"]
    both = await issued(cpro, supplier, tag, montantHTMin=400, montantApayerMax=1080)
    assert sorted(both) == ["B", "C"]
    assert len(await issued(cpro, supplier, tag, cadreFacturation="A1_FACTURE_FOURNISSEUR")) == 3
    for framework in ("A2_FACTURE_FOURNISSEUR_DEJA_PAYEE", "A3_MEMOIRE_JUSTICE"):
        assert await issued(cpro, supplier, tag, cadreFacturation=framework) == []
    assert len(await issued(cpro, supplier, tag, modeDepot="EDI")) == 3  # deposer/flux
    for mode in ("SAISIE_API", "DEPOT_PDF_API", "EDI_NUMERISATION"):
        assert await issued(cpro, supplier, tag, modeDepot=mode) == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ({}, ["C", "A", "B"]),  # deposit time, newest first
        ({"triColonne": "NumeroFacture"}, ["A", "B", "C"]),  # Ascendant by default
        ({"triColonne": "NumeroFacture", "triSens": "Descendant"}, ["C", "B", "A"]),
        ({"triColonne": "MontantHT", "triSens": "Ascendant"}, ["B", "C", "A"]),
        ({"triColonne": "MontantTTC", "triSens": "Descendant"}, ["A", "C", "B"]),
        ({"triColonne": "MontantAPayer", "triSens": "Descendant"}, ["A", "C", "B"]),
        ({"triColonne": "DateDepot", "triSens": "Ascendant"}, ["B", "A", "C"]),
        ({"triColonne": "DateDepot", "triSens": "Descendant"}, ["C", "A", "B"]),
        # One value for all (the structure's own code): the default order.
        ({"triColonne": "CodeFournisseur", "triSens": "Ascendant"}, ["C", "A", "B"]),
    ],
)
async def test_supplier_search_sorted(cpro, three, sort, expected):
    supplier, _, tag = three
    body = {"rechercheFactureParFournisseur": {"nbResultatsParPage": 10, **sort}}
    assert await issued(cpro, supplier, tag, **body) == expected
    # Pages follow the order.
    body["rechercheFactureParFournisseur"] |= {"nbResultatsParPage": 2, "pageResultatDemandee": 2}
    assert await issued(cpro, supplier, tag, **body) == expected[2:]


async def test_recipient_searches_sorted_and_bounded(cpro, three):
    _, recipient, tag = three

    async def numbers(path: str, body: dict) -> list[str]:
        found = await ok(await cpro.post(f"{F}/{path}", json=body, headers=recipient.headers()))
        return [line["numeroFacture"].removeprefix(f"{tag}-") for line in found["listeFactures"]]

    sort = {"triColonne": "MontantTTC", "triSens": "Ascendant"}
    assert await numbers("rechercher/recipiendaire", {"paramRecherche": sort}) == ["B", "C", "A"]
    assert await numbers(
        "rechercher/recipiendaire",
        {"montantHTMin": 500, "montantApayerMax": 1620, "paramRecherche": sort},
    ) == ["C", "A"]
    assert (
        await numbers(
            "rechercher/recipiendaire",
            {"cadreFacturation": "A4_PROJET_DECOMPTE_MENSUEL_FOURNISSEUR"},
        )
        == []
    )
    by_supplier = {"triColonne": "Fournisseur", "triSens": "Descendant"}
    assert await numbers("rechercher/recipiendaire", {"paramRecherche": by_supplier}) == [
        "C",
        "A",
        "B",
    ]
    to_process = {"parametreRechercheFactureATraiterParRecipiendaire": {
        "triColonne": "NumeroFacture", "triSens": "Descendant"}}  # fmt: skip
    assert await numbers("rechercher/atraiter/recipiendaire", to_process) == ["C", "B", "A"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "rechercher/fournisseur",
            {"rechercheFactureParFournisseur": {"triColonne": "CodeDestinataire"}},
            "rechercheFactureParFournisseur.triColonne",
        ),
        (
            "rechercher/recipiendaire",
            {"paramRecherche": {"triColonne": "NumeroMarche"}},
            "paramRecherche.triColonne",
        ),
        (
            "rechercher/atraiter/fournisseur",
            {"rechercheFactureATraiterParFournisseur": {"triColonne": "NomServiceExecutant"}},
            "rechercheFactureATraiterParFournisseur.triColonne",
        ),
        ("rechercher/fournisseur", {"montantHTMin": 10, "montantHTMax": 5}, "montantHTMin"),
        ("rechercher/recipiendaire", {"montantApayerMin": -1}, "montantApayerMin"),
        ("rechercher/fournisseur", {"cadreFacturation": "A99"}, "cadreFacturation"),
        ("rechercher/fournisseur", {"modeDepot": "PIGEON"}, "modeDepot"),
        ("rechercher/recipiendaire", {"numeroFluxDepot": 42}, "numeroFluxDepot"),
        (
            "rechercher/atraiter/recipiendaire",
            {"factureTelechargeeParDestinataire": "oui"},
            "factureTelechargeeParDestinataire",
        ),
    ],
)
async def test_criteria_that_cannot_be_used_are_refused_naming_the_field(
    cpro, supplier, path, body, field
):
    response = await cpro.post(f"{F}/{path}", json=body, headers=supplier.headers())
    assert (response.status_code, response.json()["codeRetour"]) in ((400, 20002), (400, 20008)), (
        response.text
    )
    assert field in {c["champ"] for c in response.json()["erreur"]["champs"]}, response.text


async def test_to_process_leaves_out_the_rejections_already_acknowledged(cpro, party_factory):
    supplier = await party_factory(name="Rejet Fournisseur SARL")
    recipient = await party_factory(public=True, name="Commune de Rejet")
    tag = uuid.uuid4().hex[:6].upper()
    for letter in ("X", "Y", "Z"):
        await deposit(cpro, supplier, recipient, f"{tag}-{letter}", "1")
    lines = {
        line["numeroFacture"].removeprefix(f"{tag}-"): line["idFacture"]
        for line in await received(cpro, recipient, 3)
    }
    for letter, status in (("X", "REJETEE"), ("Y", "REJETEE"), ("Z", "SUSPENDUE")):
        await ok(
            await cpro.post(
                f"{F}/traiter/recue",
                json={"idFacture": lines[letter], "nouveauStatut": status, "motif": "Non"},
                headers=recipient.headers(),
            )
        )
    acknowledged = {"listeDemandePaiement": [{"idDemandePaiement": lines["X"]}]}
    await ok(await cpro.post(f"{F}/traiterRejet", json=acknowledged, headers=supplier.headers()))

    async def to_process(**body) -> list[str]:
        found = await ok(
            await cpro.post(
                f"{F}/rechercher/atraiter/fournisseur", json=body, headers=supplier.headers()
            )
        )
        assert found["parametresRetour"]["total"] == len(found["listeFactures"])
        return [line["numeroFacture"].removeprefix(f"{tag}-") for line in found["listeFactures"]]

    assert await to_process() == ["Z", "Y"]
    assert await to_process(masquerRejetee=True) == ["Z"]
    sorted_up = {"rechercheFactureATraiterParFournisseur": {"triColonne": "NumeroFacture"}}
    assert await to_process(**sorted_up) == ["Y", "Z"]
    assert await issued(cpro, supplier, tag, rejetTraite=True) == ["X"]
    assert sorted(await issued(cpro, supplier, tag, rejetTraite=False)) == ["Y", "Z"]
