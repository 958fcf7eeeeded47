import uuid

import grpc
import pytest
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error
from chorus_structures.seed.demo import seed_demo_structures

from .conftest import random_siret

MINISTERE, VILLE, AGENCE = "11000201100010", "21750001600019", "13000548100010"


@pytest.fixture
async def seeded(pool):
    await seed_demo_structures(pool)


async def failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason


async def search(stub, as_user, **criteria) -> pb.SearchStructuresResponse:
    return await stub.SearchStructures(pb.SearchStructuresRequest(**criteria), metadata=as_user)


async def identifiers(stub, as_user, **criteria) -> list[str]:
    response = await search(stub, as_user, **criteria)
    return [s.identifier for s in response.structures]


async def test_unaccent_is_installed_on_the_test_server(pool):
    assert await pool.fetchval("SELECT structures_fold('Ministère ÉLÉGANT')") == "ministere elegant"


async def test_get_structure_returns_services_and_routing(stub, as_user, seeded):
    found = await stub.FindStructureByIdentifier(
        pb.FindStructureByIdentifierRequest(
            identifier_type=pb.IDENTIFIER_TYPE_SIRET, identifier="217 500 016 00019"
        ),
        metadata=as_user,
    )
    ville = found.structure
    got = await stub.GetStructure(pb.GetStructureRequest(structure_id=ville.id), metadata=as_user)

    assert got.structure == ville
    assert ville.raison_sociale == "Ville de Démoville"
    assert ville.routing == pb.RoutingParameters(service_code_required=True)
    assert [(s.code, s.name, s.active) for s in ville.services] == [
        ("SERV-FIN", "Service financier", True),
        ("SERV-TECH", "Services techniques", True),
    ]


async def test_unknown_structure_is_not_found(stub, as_user):
    code, reason = await failure(
        stub.GetStructure(pb.GetStructureRequest(structure_id=str(uuid.uuid4())), metadata=as_user)
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "STRUCTURE_NOT_FOUND")
    code, reason = await failure(
        stub.FindStructureByIdentifier(
            pb.FindStructureByIdentifierRequest(
                identifier_type=pb.IDENTIFIER_TYPE_SIRET, identifier="73282932000074"
            ),
            metadata=as_user,
        )
    )
    assert (code, reason) == (grpc.StatusCode.NOT_FOUND, "STRUCTURE_NOT_FOUND")


async def test_malformed_structure_id_is_invalid(stub, as_user):
    code, reason = await failure(
        stub.GetStructure(pb.GetStructureRequest(structure_id="42"), metadata=as_user)
    )
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "STRUCTURE_ID_INVALID")


async def test_search_by_identifier_prefix(stub, as_user, seeded):
    assert await identifiers(stub, as_user, identifier_prefix="110 002") == [MINISTERE]
    assert await identifiers(stub, as_user, identifier_prefix="999") == []


async def test_identifier_prefix_under_3_characters_is_too_short(stub, as_user, seeded):
    code, reason = await failure(search(stub, as_user, identifier_prefix="11"))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "SEARCH_TOO_SHORT")


async def test_name_search_ignores_case_and_accents(stub, as_user, seeded):
    assert await identifiers(stub, as_user, name="demoville") == [VILLE]
    assert await identifiers(stub, as_user, name="DÉMONSTRATION") == [AGENCE, MINISTERE]
    assert await identifiers(stub, as_user, name="ministere demonstration") == [MINISTERE]


async def test_name_search_also_matches_the_libelle(stub, as_user, seeded):
    assert await identifiers(stub, as_user, name="hotel de ville") == [VILLE]


async def test_name_wildcards_are_taken_literally(stub, as_user, seeded):
    assert await identifiers(stub, as_user, name="%") == []


async def test_kind_filter(stub, as_user, seeded, create_request):
    request = create_request(raison_sociale="Démonstration Conseil SARL")
    private = (await stub.CreateStructure(request, metadata=as_user)).structure

    everyone = await identifiers(stub, as_user, name="demonstration")
    assert private.identifier in everyone and len(everyone) == 3
    public = await identifiers(stub, as_user, name="demonstration", kind=pb.STRUCTURE_KIND_PUBLIQUE)
    assert public == [AGENCE, MINISTERE]


async def test_pages_cover_every_result_once_in_name_order(stub, as_user, seeded):
    seen, token, pages = [], "", 0
    while True:
        page = await search(stub, as_user, page_size=1, page_token=token)
        seen += [s.raison_sociale for s in page.structures]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == [
        "Agence nationale de démonstration",
        "Centre hospitalier Saint-Exemple",
        "Ministère de la Démonstration",
        "Ville de Démoville",
    ]
    assert pages == 4


async def test_page_token_cannot_be_reused_with_other_criteria(stub, as_user, seeded):
    token = (await search(stub, as_user, page_size=1)).next_page_token
    code, reason = await failure(search(stub, as_user, name="ville", page_token=token))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID")


async def test_name_search_tolerates_typos_exact_matches_first(
    stub, as_user, seeded, create_request
):
    for name in ("Les Délices de Savoie", "Délices du Lac", "Mairie de Chambéry"):
        await stub.CreateStructure(create_request(raison_sociale=name), metadata=as_user)

    async def names(query, **criteria):
        response = await search(stub, as_user, name=query, **criteria)
        return [s.raison_sociale for s in response.structures]

    assert await names("délises de savoi") == ["Les Délices de Savoie"]
    assert await names("mairei chambery") == ["Mairie de Chambéry"]
    # "delices" holds exactly in both; the look-alike "demoville" is not "delices".
    assert await names("DELICES") == ["Délices du Lac", "Les Délices de Savoie"]
    # Exact words rank before look-alikes.
    assert (await names("ville demoville"))[0] == "Ville de Démoville"


