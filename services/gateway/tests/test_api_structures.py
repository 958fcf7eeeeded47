"""/structures and /me/structures through the gateway against service doubles."""

from __future__ import annotations

from chorus.common.v1 import common_pb2
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
)

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
        services=[
            pb.StructureService(
                id="s1", code="COMPTA", name="Comptabilité", active=True, cpp_id=27946199
            )
        ],
        cpp_id=25784152,
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


async def test_an_identifier_type_makes_the_identifier_an_exact_look_up(api, services):
    services.structures.answer("SearchStructures", pb.SearchStructuresResponse())

    response = await api.get(
        "/api/v1/structures",
        params={"identifier_type": "SIRET", "identifier": "732 829 320 00074"},
        headers=AUTH,
    )

    assert response.status_code == 200
    [call] = services.structures.calls_to("SearchStructures")
    assert call.request.identifier_type == pb.IDENTIFIER_TYPE_SIRET
    assert (call.request.identifier, call.request.identifier_prefix) == ("732 829 320 00074", "")


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
    # The integer ids the Chorus Pro-compatible API names them by.
    assert found.json()["cpp_id"] == 25784152
    assert found.json()["services"][0]["cpp_id"] == 27946199
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
    assert item["structure"]["cpp_id"] == 25784152
    assert item["spaces"] == [{"space": "FACTURES_EMISES", "mode": "MODIFICATION"}]
    assert item["services"] == []


USER_ID = "5d1c4a8e-2b7e-4d0b-9a5e-1f2b3c4d5e6f"
REQUEST_ID = "7e1c4a8e-2b7e-4d0b-9a5e-1f2b3c4d5e60"


async def test_patch_structure_sends_only_the_fields_given(api, services):
    services.structures.answer("UpdateStructure", pb.UpdateStructureResponse(structure=structure()))

    response = await api.patch(
        f"/api/v1/structures/{STRUCTURE_ID}",
        json={"libelle": "Siège", "engagement_required": False},
        headers=AUTH,
    )

    assert response.status_code == 200
    [call] = services.structures.calls_to("UpdateStructure")
    assert call.request.structure_id == STRUCTURE_ID
    assert call.request.HasField("libelle") and call.request.libelle == "Siège"
    assert call.request.HasField("engagement_required") and not call.request.engagement_required
    assert not call.request.HasField("raison_sociale")
    assert not call.request.HasField("address")
    assert call.request.status == pb.STRUCTURE_STATUS_UNSPECIFIED


async def test_members_list_shows_names_roles_and_services(api, services):
    services.structures.answer(
        "ListMembers",
        pb.ListMembersResponse(
            members=[
                pb.Member(
                    user=pb.Person(user_id=USER_ID, first_name="Pierre", last_name="Martin"),
                    role=pb.ROLE_GESTIONNAIRE_SECONDAIRE,
                    service_ids=["s1"],
                )
            ]
        ),
    )

    response = await api.get(f"/api/v1/structures/{STRUCTURE_ID}/members", headers=AUTH)

    assert response.json()["items"] == [
        {
            "user_id": USER_ID,
            "first_name": "Pierre",
            "last_name": "Martin",
            "email": None,
            "role": "GESTIONNAIRE_SECONDAIRE",
            "service_ids": ["s1"],
            "since": None,
        }
    ]


async def test_decision_maps_decision_role_and_comment(api, services):
    services.structures.answer(
        "DecideAttachmentRequest",
        pb.DecideAttachmentRequestResponse(
            request=pb.AttachmentRequest(
                id=REQUEST_ID,
                status=pb.ATTACHMENT_REQUEST_STATUS_VALIDEE,
                granted_role=pb.ROLE_GESTIONNAIRE_SECONDAIRE,
                requester=pb.Person(user_id=USER_ID),
            )
        ),
    )

    response = await api.post(
        f"/api/v1/attachment-requests/{REQUEST_ID}/decision",
        json={"decision": "VALIDEE", "role": "GESTIONNAIRE_SECONDAIRE", "comment": "Bienvenue"},
        headers=AUTH,
    )

    assert response.status_code == 200
    assert response.json()["status"] == "VALIDEE"
    assert response.json()["granted_role"] == "GESTIONNAIRE_SECONDAIRE"
    [call] = services.structures.calls_to("DecideAttachmentRequest")
    assert (call.request.decision, call.request.role, call.request.comment) == (
        pb.DECISION_VALIDEE,
        pb.ROLE_GESTIONNAIRE_SECONDAIRE,
        "Bienvenue",
    )


