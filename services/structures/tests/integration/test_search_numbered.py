"""SearchStructures with page numbers and the Chorus Pro criteria (structures/v1/rechercher):
totals, every criterion combined, address filters, the same visibility rule as keyset pages."""

import uuid

import grpc
import pytest
from chorus.common.v1 import common_pb2
from chorus.structures.v1 import structures_service_pb2 as pb
from chorus_platform.rpc_status import from_rpc_error
from chorus_structures.seed.demo import seed_demo_structures

from .conftest import random_siret

MINISTERE, VILLE, AGENCE, HOPITAL = (
    "11000201100010",
    "21750001600019",
    "13000548100010",
    "26750045200011",
)
INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
async def seeded(pool):
    await seed_demo_structures(pool)


@pytest.fixture
def stranger(signer):
    return signer.metadata(str(uuid.uuid4()))


async def failure(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = from_rpc_error(caught.value)
    return error.code, error.reason


async def search(stub, metadata, **criteria) -> pb.SearchStructuresResponse:
    criteria.setdefault("page_number", 1)
    criteria.setdefault("page_size", 10)
    return await stub.SearchStructures(pb.SearchStructuresRequest(**criteria), metadata=metadata)


async def found(stub, metadata, **criteria) -> tuple[list[str], int]:
    response = await search(stub, metadata, **criteria)
    return [s.identifier for s in response.structures], response.total_size


async def test_pages_by_number_with_the_total(stub, stranger, seeded):
    first = await found(stub, stranger, page_number=1, page_size=3)
    second = await found(stub, stranger, page_number=2, page_size=3)
    past_the_end = await found(stub, stranger, page_number=3, page_size=3)

    # Raison sociale order: Agence, Centre hospitalier, Ministère, Ville.
    assert first == ([AGENCE, HOPITAL, MINISTERE], 4)
    assert second == ([VILLE], 4)
    assert past_the_end == ([], 4)


async def test_numbered_answer_has_no_page_token(stub, stranger, seeded):
    response = await search(stub, stranger, page_size=1)
    assert response.next_page_token == "" and len(response.structures) == 1


@pytest.mark.parametrize("page_size", [0, -1, 1001])
async def test_page_size_must_be_1_to_1000(stub, stranger, page_size):
    code, reason = await failure(search(stub, stranger, page_size=page_size))
    assert (code, reason) == (INVALID, "PAGE_SIZE_INVALID")


async def test_page_size_of_1000_is_accepted(stub, stranger, seeded):
    assert (await found(stub, stranger, page_size=1000))[1] == 4


async def test_negative_page_number_is_refused(stub, stranger):
    code, reason = await failure(search(stub, stranger, page_number=-2))
    assert (code, reason) == (INVALID, "PAGE_NUMBER_INVALID")


async def test_page_token_with_page_number_is_refused(stub, stranger, seeded):
    token = (
        await stub.SearchStructures(pb.SearchStructuresRequest(page_size=1), metadata=stranger)
    ).next_page_token
    code, reason = await failure(search(stub, stranger, page_token=token))
    assert (code, reason) == (INVALID, "PAGING_CONFLICT")


async def test_keyset_pages_are_unchanged(stub, stranger, seeded):
    """Without page_number, page size 0 is the default and 1001 is capped (the portal)."""
    response = await stub.SearchStructures(
        pb.SearchStructuresRequest(page_size=1001), metadata=stranger
    )
    assert len(response.structures) == 4 and response.total_size == 0


async def test_exact_siret_finds_a_private_structure_of_others(
    stub, as_user, stranger, create_request
):
    siret = random_siret()
    private = (
        await stub.CreateStructure(create_request(identifier=siret), metadata=as_user)
    ).structure

    by_type_and_identifier = await search(
        stub, stranger, identifier_type=pb.IDENTIFIER_TYPE_SIRET, identifier=siret
    )
    by_identifier_alone = await found(stub, stranger, identifier=f" {siret[:9]} {siret[9:]}")

    private.has_principal_manager = True  # search results say whether someone manages it
    assert list(by_type_and_identifier.structures) == [private]
    assert by_type_and_identifier.total_size == 1
    assert by_identifier_alone == ([siret], 1)


async def test_private_structures_of_others_stay_hidden_from_listings(
    stub, as_user, stranger, seeded, create_request
):
    siret = random_siret()
    request = create_request(raison_sociale="Démonstration Conseil SARL", identifier=siret)
    await stub.CreateStructure(request, metadata=as_user)

    assert await found(stub, stranger, name="demonstration conseil") == ([], 0)
    assert await found(stub, stranger, identifier_prefix=siret[:9]) == ([], 0)
    assert await found(stub, stranger, identifier_type=pb.IDENTIFIER_TYPE_SIRET) == (
        [AGENCE, HOPITAL, MINISTERE, VILLE],
        4,
    )
    # The members find it.
    mine, total = await found(stub, as_user, name="demonstration")
    assert siret in mine and total == 3


async def test_criteria_combine(stub, stranger, seeded):
    # An exact identifier with a name: both must match.
    assert await found(
        stub,
        stranger,
        identifier_type=pb.IDENTIFIER_TYPE_SIRET,
        identifier=MINISTERE,
        name="ministere",
    ) == ([MINISTERE], 1)
    assert await found(
        stub,
        stranger,
        identifier_type=pb.IDENTIFIER_TYPE_SIRET,
        identifier=MINISTERE,
        name="hopital",
    ) == ([], 0)
    # A prefix with a name.
    assert await found(stub, stranger, identifier_prefix="110", name="demonstration") == (
        [MINISTERE],
        1,
    )


async def test_identifier_type_alone_filters_by_type(stub, as_user, seeded, create_request):
    hors_ue = create_request(
        identifier_type=pb.IDENTIFIER_TYPE_HORS_UE,
        identifier="CH-123.456",
        raison_sociale="Helvetia SA",
        address=common_pb2.Address(
            line1="1 rue du Lac", postal_code="1200", city="Genève", country="CH"
        ),
    )
    await stub.CreateStructure(hors_ue, metadata=as_user)

    assert await found(stub, as_user, identifier_type=pb.IDENTIFIER_TYPE_HORS_UE) == (
        ["CH-123.456"],
        1,
    )
    sirets, total = await found(stub, as_user, identifier_type=pb.IDENTIFIER_TYPE_SIRET)
    assert total == 4 and "CH-123.456" not in sirets


async def test_address_filters(stub, stranger, seeded):
    assert await found(stub, stranger, postal_code="69003") == ([AGENCE], 1)
    assert await found(stub, stranger, city="PARIS") == ([HOPITAL, MINISTERE, VILLE], 3)
    assert await found(stub, stranger, city="paris", postal_code="75004") == ([VILLE], 1)
    assert await found(stub, stranger, country="fr") == ([AGENCE, HOPITAL, MINISTERE, VILLE], 4)
    assert await found(stub, stranger, country="DE") == ([], 0)


async def test_city_ignores_accents_and_address_filters_work_with_keyset_pages(
    stub, as_user, create_request
):
    request = create_request(
        address=common_pb2.Address(
            line1="3 rue des Lilas", postal_code="73000", city="Chambéry", country="FR"
        )
    )
    created = (await stub.CreateStructure(request, metadata=as_user)).structure

    assert await found(stub, as_user, city="CHAMBERY") == ([created.identifier], 1)
    keyset = await stub.SearchStructures(
        pb.SearchStructuresRequest(city="chambery", postal_code="73000"), metadata=as_user
    )
    assert [s.id for s in keyset.structures] == [created.id]
    other_city = await stub.SearchStructures(
        pb.SearchStructuresRequest(city="Lyon"), metadata=as_user
    )
    assert list(other_city.structures) == []


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"postal_code": "75%"}, "POSTAL_CODE_INVALID"),
        ({"country": "FRA"}, "COUNTRY_INVALID"),
        ({"city": "x" * 101}, "ADDRESS_FIELD_TOO_LONG"),
        ({"identifier_prefix": "11"}, "SEARCH_TOO_SHORT"),
        (
            {"identifier_type": pb.IDENTIFIER_TYPE_SIRET, "identifier": "11000201100011"},
            "SIRET_CHECKSUM_INVALID",
        ),
    ],
)
async def test_bad_criteria_are_refused(stub, stranger, criteria, expected):
    code, reason = await failure(search(stub, stranger, **criteria))
    assert (code, reason) == (INVALID, expected)