async def test_ranked_pages_cover_every_result_once(stub, as_user, create_request):
    for name in ("Boulangerie Martin", "Boulangeri Martine", "Boulanjerie du Port"):
        await stub.CreateStructure(create_request(raison_sociale=name), metadata=as_user)
    seen, token = [], ""
    while True:
        page = await search(stub, as_user, name="boulangerie", page_size=1, page_token=token)
        seen += [s.raison_sociale for s in page.structures]
        token = page.next_page_token
        if not token:
            break
    assert seen[0] == "Boulangerie Martin"
    assert sorted(seen) == ["Boulangeri Martine", "Boulangerie Martin", "Boulanjerie du Port"]


async def test_status_filter(stub, as_user, create_request):
    created = (
        await stub.CreateStructure(create_request(raison_sociale="Fermée SARL"), metadata=as_user)
    ).structure
    await stub.UpdateStructure(
        pb.UpdateStructureRequest(structure_id=created.id, status=pb.STRUCTURE_STATUS_INACTIVE),
        metadata=as_user,
    )

    active = await identifiers(stub, as_user, name="fermee", status=pb.STRUCTURE_STATUS_ACTIVE)
    inactive = await identifiers(stub, as_user, name="fermee", status=pb.STRUCTURE_STATUS_INACTIVE)
    assert (active, inactive) == ([], [created.identifier])


async def test_another_user_finds_a_private_structure_only_by_its_exact_identifier(
    stub, as_user, signer, seeded, create_request
):
    siret = random_siret()
    request = create_request(raison_sociale="Démonstration Conseil SARL", identifier=siret)
    private = (await stub.CreateStructure(request, metadata=as_user)).structure
    other = signer.metadata(str(uuid.uuid4()))

    # Not by name, prefix or listing: only public structures come back.
    assert await identifiers(stub, other, name="demonstration conseil") == []
    assert await identifiers(stub, other, name="demonstration") == [AGENCE, MINISTERE]
    assert await identifiers(stub, other, identifier_prefix=siret[:9]) == []
    listed = await identifiers(stub, other, page_size=100)
    assert private.identifier not in listed and len(listed) == 4
    # By type and full identifier (typed with spaces), yes: how one finds a company to join.
    spaced = " ".join(siret[i : i + 3] for i in range(0, 14, 3))
    exact = await search(stub, other, identifier_type=pb.IDENTIFIER_TYPE_SIRET, identifier=spaced)
    assert [s.id for s in exact.structures] == [private.id] and not exact.next_page_token
    managed = pb.Structure()
    managed.CopyFrom(private)
    managed.has_principal_manager = True  # its creator manages it
    assert exact.structures[0] == managed
    # The identifier of another type, or a filter it fails, finds nothing.
    other_type = await identifiers(
        stub, other, identifier_type=pb.IDENTIFIER_TYPE_HORS_UE, identifier=siret
    )
    public_only = await identifiers(
        stub,
        other,
        identifier_type=pb.IDENTIFIER_TYPE_SIRET,
        identifier=siret,
        kind=pb.STRUCTURE_KIND_PUBLIQUE,
    )
    assert (other_type, public_only) == ([], [])
    # Its members find it as before.
    assert await identifiers(stub, as_user, name="demonstration conseil") == [siret]
    assert await identifiers(stub, as_user, identifier_prefix=siret[:9]) == [siret]
    assert siret in await identifiers(stub, as_user, page_size=100)


async def test_a_public_structure_is_found_by_exact_identifier_too(stub, as_user, seeded):
    found = await identifiers(
        stub, as_user, identifier_type=pb.IDENTIFIER_TYPE_SIRET, identifier=MINISTERE
    )
    assert found == [MINISTERE]


async def test_a_bad_exact_search_is_refused_with_its_reason(stub, as_user, seeded):
    cases = [
        ({"identifier": MINISTERE}, "IDENTIFIER_TYPE_REQUIRED"),
        (
            {"identifier_type": pb.IDENTIFIER_TYPE_SIRET, "identifier": "11000201100011"},
            "SIRET_CHECKSUM_INVALID",
        ),
        (
            {
                "identifier_type": pb.IDENTIFIER_TYPE_SIRET,
                "identifier": MINISTERE,
                "name": "ministere",
            },
            "SEARCH_CRITERIA_CONFLICT",
        ),
    ]
    for criteria, reason in cases:
        code, got = await failure(search(stub, as_user, **criteria))
        assert (code, got) == (grpc.StatusCode.INVALID_ARGUMENT, reason)


async def test_a_user_finds_their_company_by_siret_and_asks_to_join_it(
    stub, as_user, signer, create_request
):
    siret = random_siret()
    company = (
        await stub.CreateStructure(create_request(identifier=siret), metadata=as_user)
    ).structure
    newcomer = signer.metadata(str(uuid.uuid4()))

    [found] = (
        await search(stub, newcomer, identifier_type=pb.IDENTIFIER_TYPE_SIRET, identifier=siret)
    ).structures
    asked = await stub.RequestAttachment(
        pb.RequestAttachmentRequest(structure_id=found.id, comment="Comptable"),
        metadata=newcomer,
    )

    assert found.id == company.id
    assert asked.request.status == pb.ATTACHMENT_REQUEST_STATUS_EN_COURS_DE_VALIDATION
