"""/structures and /me/structures through the gateway against service doubles."""

from __future__ import annotations

from chorus.common.v1 import common_pb2
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.errors import FieldViolation, InvalidArgument

AUTH = {"Authorization": "Bearer tok"}
STRUCTURE_ID = "0b7e4b8e-31a4-4f7e-9d59-0d1f4b0b2a10"


def structure() -> pb.Structure:
    return pb.Structure(
        id=STRUCTURE_ID,
        identifier_type=pb.IDENTIFIER_TYPE_SIRET,
        identifier="73282932000074",
        raison_sociale="Boulangerie Martin",
        kind=pb.STRUCTURE_KIND_PRIVEE,
        status=pb.STRUCTURE_STATUS_ACTIVE,
        address=common_pb2.Address(
            line1="1 rue de la Paix", postal_code="75002", city="Paris", country="FR"
        ),
        routing=pb.RoutingParameters(service_code_required=True),
        services=[pb.StructureService(id="s1", code="COMPTA", name="Comptabilité", active=True)],
    )


CREATE_BODY = {
    "identifier_type": "SIRET",
    "identifier": "73282932000074",
    "raison_sociale": "Boulangerie Martin",
    "address": {
        "line1": "1 rue de la Paix",
        "postal_code": "75002",
        "city": "Paris",
        "country": "FR",
    },
}


async def test_create_structure_maps_body_and_answers_201(api, services):
    services.structures.answer("CreateStructure", pb.CreateStructureResponse(structure=structure()))

    response = await api.post(
        "/api/v1/structures", json={**CREATE_BODY, "kind": "PUBLIQUE"}, headers=AUTH
    )

    assert response.status_code == 201
    body = response.json()
    assert body["id"] == STRUCTURE_ID
    assert body["identifier_type"] == "SIRET"
    assert body["kind"] == "PRIVEE"
    assert body["status"] == "ACTIVE"
    assert body["libelle"] is None
    assert body["address"]["line2"] is None
    assert body["routing"]["service_code_required"] is True
    assert body["services"][0]["code"] == "COMPTA"
    [call] = services.structures.calls_to("CreateStructure")
    assert call.request.identifier_type == pb.IDENTIFIER_TYPE_SIRET
    assert call.request.kind == pb.STRUCTURE_KIND_PUBLIQUE
    assert call.request.address.city == "Paris"
    assert call.metadata["authorization"] == "Bearer tok"


async def test_siret_checksum_failure_is_a_422_with_the_field(api, services):
    services.structures.answer(
        "CreateStructure",
        InvalidArgument(
            "SIRET_CHECKSUM_INVALID",
            "Ce SIRET n'est pas valide : vérifiez les 14 chiffres.",
            [FieldViolation("identifier", "Clé de contrôle incorrecte.")],
        ),
    )

    response = await api.post("/api/v1/structures", json=CREATE_BODY, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["code"] == "SIRET_CHECKSUM_INVALID"
    assert response.json()["errors"] == [
        {"field": "identifier", "message": "Clé de contrôle incorrecte."}
    ]


async def test_unknown_identifier_type_is_refused_before_any_call(api, services):
    response = await api.post(
        "/api/v1/structures",
        json={**CREATE_BODY, "identifier_type": "IDENTIFIER_TYPE_SIRET"},
        headers=AUTH,
    )

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "identifier_type"
    assert "SIRET" in error["message"]
    assert services.structures.calls == []


async def test_search_maps_query_and_pages(api, services):
    services.structures.answer(
        "SearchStructures",
        pb.SearchStructuresResponse(structures=[structure()], next_page_token="p2"),
    )

    response = await api.get(
        "/api/v1/structures",
        params={
            "identifier": "732",
            "name": "martin",
            "kind": "PUBLIQUE",
            "page_size": 10,
            "page_token": "p1",
        },
        headers=AUTH,
    )

    assert response.status_code == 200
    assert response.json()["next_page_token"] == "p2"
    assert [s["id"] for s in response.json()["items"]] == [STRUCTURE_ID]
    [call] = services.structures.calls_to("SearchStructures")
    assert (call.request.identifier_prefix, call.request.name) == ("732", "martin")
    assert call.request.kind == pb.STRUCTURE_KIND_PUBLIQUE
    assert (call.request.page_size, call.request.page_token) == (10, "p1")


async def test_page_size_above_100_is_refused(api, services):
    response = await api.get("/api/v1/structures", params={"page_size": 500}, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "page_size"
    assert services.structures.calls == []


async def test_malformed_page_token_is_a_400(api, services):
    services.structures.answer(
        "SearchStructures", InvalidArgument("PAGE_TOKEN_INVALID", "Jeton de page invalide.")
    )

    response = await api.get("/api/v1/structures", params={"page_token": "zz"}, headers=AUTH)

    assert response.status_code == 400


async def test_get_structure_and_unknown_ids(api, services):
    services.structures.answer("GetStructure", pb.GetStructureResponse(structure=structure()))

    found = await api.get(f"/api/v1/structures/{STRUCTURE_ID}", headers=AUTH)
    malformed = await api.get("/api/v1/structures/not-a-uuid", headers=AUTH)

    assert found.json()["raison_sociale"] == "Boulangerie Martin"
    assert malformed.status_code == 404
    assert malformed.json()["code"] == "NOT_FOUND"
    assert len(services.structures.calls) == 1


async def test_my_structures_lists_memberships_with_roles_and_spaces(api, services):
    services.structures.answer(
        "ListMyMemberships",
        pb.ListMyMembershipsResponse(
            memberships=[
                pb.Membership(
                    structure=structure(),
                    role=pb.ROLE_GESTIONNAIRE_PRINCIPAL,
                    spaces=[
                        pb.SpaceAccess(
                            space=pb.SPACE_FACTURES_EMISES, mode=pb.ACCESS_MODE_MODIFICATION
                        )
                    ],
                )
            ]
        ),
    )

    response = await api.get("/api/v1/me/structures", headers=AUTH)

    [item] = response.json()["items"]
    assert item["role"] == "GESTIONNAIRE_PRINCIPAL"
    assert item["structure"]["id"] == STRUCTURE_ID
    assert item["spaces"] == [{"space": "FACTURES_EMISES", "mode": "MODIFICATION"}]
    assert item["services"] == []