async def test_rule_failures_keep_their_status_and_code(api, services):
    services.structures.answer(
        "TransferPrincipalRole",
        PermissionDenied("PRINCIPAL_MANAGER_REQUIRED", "Seul le gestionnaire principal..."),
    )
    services.structures.answer(
        "DetachMember",
        FailedPrecondition("PRINCIPAL_CANNOT_BE_DETACHED", "Le gestionnaire principal..."),
    )

    transfer = await api.post(
        f"/api/v1/structures/{STRUCTURE_ID}/principal-manager",
        json={"user_id": USER_ID},
        headers=AUTH,
    )
    detach = await api.delete(f"/api/v1/structures/{STRUCTURE_ID}/members/{USER_ID}", headers=AUTH)

    assert (transfer.status_code, transfer.json()["code"]) == (403, "PRINCIPAL_MANAGER_REQUIRED")
    assert (detach.status_code, detach.json()["code"]) == (409, "PRINCIPAL_CANNOT_BE_DETACHED")


async def test_detach_and_leave_answer_204(api, services):
    services.structures.answer("DetachMember", pb.DetachMemberResponse())
    services.structures.answer("LeaveStructure", pb.LeaveStructureResponse())

    detach = await api.delete(f"/api/v1/structures/{STRUCTURE_ID}/members/{USER_ID}", headers=AUTH)
    leave = await api.delete(f"/api/v1/me/structures/{STRUCTURE_ID}", headers=AUTH)

    assert (detach.status_code, leave.status_code) == (204, 204)
    [call] = services.structures.calls_to("DetachMember")
    assert (call.request.structure_id, call.request.user_id) == (STRUCTURE_ID, USER_ID)


async def test_open_space_by_code_and_unknown_codes_are_refused(api, services):
    services.structures.answer(
        "OpenSpace",
        pb.OpenSpaceResponse(
            space=pb.SpaceState(
                space=pb.SPACE_ENGAGEMENTS, open=True, access_mode=pb.ACCESS_MODE_MODIFICATION
            )
        ),
    )

    opened = await api.put(f"/api/v1/structures/{STRUCTURE_ID}/spaces/ENGAGEMENTS", headers=AUTH)
    unknown = await api.put(f"/api/v1/structures/{STRUCTURE_ID}/spaces/CUISINE", headers=AUTH)

    assert opened.json()["space"] == "ENGAGEMENTS"
    assert opened.json()["access_mode"] == "MODIFICATION"
    assert opened.json()["pending_mode"] is None
    [call] = services.structures.calls_to("OpenSpace")
    assert call.request.space == pb.SPACE_ENGAGEMENTS
    assert unknown.status_code == 422