async def test_bad_address_filter_is_refused_with_keyset_pages_too(stub, stranger):
    code, reason = await failure(
        stub.SearchStructures(pb.SearchStructuresRequest(country="F"), metadata=stranger)
    )
    assert (code, reason) == (INVALID, "COUNTRY_INVALID")


async def test_name_search_ranks_as_with_keyset_pages(stub, as_user, create_request):
    for name in ("Boulangerie Martin", "Boulangeri Martine", "Boulanjerie du Port", "Fromagerie"):
        await stub.CreateStructure(create_request(raison_sociale=name), metadata=as_user)
    keyset = await stub.SearchStructures(
        pb.SearchStructuresRequest(name="boulangerie"), metadata=as_user
    )
    numbered = await search(stub, as_user, name="boulangerie")
    one_by_one = [
        (await search(stub, as_user, name="boulangerie", page_size=1, page_number=n)).structures[0]
        for n in (1, 2, 3)
    ]

    names = [s.raison_sociale for s in numbered.structures]
    assert names[0] == "Boulangerie Martin" and len(names) == 3
    assert names == [s.raison_sociale for s in keyset.structures]
    assert [s.raison_sociale for s in one_by_one] == names
    assert numbered.total_size == 3


async def test_a_name_matching_nothing_answers_an_empty_page(stub, stranger, seeded):
    """What the Odoo module's connection test sends (nomStructure "This is just a test")."""
    assert await found(stub, stranger, name="This is just a test") == ([], 0)


async def test_the_last_possible_page_is_empty(stub, stranger, seeded):
    assert await found(stub, stranger, page_number=2**31 - 1, page_size=1000) == ([], 4)
