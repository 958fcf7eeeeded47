"""Entering invoices and attachments through the Chorus Pro API against the real stack:
``ajouter/fichier`` (integer ids, refusals), a suspended invoice completed with one,
``soumettre`` in ``SAISIE_API`` as PY-FE sends it, ``soumettre`` in ``DEPOT_PDF_API`` (PY-FE's
``ajouter/fichier`` → ``soumettre`` → ``consulter/fournisseur``) with a Factur-X and with a
plain PDF, and its refusals, and ``deposer/pdf`` pre-filling from a Factur-X."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from pathlib import Path

import pytest
from cpro_support import deposit, facturx, ok
from facturx import get_xml_from_pdf

pytestmark = pytest.mark.asyncio(loop_scope="session")

F = "/cpro/factures/v1"
PLAIN_PDF = (
    Path(__file__).resolve().parents[2] / "invoices/tests/corpus/invalid/plain-no-xml.pdf"
).read_bytes()


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


async def add_file(cpro, party, content: bytes, name="bon-de-commande", extension="PDF"):
    return await cpro.post(
        "/cpro/transverses/v1/ajouter/fichier",
        json={
            "pieceJointeFichier": b64(content),
            "pieceJointeNom": name,
            "pieceJointeTypeMime": "application/pdf",
            "pieceJointeExtension": extension,
            "idUtilisateurCourant": 0,
        },
        headers=party.headers(),
    )


async def test_an_attachment_gets_an_integer_id_and_completes_a_suspended_invoice(
    cpro, supplier, recipient
):
    staged = await ok(await add_file(cpro, supplier, PLAIN_PDF))
    assert isinstance(staged["pieceJointeId"], int) and staged["pieceJointeId"] > 0
    (line,) = await deposit(cpro, supplier, recipient)
    await ok(
        await cpro.post(
            f"{F}/traiter/recue",
            json={"idFacture": line["idFacture"], "nouveauStatut": "SUSPENDUE", "motif": "BC ?"},
            headers=recipient.headers(),
        )
    )
    await ok(
        await cpro.post(
            f"{F}/completer",
            json={
                "identifiantFactureCPP": line["idFacture"],
                "commentaire": "Voici le bon de commande.",
                "pieceJointeComplementaire": [
                    {
                        "pieceJointeComplementaireDesignation": "BC",
                        "pieceJointeComplementaireId": staged["pieceJointeId"],
                    }
                ],
            },
            headers=supplier.headers(),
        )
    )
    facture = (
        await ok(
            await cpro.post(
                f"{F}/consulter/fournisseur",
                json={"identifiantFactureCPP": line["idFacture"]},
                headers=supplier.headers(),
            )
        )
    )["facture"]
    assert facture["statutFacture"] == "COMPLETEE"
    names = [p["pieceJointeDesignation"] for p in facture["listeDesPiecesJointes"]["pieceJointe"]]
    assert "bon-de-commande.pdf" in names
    # Used once: naming it again is refused, naming the invoice.
    again = await cpro.post(
        f"{F}/completer",
        json={
            "identifiantFactureCPP": line["idFacture"],
            "pieceJointeComplementaire": [{"pieceJointeComplementaireId": staged["pieceJointeId"]}],
        },
        headers=supplier.headers(),
    )
    assert again.status_code == 400


@pytest.mark.parametrize(
    ("content", "extension", "status", "code"),
    [
        (b"MZ" + b"\x00" * 100, "EXE", 400, 20008),
        (b"", "PDF", 400, 20004),
        (b"%PDF" + b"x" * (10 * 1024 * 1024), "PDF", 413, 20003),
    ],
)
async def test_refused_attachments(cpro, supplier, content, extension, status, code):
    response = await add_file(cpro, supplier, content, extension=extension)
    assert (response.status_code, response.json()["codeRetour"]) == (status, code), response.text


async def test_an_invoice_entered_as_py_fe_sends_it(cpro, supplier, recipient):
    number = f"SAISIE-{uuid.uuid4().hex[:8]}"
    body = {
        "modeDepot": "SAISIE_API",
        "numeroFactureSaisi": number,
        # no dateFacture: PY-FE leaves it out on purpose
        "destinataire": {
            "codeDestinataire": recipient.siret,
            "nom": "Commune",  # PY-FE's extras are ignored
            "adressePostale": {"codePostal": "75003"},
        },
        "fournisseur": {"siret": supplier.siret, "iban": "FR76..."},
        "cadreDeFacturation": {"codeCadreFacturation": "A1_FACTURE_FOURNISSEUR"},
        "references": {"deviseFacture": "EUR", "typeFacture": "FACTURE",
                       "typeTva": "TVA_SUR_DEBIT"},
        "lignePoste": [
            {
                "lignePosteNumero": 1,
                "lignePosteDenomination": "Audit énergétique",
                "lignePosteQuantite": 2,
                "lignePosteUnite": "jour",
                "lignePosteMontantUnitaireHT": 600.0,
                "lignePosteTauxTva": "TVA_20",
                "lignePosteCategorieTva": "S",
            }
        ],
        "montantTotal": {"montantHtTotal": 1200, "montantTVA": 240, "montantTtcTotal": 1440,
                         "montantAPayer": 1440, "acompte": 0},
        "pieceJointePrincipale": [],
        "commentaire": "Saisie par API",
    }  # fmt: skip
    answer = await ok(await cpro.post(f"{F}/soumettre", json=body, headers=supplier.headers()))
    assert answer["numeroFacture"] == number
    assert answer["statutFacture"] in ("DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION")
    assert answer["identifiantStructure"] == supplier.siret
    assert answer["dateDepot"] == dt.date.today().isoformat() or answer["dateDepot"]
    facture = (
        await ok(
            await cpro.post(
                f"{F}/consulter/fournisseur",
                json={"identifiantFactureCPP": answer["identifiantFactureCPP"]},
                headers=supplier.headers(),
            )
        )
    )["facture"]
    assert facture["montantTotal"]["montantTtcTotal"] == 1440.0
    assert facture["lignesDePoste"]["lignePoste"][0]["lignePosteUniteLibelle"] == "DAY"
    # Its Factur-X PDF, rendered at this first download (invoices' default, on_demand).
    downloaded = await ok(
        await cpro.post(
            f"{F}/telecharger/groupe",
            json={"listeFacture": [{"idFacture": answer["identifiantFactureCPP"]}]},
            headers=supplier.headers(),
        )
    )
    pdf = base64.b64decode(downloaded["fichierResultat"])
    assert pdf.startswith(b"%PDF-")
    assert number.encode() in get_xml_from_pdf(pdf, check_xsd=False)[1]
    # The same number again is a duplicate, refused by the invoices service.
    duplicate = await cpro.post(f"{F}/soumettre", json=body, headers=supplier.headers())
    assert (duplicate.status_code, duplicate.json()["codeRetour"]) == (400, 20007)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"numeroFactureSaisi": None}, 20002, "numeroFactureSaisi"),
        ({"destinataire": None}, 20002, "destinataire.codeDestinataire"),
        ({"modeDepot": "DEPOT_PDF_SIGNE_API"}, 20008, "modeDepot"),
        ({"modeDepot": "DEPOT_PDF_API"}, 20002, "pieceJointePrincipale.pieceJointePrincipaleId"),
        ({"modeDepot": "DEPOT_PDF_API", "pieceJointePrincipale": [{"pieceJointePrincipaleId": 0}]},
         20002, "pieceJointePrincipale.pieceJointePrincipaleId"),
        ({"modeDepot": "DEPOT_PDF_API", "pieceJointePrincipale": [{"pieceJointePrincipaleId": 1},
                                                                  {"pieceJointePrincipaleId": 2}]},
         20002, "pieceJointePrincipale"),
        ({"lignePoste": [{"lignePosteQuantite": 1, "lignePosteTauxTva": "TVA_X"}]}, 20002,
         "lignePoste[0].lignePosteTauxTva"),
        ({"pieceJointeComplementaire": [{"pieceJointeComplementaireId": 1}]}, 20002,
         "pieceJointeComplementaire"),
    ],
)  # fmt: skip
async def test_refused_entries_name_their_field(cpro, supplier, recipient, change, code, field):
    body = {
        "numeroFactureSaisi": f"R-{uuid.uuid4().hex[:8]}",
        "destinataire": {"codeDestinataire": recipient.siret},
        "lignePoste": [{"lignePosteDenomination": "x", "lignePosteQuantite": 1,
                        "lignePosteMontantUnitaireHT": 10, "lignePosteTauxTva": "20"}],
    } | change  # fmt: skip
    body = {k: v for k, v in body.items() if v is not None}
    response = await cpro.post(f"{F}/soumettre", json=body, headers=supplier.headers())
    assert (response.status_code, response.json()["codeRetour"]) == (400, code), response.text
    assert field in {c["champ"] for c in response.json()["erreur"]["champs"]}


async def test_an_unknown_recipient_is_refused_by_the_invoices_service(cpro, supplier):
    body = {
        "numeroFactureSaisi": f"U-{uuid.uuid4().hex[:8]}",
        "destinataire": {"codeDestinataire": "00000000000000"},
        "lignePoste": [{"lignePosteDenomination": "x", "lignePosteQuantite": 1,
                        "lignePosteMontantUnitaireHT": 10, "lignePosteTauxTvaManuel": 20}],
    }  # fmt: skip
    response = await cpro.post(f"{F}/soumettre", json=body, headers=supplier.headers())
    assert response.status_code in (400, 404), response.text
    assert response.json()["codeRetour"] in (20006, 20008)


async def test_deposer_pdf_prefills_from_a_facturx_and_keeps_the_pdf(cpro, supplier, recipient):
    number = f"PDF-{uuid.uuid4().hex[:8]}"
    answer = await ok(
        await cpro.post(
            f"{F}/deposer/pdf",
            json={"fichierFacture": b64(facturx(supplier, recipient, number)),
                  "nomFichier": "facture.pdf", "formatDepot": "PDF_NON_SIGNE"},
            headers=supplier.headers(),
        )
    )  # fmt: skip
    assert (answer["numeroFacture"], answer["dateFacture"]) == (number, "2026-01-15")
    assert (answer["codeFournisseur"], answer["codeDestinataire"]) == (
        supplier.siret,
        recipient.siret,
    )
    assert (answer["montantHtTotal"], answer["montantTVA"], answer["montantAPayer"]) == (
        900.0,
        180.0,
        1080.0,
    )
    assert isinstance(answer["pieceJointeId"], int)
    plain = await ok(
        await cpro.post(
            f"{F}/deposer/pdf",
            json={"fichierFacture": b64(PLAIN_PDF), "nomFichier": "scan"},
            headers=supplier.headers(),
        )
    )
    assert plain["numeroFacture"] == "" and plain["montantAPayer"] == 0.0
    assert plain["dateFacture"]  # today: a required field
    not_pdf = await cpro.post(
        f"{F}/deposer/pdf", json={"fichierFacture": b64(b"hello")}, headers=supplier.headers()
    )
    assert (not_pdf.status_code, not_pdf.json()["codeRetour"]) == (400, 20008)


# -- soumettre in DEPOT_PDF_API ----------------------------------------------------------------


def pdf_submission(recipient, piece_id: int, **more) -> dict:
    """What PY-FE's ``FactureChorus.to_api_payload()`` sends for a Factur-X it made: no
    ``dateFacture``, ``pieceJointePrincipale`` as a list, its extra keys, lines and totals."""
    return {
        "modeDepot": "DEPOT_PDF_API",
        "destinataire": {"codeDestinataire": recipient.siret, "codeServiceExecutant": "",
                         "nom": "Commune de Recette"},
        "fournisseur": {"idFournisseur": 1, "siret": "x", "numeroTvaIntra": "FR00",
                        "iban": "FR76 3000 6000 0112 3456 7890 189"},
        "cadreDeFacturation": {"codeCadreFacturation": "A1_FACTURE_FOURNISSEUR"},
        "references": {"deviseFacture": "EUR", "modePaiement": "VIREMENT",
                       "typeFacture": "FACTURE", "typeTva": "TVA_SUR_DEBIT"},
        "commentaire": "Déposée en PDF par API",
        "idUtilisateurCourant": 0,
        "lignePoste": [{"lignePosteNumero": 1, "lignePosteDenomination": "Maintenance",
                        "lignePosteQuantite": 2.0, "lignePosteUnite": "C62",
                        "lignePosteMontantUnitaireHT": 450.0, "lignePosteMontantRemiseHT": 0.0,
                        "lignePosteTauxTvaManuel": 20.0, "lignePosteCategorieTva": "S"}],
        "ligneTva": [{"ligneTvaMontantBaseHtParTaux": 900.0, "ligneTvaMontantTvaParTaux": 180.0,
                      "ligneTvaTauxManuel": 20.0, "ligneTvaCategorie": "S"}],
        "montantTotal": {"montantHtTotal": 900.0, "montantTVA": 180.0, "montantTtcTotal": 1080.0,
                         "montantAPayer": 1080.0},
        "pieceJointePrincipale": [{"pieceJointePrincipaleDesignation": "facture",
                                   "pieceJointePrincipaleId": piece_id}],
    } | more  # fmt: skip


async def consult(cpro, party, cpp_id: int) -> dict:
    response = await cpro.post(
        f"{F}/consulter/fournisseur",
        json={"identifiantFactureCPP": cpp_id},
        headers=party.headers(),
    )
    return (await ok(response))["facture"]


async def test_a_facturx_submitted_as_py_fe_does_it(cpro, supplier, recipient):
    number = f"FX-{uuid.uuid4().hex[:8]}"
    staged = await ok(await add_file(cpro, supplier, facturx(supplier, recipient, number),
                                     name="facture.pdf", extension="PDF"))  # fmt: skip
    body = pdf_submission(recipient, staged["pieceJointeId"], numeroFactureSaisi=number)
    answer = await ok(await cpro.post(f"{F}/soumettre", json=body, headers=supplier.headers()))
    assert answer["numeroFacture"] == number
    assert answer["identifiantStructure"] == supplier.siret
    facture = await consult(cpro, supplier, answer["identifiantFactureCPP"])
    assert facture["modeDepot"] == "DEPOT_PDF_API"
    assert facture["numeroFacture"] == number
    assert facture["references"]["dateFacture"] == "2026-01-15"  # the XML's date
    assert facture["montantTotal"]["montantTtcTotal"] == 1080.0
    assert facture["lignesDePoste"]["totalLignesPoste"] == 1  # the XML's line
    assert facture["destinataire"]["codeDestinataire"] == recipient.siret
    assert [p["pieceJointeDesignation"] for p in
            facture["listeDesPiecesJointes"]["pieceJointe"]] == ["facture.pdf"]  # fmt: skip
    # The staged PDF served once.
    again = await cpro.post(
        f"{F}/soumettre",
        json=pdf_submission(recipient, staged["pieceJointeId"], numeroFactureSaisi=number),
        headers=supplier.headers(),
    )
    assert (again.status_code, again.json()["codeRetour"]) == (400, 20008), again.text
    assert again.json()["erreur"]["champs"][0]["champ"] == (
        "pieceJointePrincipale.pieceJointePrincipaleId"
    )


async def test_a_facturx_contradicted_by_the_json_is_refused_naming_the_fields(
    cpro, supplier, recipient
):
    number = f"FX-{uuid.uuid4().hex[:8]}"
    staged = await ok(await add_file(cpro, supplier, facturx(supplier, recipient, number)))
    body = pdf_submission(
        recipient,
        staged["pieceJointeId"],
        numeroFactureSaisi="AUTRE-NUMERO",
        montantTotal={"montantHtTotal": 1.0, "montantTVA": 180.0, "montantTtcTotal": 1080.0},
    )
    response = await cpro.post(f"{F}/soumettre", json=body, headers=supplier.headers())
    assert (response.status_code, response.json()["codeRetour"]) == (400, 20008), response.text
    erreur = response.json()["erreur"]
    assert erreur["raison"] == "FORM_CONTRADICTS_DOCUMENT"
    assert {c["champ"] for c in erreur["champs"]} == {
        "numeroFactureSaisi",
        "montantTotal.montantHtTotal",
    }
    # A refusal leaves the PDF staged: the corrected call names it again.
    body = pdf_submission(recipient, staged["pieceJointeId"], numeroFactureSaisi=number)
    answer = await ok(await cpro.post(f"{F}/soumettre", json=body, headers=supplier.headers()))
    assert answer["numeroFacture"] == number


async def test_a_plain_pdf_submitted_with_its_header_and_an_attachment(cpro, supplier, recipient):
    number = f"PL-{uuid.uuid4().hex[:8]}"
    main = await ok(await add_file(cpro, supplier, PLAIN_PDF, name="scan", extension="PDF"))
    extra = await ok(await add_file(cpro, supplier, b"a;b\n1;2\n", name="detail",
                                    extension="CSV"))  # fmt: skip
    body = pdf_submission(
        recipient,
        main["pieceJointeId"],
        numeroFactureSaisi=number,
        dateFacture="2026-02-03",
        ligneTva=[{"ligneTvaTaux": "TVA_20", "ligneTvaMontantBaseHtParTaux": 500,
                   "ligneTvaMontantTvaParTaux": 100}],
        montantTotal={"montantHtTotal": 500, "montantTVA": 100, "montantTtcTotal": 600,
                      "montantAPayer": 600},
        pieceJointeComplementaire=[{"pieceJointeComplementaireDesignation": "Détail",
                                    "pieceJointeComplementaireId": extra["pieceJointeId"]}],
    )  # fmt: skip
    answer = await ok(await cpro.post(f"{F}/soumettre", json=body, headers=supplier.headers()))
    facture = await consult(cpro, supplier, answer["identifiantFactureCPP"])
    assert facture["modeDepot"] == "DEPOT_PDF_API"
    assert facture["references"]["dateFacture"] == "2026-02-03"
    assert facture["montantTotal"]["montantTtcTotal"] == 600.0
    assert facture["lignesDePoste"]["totalLignesPoste"] == 0  # a plain PDF has no lines
    names = {p["pieceJointeDesignation"] for p in facture["listeDesPiecesJointes"]["pieceJointe"]}
    assert names == {"scan.pdf", "detail.csv"}


async def test_a_plain_pdf_without_its_totals_or_date_is_refused(cpro, supplier, recipient):
    main = await ok(await add_file(cpro, supplier, PLAIN_PDF, name="scan", extension="PDF"))
    body = pdf_submission(
        recipient,
        main["pieceJointeId"],
        numeroFactureSaisi=f"PL-{uuid.uuid4().hex[:8]}",
        montantTotal={"montantHtTotal": 500, "montantTVA": 100, "montantTtcTotal": 700},
        ligneTva=[{"ligneTvaTauxManuel": 20, "ligneTvaMontantBaseHtParTaux": 500,
                   "ligneTvaMontantTvaParTaux": 100}],
    )  # fmt: skip
    response = await cpro.post(f"{F}/soumettre", json=body, headers=supplier.headers())
    assert (response.status_code, response.json()["codeRetour"]) == (400, 20008), response.text
    champs = {c["champ"] for c in response.json()["erreur"]["champs"]}
    assert "dateFacture" in champs or "montantTotal.montantTtcTotal" in champs, champs


async def test_unknown_foreign_or_non_pdf_main_pieces_are_refused(
    cpro, supplier, recipient, party_factory
):
    other = await party_factory(name="Autre Fournisseur SARL")
    theirs = await ok(await add_file(cpro, other, PLAIN_PDF))
    csv = await ok(await add_file(cpro, supplier, b"a;b\n", name="releve", extension="CSV"))
    for piece_id, raison in (
        (987654321, "STAGED_ATTACHMENT_UNKNOWN"),
        (theirs["pieceJointeId"], "STAGED_ATTACHMENT_UNKNOWN"),
        (csv["pieceJointeId"], "STAGED_FILE_NOT_PDF"),
    ):
        body = pdf_submission(recipient, piece_id, numeroFactureSaisi=f"X-{piece_id}")
        response = await cpro.post(f"{F}/soumettre", json=body, headers=supplier.headers())
        assert (response.status_code, response.json()["codeRetour"]) == (400, 20008), response.text
        erreur = response.json()["erreur"]
        assert erreur["raison"] == raison
        assert [c["champ"] for c in erreur["champs"]] == [
            "pieceJointePrincipale.pieceJointePrincipaleId"
        ]
    # The other party's file is still theirs to use.
    body = pdf_submission(recipient, theirs["pieceJointeId"], numeroFactureSaisi="T-1",
                          dateFacture="2026-02-03",
                          ligneTva=[{"ligneTvaTauxManuel": 20, "ligneTvaMontantBaseHtParTaux": 10,
                                     "ligneTvaMontantTvaParTaux": 2}],
                          montantTotal={"montantHtTotal": 10, "montantTVA": 2,
                                        "montantTtcTotal": 12})  # fmt: skip
    await ok(await cpro.post(f"{F}/soumettre", json=body, headers=other.headers()))
