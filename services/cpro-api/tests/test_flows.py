"""``deposer/flux`` and its reports against the real stack: UBL, CII and Factur-X flows decided
before the answer, a rejected file with its rule ids and XPaths, a tar.gz with one bad
invoice (IN_INTEGRE_PARTIEL), the malformed calls refused at once, idempotent retries, and
another structure's flow out of sight."""

from __future__ import annotations

import base64
import io
import re
import uuid

import pytest
from cpro_support import (
    broken_ubl,
    cii,
    cpp_id_of,
    facturx,
    flow_body,
    ok,
    report_of,
    tar_gz,
    ubl,
    zip_of,
)
from pypdf import PdfReader

pytestmark = pytest.mark.asyncio(loop_scope="session")

DEPOSIT = "/cpro/factures/v1/deposer/flux"
FLOW_NUMBER = re.compile(r"^CPP\d{22}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")


async def search_flow(cpro, party, number: str) -> dict:
    response = await cpro.post(
        "/cpro/factures/v1/rechercher/fournisseur",
        json={"numeroFluxDepot": number, "typeFacture": "FACTURE"},
        headers=party.headers(),
    )
    return await ok(response)


async def test_a_ubl_flow_is_integrated_before_the_answer_and_found_by_its_number(
    cpro, supplier, recipient
):
    number = f"UBL-{uuid.uuid4().hex[:8]}"
    answer = await ok(
        await cpro.post(
            DEPOSIT, json=flow_body(ubl(supplier, recipient, number)), headers=supplier.headers()
        )
    )
    assert (answer["codeRetour"], answer["libelle"]) == (0, "TRA_MSG_00.000")
    assert FLOW_NUMBER.match(answer["numeroFluxDepot"])
    assert DAY.match(answer["dateDepot"])
    assert answer["syntaxeFlux"] == "IN_DP_E1_UBL_INVOICE"
    assert answer["etatCourantFlux"] == "IN_INTEGRE"
    flow = answer["numeroFluxDepot"]

    report = await ok(
        await cpro.post(
            "/cpro/transverses/v1/consulterCR",
            json={"numeroFluxDepot": flow, "dateDepot": "x", "syntaxFluxType": 3},  # PHP-PG extras
            headers=supplier.headers(),
        )
    )
    assert report["etatCourantFlux"] == "IN_INTEGRE"
    assert MOMENT.match(report["dateDepotFlux"]) and MOMENT.match(
        report["dateHeureEtatCourantFlux"]
    )
    assert report["nomFichierFlux"] == "facture.xml"
    detailed = await report_of(cpro, supplier, flow)
    assert detailed["etatCourantDepotFlux"] == "IN_INTEGRE"
    assert detailed["listeErreurDP"] == [] and detailed["listeErreurTechnique"] == []

    found = await search_flow(cpro, supplier, flow)
    assert found["parametresRetour"] == {
        "pageCourante": 1, "pages": 1, "nbResultatsParPage": 10, "total": 1
    }  # fmt: skip
    invoice = found["listeFactures"][0]
    assert invoice["numeroFacture"] == number
    assert isinstance(invoice["identifiantFactureCPP"], int)
    assert invoice["numeroFluxDepot"] == flow
    assert invoice["idDestinataire"] == await cpp_id_of(cpro, supplier, recipient)
    assert invoice["codeDestinataire"] == recipient.siret
    assert invoice["modeDepot"] == "EDI"
    assert (invoice["montantHT"], invoice["montantTTC"]) == (900.0, 1080.0)
    assert DAY.match(invoice["dateFacture"]) and DAY.match(invoice["dateDepot"])


@pytest.mark.parametrize(
    ("make", "name", "syntax"),
    [
        (cii, "facture-cii.xml", "IN_DP_E1_CII_16B"),
        (facturx, "facture.pdf", None),  # chorus-api's default: IN_DP_E2_CII_FACTURX
        (ubl, "facture-ubl.xml", "IN_DP_E2_CII_FACTURX"),  # mislabelled: read as what it is
    ],
)
async def test_cii_facturx_and_mislabelled_flows_are_integrated(
    cpro, supplier, recipient, make, name, syntax
):
    body = flow_body(make(supplier, recipient), name, syntax or "")
    if syntax is None:
        del body["syntaxeFlux"]
    answer = await ok(await cpro.post(DEPOSIT, json=body, headers=supplier.headers()))
    assert answer["etatCourantFlux"] == "IN_INTEGRE", answer
    assert answer["syntaxeFlux"] == (syntax or "IN_DP_E2_CII_FACTURX")


async def test_an_invalid_file_is_a_deposited_flow_rejected_with_rule_ids_and_xpaths(
    cpro, supplier, recipient
):
    number = f"BAD-{uuid.uuid4().hex[:8]}"
    answer = await ok(
        await cpro.post(
            DEPOSIT,
            json=flow_body(broken_ubl(supplier, recipient, number)),
            headers=supplier.headers(),
        )
    )
    assert answer["codeRetour"] == 0 and FLOW_NUMBER.match(answer["numeroFluxDepot"])
    assert answer["etatCourantFlux"] == "IN_REJETE"
    report = await report_of(cpro, supplier, answer["numeroFluxDepot"])
    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    errors = report["listeErreurDP"]
    assert errors and {e["numeroDP"] for e in errors} == {number}
    assert all(e["identifiantFournisseur"] == supplier.siret for e in errors)
    assert any(re.match(r"^\[BR-[A-Z0-9-]+\] /Invoice", e["libelleErreurDP"]) for e in errors)
    assert all(e["regle"] and e["xpath"] for e in errors)
    assert (await search_flow(cpro, supplier, answer["numeroFluxDepot"]))["listeFactures"] == []
    # consulterCR's fichierCR: the same report as a PDF.
    short = await ok(
        await cpro.post(
            "/cpro/transverses/v1/consulterCR",
            json={"numeroFluxDepot": answer["numeroFluxDepot"]},
            headers=supplier.headers(),
        )
    )
    pdf = PdfReader(io.BytesIO(base64.b64decode(short["fichierCR"])))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert answer["numeroFluxDepot"] in text and number in text and "refusée" in text
    assert errors[0]["regle"] in text