async def test_bulk_decision_and_member_services(api, services):
    services.structures.answer(
        "BatchDecideAttachmentRequests", pb.BatchDecideAttachmentRequestsResponse()
    )
    services.structures.answer("UpdateMember", pb.UpdateMemberResponse(member=pb.Member()))

    bulk = await api.post(
        f"/api/v1/structures/{STRUCTURE_ID}/attachment-requests/decisions",
        json={"request_ids": [REQUEST_ID], "decision": "REFUSEE", "comment": "Non"},
        headers=AUTH,
    )
    whole = await api.patch(
        f"/api/v1/structures/{STRUCTURE_ID}/members/{USER_ID}",
        json={"service_ids": []},
        headers=AUTH,
    )
    unchanged = await api.patch(
        f"/api/v1/structures/{STRUCTURE_ID}/members/{USER_ID}",
        json={"role": "UTILISATEUR"},
        headers=AUTH,
    )

    assert (bulk.status_code, whole.status_code, unchanged.status_code) == (200, 200, 200)
    [batch] = services.structures.calls_to("BatchDecideAttachmentRequests")
    assert list(batch.request.request_ids) == [REQUEST_ID]
    assert batch.request.decision == pb.DECISION_REFUSEE
    first, second = services.structures.calls_to("UpdateMember")
    assert first.request.HasField("services") and list(first.request.services.service_ids) == []
    assert not second.request.HasField("services")
    assert second.request.role == pb.ROLE_UTILISATEUR


async def test_cpp_ids_in_searches_and_service_lists_and_none_when_unset(api, services):
    bare = structure()
    bare.cpp_id = 0
    services.structures.answer(
        "SearchStructures", pb.SearchStructuresResponse(structures=[structure(), bare])
    )
    services.structures.answer("GetStructure", pb.GetStructureResponse(structure=structure()))

    found = await api.get("/api/v1/structures", params={"name": "martin"}, headers=AUTH)
    listed = await api.get(f"/api/v1/structures/{STRUCTURE_ID}/services", headers=AUTH)

    assert [item["cpp_id"] for item in found.json()["items"]] == [25784152, None]
    assert [item["cpp_id"] for item in listed.json()["items"]] == [27946199]


async def test_search_results_carry_the_identifier_type_and_the_manager_status(api, services):
    impostor = structure()
    impostor.id, impostor.identifier_type = "impostor", pb.IDENTIFIER_TYPE_AUTRE
    genuine = structure()
    genuine.has_principal_manager = True
    services.structures.answer(
        "SearchStructures", pb.SearchStructuresResponse(structures=[genuine, impostor])
    )

    response = await api.get("/api/v1/structures", params={"name": "martin"}, headers=AUTH)

    assert response.status_code == 200
    assert [
        (s["identifier_type"], s["identifier"], s["has_principal_manager"])
        for s in response.json()["items"]
    ] == [("SIRET", "73282932000074", True), ("AUTRE", "73282932000074", False)]
    # A structure read on its own carries no such flag (only search results do).
    services.structures.answer("GetStructure", pb.GetStructureResponse(structure=genuine))
    single = await api.get(f"/api/v1/structures/{STRUCTURE_ID}", headers=AUTH)
    assert "has_principal_manager" not in single.json()


async def test_the_openapi_document_declares_the_manager_status_of_search_results(api):
    schema = (await api.get("/api/v1/openapi.json")).json()
    components = schema["components"]["schemas"]
    page_items = components["StructurePage"]["properties"]["items"]["items"]["$ref"]
    result = components[page_items.rsplit("/", 1)[-1]]
    assert result["properties"]["has_principal_manager"]["type"] == "boolean"
    assert "has_principal_manager" in result["required"]
    assert "has_principal_manager" not in components["Structure"]["properties"]


async def test_creating_an_autre_structure_with_a_siret_is_a_422_naming_the_siret_type(
    api, services
):
    message = (
        "Cet identifiant a la forme d'un SIRET ou d'un SIREN : une structure établie en France "
        "s'identifie par son SIRET. Choisissez le type d'identifiant SIRET et saisissez les 14 "
        "chiffres du SIRET."
    )
    services.structures.answer(
        "CreateStructure",
        InvalidArgument(
            "IDENTIFIER_SIRENE_SHAPED", message, [FieldViolation("identifier", message)]
        ),
    )

    response = await api.post(
        "/api/v1/structures", json={**CREATE_BODY, "identifier_type": "AUTRE"}, headers=AUTH
    )

    assert response.status_code == 422
    assert response.json()["code"] == "IDENTIFIER_SIRENE_SHAPED"
    assert response.json()["errors"] == [{"field": "identifier", "message": message}]
