"""The edge's pure parts: body checking against the Swagger, the cpro-account header, the
token request, formats, pages, the envelope of gRPC errors, the reference data."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

import grpc
import pytest
from chorus.invoices.v1 import invoices_service_pb2 as ipb
from chorus_cpro_api.edge import reference_data as ref
from chorus_cpro_api.edge.bodies import as_list, as_object, checked, parse_json_object
from chorus_cpro_api.edge.credentials import decode_account_header
from chorus_cpro_api.edge.envelope import CproError, from_rpc_error, ok
from chorus_cpro_api.edge.formats import amount, date_of, parse_date, parse_moment, timestamp
from chorus_cpro_api.edge.invoices import DEPOSIT_MODES, MODES_SHOWN_AS, sort_order
from chorus_cpro_api.edge.oauth import OAuthError, ascii_text, parse_token_request
from chorus_cpro_api.edge.paging import page_request, page_result
from chorus_platform import errors, rpc_status
from chorus_platform.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from google.protobuf.timestamp_pb2 import Timestamp

SPEC = Path(__file__).resolve().parents[1] / "spec"


def test_the_swagger_copies_are_the_official_files_byte_for_byte():
    expected = {
        "factures-swagger.json": "cd3b65592673fc39d22c3bff1db6739eb1ea39483224f3f3ed5672e253c7d616",
        "structures-swagger.json": (
            "282ca05916a89e4d8bebdccc889ccd34ceb017ef4187e0b5228676026f1d47a5"
        ),
    }
    for name, digest in expected.items():
        assert hashlib.sha256((SPEC / name).read_bytes()).hexdigest() == digest, name
        assert digest in (SPEC / "SOURCE.md").read_text()


# -- bodies ------------------------------------------------------------------------------------


def refusal_fields(error: CproError) -> dict[str, str]:
    return {f.champ: f.message for f in error.fields}


def test_a_well_typed_body_passes_and_unknown_keys_and_nulls_are_left_alone():
    body = checked(
        "deposerFluxFacture",
        {
            "idUtilisateurCourant": 0,
            "fichierFlux": "PD94",
            "nomFichier": "f.xml",
            "syntaxeFlux": "in_dp_e1_ubl_invoice",  # any case: given its documented spelling
            "avecSignature": False,
            "syntaxFluxType": 12,  # PHP-PG's misspelt extra key
            "dateDepot": None,
        },
    )
    assert body["syntaxeFlux"] == "IN_DP_E1_UBL_INVOICE"
    assert "dateDepot" not in body
    assert body["syntaxFluxType"] == 12


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"idFacture": "12"}, "idFacture"),
        ({"idFacture": True}, "idFacture"),
        ({"idFacture": 2**63}, "idFacture"),
        ({"idFacture": 1.5}, "idFacture"),
        ({"idFacture": 1, "nbResultatsMaximum": "x"}, "nbResultatsMaximum"),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_naming_it(body, field):
    with pytest.raises(CproError) as refused:
        checked("consulterHistoriqueFacture", body)
    assert refused.value.kind.status == 400
    assert refused.value.kind.code_retour == 20002
    assert field in refusal_fields(refused.value)
    assert refused.value.body()["erreur"]["champs"][0]["champ"] == field


def test_nested_fields_and_list_items_are_named_by_their_path():
    with pytest.raises(CproError) as refused:
        checked(
            "soumettreFacture",
            {
                "references": {"typeFacture": "DEVIS"},
                "lignePoste": [{"lignePosteNumero": 1}, {"lignePosteQuantite": "trois"}],
            },
        )
    fields = refusal_fields(refused.value)
    assert "references.typeFacture" in fields
    assert "lignePoste[1].lignePosteQuantite" in fields
    assert "FACTURE" in fields["references.typeFacture"]


def test_an_object_for_a_list_and_a_list_for_an_object_are_tolerated():
    # PY-FE sends pieceJointePrincipale as a list; PHP clients send lone objects for lists.
    body = checked(
        "soumettreFacture",
        {
            "pieceJointePrincipale": [{"pieceJointePrincipaleId": 4}],
            "lignePoste": {"lignePosteNumero": 1, "lignePosteQuantite": 2},
        },
    )
    assert as_object(body["pieceJointePrincipale"]) == {"pieceJointePrincipaleId": 4}
    assert as_list(body["lignePoste"]) == [{"lignePosteNumero": 1, "lignePosteQuantite": 2}]
    with pytest.raises(CproError) as refused:
        checked("soumettreFacture", {"pieceJointePrincipale": [{"pieceJointePrincipaleId": "x"}]})
    assert "pieceJointePrincipale[0].pieceJointePrincipaleId" in refusal_fields(refused.value)


@pytest.mark.parametrize("text", ["a\x00b", "a\x07b", "\ud800"])
def test_forbidden_characters_in_a_string_are_refused(text):
    with pytest.raises(CproError) as refused:
        checked("consulterCR", {"numeroFluxDepot": text})
    assert "numeroFluxDepot" in refusal_fields(refused.value)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"idFacture": NaN}'[:0] + b"nul"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(raw):
    with pytest.raises(CproError) as refused:
        parse_json_object(raw)
    assert refused.value.kind.status == 400


def test_huge_or_infinite_numbers_are_named_not_crashed_on():
    body = parse_json_object(b'{"idFacture": 1e999, "nbResultatsMaximum": ' + b"9" * 40 + b"}")
    with pytest.raises(CproError) as refused:
        checked("consulterHistoriqueFacture", body)
    assert set(refusal_fields(refused.value)) == {"idFacture", "nbResultatsMaximum"}


def test_an_empty_body_is_an_empty_object_and_a_bom_is_tolerated():
    assert parse_json_object(b"") == {}
    assert parse_json_object(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_every_operation_the_api_serves_has_a_body_schema():
    for operation in (
        "deposerFluxFacture",
        "rechercherFactureParFournisseur",
        "rechercherStructure",
        "consulterStructureAvecTVAIntraCom",
        "consulterCR",
        "consulterCRDetaille",
        "ajouterFichierDansSysteme",
        "recupererReferentiel",
        "recupererEtatsTraitement",
        "recupererRattachementsMonCompteUtilisateur",
        "rechercherEngagementJuridique",
    ):
        assert checked(operation, {}) == {}


# -- search criteria ---------------------------------------------------------------------------

ISSUED, RECEIVED = ipb.LIST_SIDE_ISSUED, ipb.LIST_SIDE_RECEIVED


@pytest.mark.parametrize(
    ("params", "side", "order"),
    [
        ({}, ISSUED, (ipb.LIST_ORDER_UNSPECIFIED, False)),
        ({"triSens": "Ascendant"}, ISSUED, (ipb.LIST_ORDER_UNSPECIFIED, False)),
        ({"triColonne": "MontantHT"}, ISSUED, (ipb.LIST_ORDER_NET_TOTAL, True)),
        ({"triColonne": "DateDepot", "triSens": "Descendant"}, ISSUED,
         (ipb.LIST_ORDER_DEPOSITED_AT, False)),
        ({"triColonne": "DesignationDestinataire"}, ISSUED,
         (ipb.LIST_ORDER_COUNTERPARTY_NAME, True)),
        ({"triColonne": "Fournisseur", "triSens": "Descendant"}, RECEIVED,
         (ipb.LIST_ORDER_COUNTERPARTY_NAME, False)),
        # The structure's own column: one value for the whole list.
        ({"triColonne": "DesignationFournisseur"}, ISSUED, (ipb.LIST_ORDER_UNSPECIFIED, False)),
        ({"triColonne": "CodeDestinataire"}, RECEIVED, (ipb.LIST_ORDER_UNSPECIFIED, False)),
    ],
)  # fmt: skip
def test_sort_columns_map_to_the_services_orders(params, side, order):
    assert sort_order(params, side, "p") == order


@pytest.mark.parametrize("column", ["CodeDestinataire", "NumeroMarche", "ModeDepot", "x"])
def test_columns_chorus_cannot_sort_on_are_refused_naming_the_field(column):
    with pytest.raises(CproError) as refused:
        sort_order({"triColonne": column}, ISSUED, "rechercheFactureParFournisseur")
    assert refused.value.kind.code_retour == 20002
    assert [f.champ for f in refused.value.fields] == ["rechercheFactureParFournisseur.triColonne"]
    assert "MontantTTC" in refused.value.fields[0].message


def test_deposit_modes_are_searched_as_they_are_shown():
    assert MODES_SHOWN_AS["UPLOAD_PORTAIL"] == (ipb.DEPOSIT_MODE_FILE, ipb.DEPOSIT_MODE_BATCH)
    assert MODES_SHOWN_AS["DEPOT_PDF_API"] == (ipb.DEPOSIT_MODE_PDF,)
    assert "SAISIE_WEB" not in MODES_SHOWN_AS
    for shown, modes in MODES_SHOWN_AS.items():
        assert {DEPOSIT_MODES[m] for m in modes} == {shown}


# -- cpro-account ------------------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_the_cpro_account_header_reads_base64_of_login_and_password():
    assert decode_account_header(b64("TECH_1@cpro.fr:p:a:ss")) == ("TECH_1@cpro.fr", "p:a:ss")
    # unpadded, URL-safe, and unencoded (base64 never holds ":") are tolerated
    assert decode_account_header(b64("tech:secret").rstrip("=")) == ("tech", "secret")
    assert decode_account_header("tech:secret") == ("tech", "secret")


@pytest.mark.parametrize(
    ("header", "raison"),
    [
        (None, "MISSING"),
        ("  ", "MISSING"),
        ("***", "MALFORMED"),
        (b64("no-colon"), "MALFORMED"),
        (b64(":password"), "MALFORMED"),
        (b64("login:"), "MALFORMED"),
        (b64("log\x00in:pw"), "MALFORMED"),
    ],
)
def test_a_missing_or_unreadable_cpro_account_says_so(header, raison):
    with pytest.raises(CproError) as refused:
        decode_account_header(header)
    erreur = refused.value.body()["erreur"]
    assert refused.value.kind.status == 401
    assert erreur["credential"] == "cpro-account"
    assert erreur["raison"] == raison
    assert erreur["message"]


# -- token request -----------------------------------------------------------------------------


def test_the_token_request_of_chorus_api_is_read_although_not_url_encoded():
    # PY-CA: f"grant_type=...&client_id={id}&client_secret={secret}&scope=openid"
    parsed = parse_token_request(
        b"grant_type=client_credentials&client_id=abc&client_secret=s+e/c%=&scope=openid", None
    )
    assert parsed.client_id == "abc"
    assert "s+e/c%=" in parsed.secrets  # as sent, tried when the decoded one is refused
    assert parsed.scope == "openid"
    assert not parsed.basic


def test_the_token_request_with_basic_authentication_and_no_scope():
    header = "Basic " + b64("my%20id:se%3Acret")
    parsed = parse_token_request(b"grant_type=client_credentials", header)
    assert (parsed.client_id, parsed.secrets, parsed.scope, parsed.basic) == (
        "my id",
        ("se:cret",),
        "",
        True,
    )


@pytest.mark.parametrize(
    ("body", "header", "status", "error"),
    [
        (b"client_id=a&client_secret=b", None, 400, "invalid_request"),
        (b"grant_type=password&username=a", None, 400, "unsupported_grant_type"),
        (b"grant_type=client_credentials", None, 401, "invalid_client"),
        (b"grant_type=client_credentials&client_id=a", None, 401, "invalid_client"),
        (b"grant_type=client_credentials", "Basic ###", 401, "invalid_client"),
        (
            b"grant_type=client_credentials&client_id=other&client_secret=b",
            "Basic " + base64.b64encode(b"a:b").decode(),
            400,
            "invalid_request",
        ),
        (b"\xff", None, 400, "invalid_request"),
    ],
)
def test_token_request_refusals_follow_rfc_6749(body, header, status, error):
    with pytest.raises(OAuthError) as refused:
        parse_token_request(body, header)
    response = refused.value.response()
    assert (response.status_code, refused.value.error) == (status, error)
    assert response.headers["cache-control"] == "no-store"
    if header and header.startswith("Basic") and status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


def test_error_descriptions_are_plain_ascii():
    assert ascii_text("Réessayez « bientôt »\n") == "Reessayez  bientot "


# -- formats and pages -------------------------------------------------------------------------


def test_timestamps_are_paris_time_with_milliseconds_and_dates_are_days():
    moment = Timestamp()
    moment.FromDatetime(dt.datetime(2026, 1, 2, 23, 30, 12, 123456, tzinfo=dt.UTC))
    assert timestamp(moment) == "2026-01-03T00:30:12.123+01:00"
    assert date_of(moment) == "2026-01-03"
    assert timestamp(Timestamp()) is None
    assert amount("1200.505") == 1200.51
    assert amount("") is None


def test_request_dates_are_read_leniently():
    assert parse_date("2026-03-04") == dt.date(2026, 3, 4)
    assert parse_date("2026-03-04T00:00:00Z") == dt.date(2026, 3, 4)
    assert parse_date("04/03/2026") is None
    assert parse_moment("2026-03-04", end_of_day=True).hour == 23
    assert parse_moment("2026-03-04T10:00:00Z").utcoffset() == dt.timedelta(0)


def test_pages_default_to_ten_are_capped_at_a_thousand_and_say_how_many_there_are():
    assert page_request(None) == page_request({}) == page_request({"nbResultatsParPage": 0})
    page = page_request({"nbResultatsParPage": 10000, "pageResultatDemandee": 3})
    assert (page.size, page.number) == (1000, 3)
    assert page_result(page, 2501) == {
        "pageCourante": 3,
        "pages": 3,
        "nbResultatsParPage": 1000,
        "total": 2501,
    }
    assert page_result(page_request({}), 0)["pages"] == 0


# -- envelope ----------------------------------------------------------------------------------


def rpc_error(error) -> grpc.aio.AioRpcError:
    """The error a client sees when a service aborts with ``error``."""
    status = rpc_status.to_status(error)
    return grpc.aio.AioRpcError(
        status.code,
        grpc.aio.Metadata(),
        grpc.aio.Metadata(*status.trailing_metadata),
        details=status.details,
    )


def test_service_refusals_keep_the_envelope_and_their_reason():
    missing = from_rpc_error(rpc_error(NotFound("INVOICE_NOT_FOUND", "Facture introuvable.")))
    assert (missing.kind.status, missing.kind.code_retour) == (404, 20006)
    assert missing.body()["erreur"]["raison"] == "INVOICE_NOT_FOUND"
    wrong_state = from_rpc_error(
        rpc_error(FailedPrecondition("INVALID_STATUS_TRANSITION", "Statut incompatible."))
    )
    assert (wrong_state.kind.status, wrong_state.kind.code_retour) == (400, 20007)
    refused = from_rpc_error(rpc_error(InvalidArgument("REASON_REQUIRED", "Motif requis.")))
    assert (refused.kind.status, refused.kind.code_retour) == (400, 20008)
    assert refused.body()["libelle"] == "Motif requis."


def test_an_unavailable_service_is_a_503_with_retry_after():
    down = grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), details="down"
    )
    refusal = from_rpc_error(down)
    assert refusal.kind.status == 503
    assert refusal.headers["Retry-After"] == "2"
    assert refusal.body()["codeRetour"] == 503


def test_a_pdf_in_preparation_is_a_503_saying_so_for_telecharger():
    message = "Le PDF de cette facture est en préparation : réessayez dans quelques secondes."
    preparing = Unavailable(
        "DOCUMENT_IN_PREPARATION", message, metadata={"retry_after_seconds": "2"}
    )
    refusal = from_rpc_error(rpc_error(preparing))
    assert (refusal.kind.status, refusal.headers["Retry-After"]) == (503, "2")
    body = refusal.body()
    assert body["libelle"] == message
    assert body["erreur"]["raison"] == "DOCUMENT_EN_PREPARATION"


def test_an_unexpected_error_reveals_only_a_reference():
    broken = grpc.aio.AioRpcError(
        grpc.StatusCode.INTERNAL, grpc.aio.Metadata(), grpc.aio.Metadata(), details="boom SQL"
    )
    body = from_rpc_error(broken).body()
    assert body["codeRetour"] == 500
    assert "boom" not in str(body)
    assert len(body["erreur"]["reference"]) == 32


def test_success_envelope():
    assert ok(a=1) == {"codeRetour": 0, "libelle": "TRA_MSG_00.000", "a": 1}


# -- reference data ----------------------------------------------------------------------------


def test_reference_lists_hold_the_standards():
    currencies = {c["codeDevise"]: c["libelleDevise"] for c in ref.currencies("fr")}
    assert currencies["EUR"] == "Euro"
    assert "XAU" not in currencies
    countries = {c["codePays"]: c["libellePays"] for c in ref.countries("fr")}
    assert countries["DE"] == "Allemagne"
    assert len(countries) == 249
    assert {c["codePays"]: c["libellePays"] for c in ref.countries("en")}["DE"] == "Germany"
    assert len(ref.FLOW_SYNTAXES) == 13
    assert ref.language("FR") == ref.language(None) == "fr"
    assert ref.language("en") == "en"


def test_a_corrupted_document_is_an_internal_error_that_says_so():
    corrupted = errors.DomainError("DOCUMENT_CORRUPTED", "Le document est altéré.")
    status = rpc_status.to_status(corrupted, {errors.DomainError: grpc.StatusCode.DATA_LOSS})
    refusal = from_rpc_error(
        grpc.aio.AioRpcError(
            status.code,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(*status.trailing_metadata),
            status.details,
        )
    )
    assert refusal.kind.status == 500
    assert refusal.body()["libelle"] == "Le document est altéré."