@pytest.mark.parametrize("archive", [tar_gz, zip_of])
async def test_an_archive_with_one_bad_invoice_is_integrated_partially(
    cpro, supplier, recipient, archive
):
    good = [f"LOT-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    bad = f"LOT-BAD-{uuid.uuid4().hex[:8]}"
    content = archive(
        {
            "a.xml": ubl(supplier, recipient, good[0]),
            "b.xml": cii(supplier, recipient, good[1]),
            "c.xml": broken_ubl(supplier, recipient, bad),
        }
    )
    answer = await ok(
        await cpro.post(
            DEPOSIT,
            json=flow_body(content, "lot.tar.gz", "IN_DP_E1_UBL_INVOICE"),
            headers=supplier.headers(),
        )
    )
    # Never a state clients read as success before the flow is decided.
    assert answer["etatCourantFlux"] in ("IN_EN_ATTENTE_TRAITEMENT_CPP", "IN_INTEGRE_PARTIEL")
    report = await report_of(cpro, supplier, answer["numeroFluxDepot"])
    assert report["etatCourantDepotFlux"] == "IN_INTEGRE_PARTIEL"
    assert {e["numeroDP"] for e in report["listeErreurDP"]} == {bad}
    found = await search_flow(cpro, supplier, answer["numeroFluxDepot"])
    assert sorted(i["numeroFacture"] for i in found["listeFactures"]) == sorted(good)
    assert found["parametresRetour"]["total"] == 2


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"fichierFlux": None}, 400, 20004, "fichierFlux"),
        ({"fichierFlux": ""}, 400, 20004, "fichierFlux"),
        ({"fichierFlux": "pas du base64 !"}, 400, 20004, "fichierFlux"),
        ({"syntaxeFlux": "IN_DP_E1_JSON"}, 400, 20005, "syntaxeFlux"),
        ({"syntaxeFlux": 3}, 400, 20005, "syntaxeFlux"),
        ({"avecSignature": "non"}, 400, 20002, "avecSignature"),
        ({"idUtilisateurCourant": "0"}, 400, 20002, "idUtilisateurCourant"),
    ],
)
async def test_a_malformed_call_is_refused_at_once_naming_the_field(
    cpro, supplier, recipient, change, status, code, field
):
    body = flow_body(ubl(supplier, recipient)) | change
    body = {k: v for k, v in body.items() if v is not None}
    response = await cpro.post(DEPOSIT, json=body, headers=supplier.headers())
    assert (response.status_code, response.json()["codeRetour"]) == (status, code), response.text
    assert field in {c["champ"] for c in response.json()["erreur"]["champs"]}
    assert response.json()["libelle"]


async def test_a_retried_deposit_with_its_idempotency_key_replays_the_flow(
    cpro, supplier, recipient
):
    key = f"flux-{uuid.uuid4()}"
    body = flow_body(ubl(supplier, recipient))
    first = await ok(
        await cpro.post(DEPOSIT, json=body, headers=supplier.headers(**{"Idempotency-Key": key}))
    )
    again = await ok(
        await cpro.post(DEPOSIT, json=body, headers=supplier.headers(**{"Idempotency-Key": key}))
    )
    assert again["numeroFluxDepot"] == first["numeroFluxDepot"]
    other = flow_body(ubl(supplier, recipient))
    conflict = await cpro.post(
        DEPOSIT, json=other, headers=supplier.headers(**{"Idempotency-Key": key})
    )
    assert (conflict.status_code, conflict.json()["codeRetour"]) == (409, 20011)
    bad_key = await cpro.post(
        DEPOSIT, json=body, headers=supplier.headers(**{"Idempotency-Key": "a b"})
    )
    assert (bad_key.status_code, bad_key.json()["codeRetour"]) == (400, 20002)


async def test_another_structures_flow_is_out_of_sight(cpro, supplier, recipient):
    answer = await ok(
        await cpro.post(
            DEPOSIT, json=flow_body(ubl(supplier, recipient)), headers=supplier.headers()
        )
    )
    for path in ("/cpro/transverses/v1/consulterCR", "/cpro/transverses/v1/consulterCRDetaille"):
        response = await cpro.post(
            path, json={"numeroFluxDepot": answer["numeroFluxDepot"]}, headers=recipient.headers()
        )
        assert (response.status_code, response.json()["codeRetour"]) == (404, 20006)
    unknown = await cpro.post(
        "/cpro/transverses/v1/consulterCR",
        json={"numeroFluxDepot": "CPP" + "9" * 22},
        headers=supplier.headers(),
    )
    assert (unknown.status_code, unknown.json()["codeRetour"]) == (404, 20006)
    missing = await cpro.post(
        "/cpro/transverses/v1/consulterCR", json={}, headers=supplier.headers()
    )
    assert (missing.status_code, missing.json()["codeRetour"]) == (400, 20002)


async def test_a_flow_above_fifteen_megabytes_is_refused_before_the_service(cpro, supplier):
    content = b"<x>" + b"a" * (15 * 1024 * 1024) + b"</x>"
    body = {"fichierFlux": base64.b64encode(content).decode(), "nomFichier": "big.xml"}
    response = await cpro.post(DEPOSIT, json=body, headers=supplier.headers())
    assert (response.status_code, response.json()["codeRetour"]) == (413, 20001)
