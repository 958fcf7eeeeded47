import uuid

import pytest
from chorus_platform.errors import InvalidArgument
from chorus_structures.domain.identifiers import Identifier, IdentifierType
from chorus_structures.domain.search import (
    Cursor,
    encode_page_token,
    like_escape,
    search_criteria,
)


def criteria(**fields):
    values = {"identifier_prefix": "", "name": "", "kind": None, "page_size": 0, "page_token": ""}
    return search_criteria(**{**values, **fields})


def test_identifier_prefix_shorter_than_3_characters_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        criteria(identifier_prefix=" 1 2 ")
    assert caught.value.reason == "SEARCH_TOO_SHORT"


def test_page_size_defaults_to_20_and_is_capped_at_100():
    assert criteria().page_size == 20
    assert criteria(page_size=1000).page_size == 100


def test_page_token_round_trips_for_the_same_criteria():
    first = criteria(name="ville", page_size=5)
    cursor = Cursor("ville de demoville", uuid.uuid4())
    token = encode_page_token(first, cursor)
    assert criteria(name="ville", page_size=5, page_token=token).after == cursor


@pytest.mark.parametrize("token", ["garbage!", "e30", "eyJmIjoxfQ"])
def test_malformed_page_token_is_refused(token):
    with pytest.raises(InvalidArgument) as caught:
        criteria(page_token=token)
    assert caught.value.reason == "PAGE_TOKEN_INVALID"


def test_page_token_of_other_criteria_is_refused():
    token = encode_page_token(criteria(name="ville"), Cursor("x", uuid.uuid4()))
    with pytest.raises(InvalidArgument) as caught:
        criteria(name="agence", page_token=token)
    assert caught.value.reason == "PAGE_TOKEN_INVALID"


def test_like_wildcards_in_user_input_match_literally():
    assert like_escape("50%_a\\b") == "50\\%\\_a\\\\b"


def test_an_exact_identifier_is_normalised_as_at_creation():
    exact = criteria(identifier_type=IdentifierType.SIRET, identifier="732 829 320 00074").exact
    assert exact == Identifier(IdentifierType.SIRET, "73282932000074")
    assert criteria().exact is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"identifier": "73282932000074"}, "IDENTIFIER_TYPE_REQUIRED"),
        ({"identifier_type": "SIRET"}, "IDENTIFIER_REQUIRED"),
        ({"identifier_type": "SIRET", "identifier": "73282932000075"}, "SIRET_CHECKSUM_INVALID"),
        (
            {"identifier_type": "SIRET", "identifier": "73282932000074", "name": "x"},
            "SEARCH_CRITERIA_CONFLICT",
        ),
        (
            {
                "identifier_type": "SIRET",
                "identifier": "73282932000074",
                "identifier_prefix": "732",
            },
            "SEARCH_CRITERIA_CONFLICT",
        ),
    ],
)
def test_a_bad_exact_identifier_search_is_refused_with_its_reason(fields, reason):
    if "identifier_type" in fields:
        fields = {**fields, "identifier_type": IdentifierType(fields["identifier_type"])}
    with pytest.raises(InvalidArgument) as caught:
        criteria(**fields)
    assert caught.value.reason == reason


def test_a_page_token_of_a_listing_is_no_token_of_an_exact_search():
    token = encode_page_token(criteria(), Cursor("x", uuid.uuid4()))
    with pytest.raises(InvalidArgument) as caught:
        criteria(
            identifier_type=IdentifierType.SIRET, identifier="73282932000074", page_token=token
        )
    assert caught.value.reason == "PAGE_TOKEN_INVALID"


def test_numbered_pages_combine_every_criterion():
    numbered = criteria(
        page_number=2,
        page_size=1000,
        identifier_type=IdentifierType.SIRET,
        identifier="732 829 320 00074",
        name="boulangerie",
        postal_code=" 69 003 ",
        city="  Lyon ",
        country="fr",
    )
    assert numbered.numbered is not None and numbered.numbered.offset == 1000
    assert numbered.limit == 1000
    assert numbered.exact == Identifier(IdentifierType.SIRET, "73282932000074")
    assert numbered.name_words == ("boulangerie",)
    assert (numbered.address.postal_code, numbered.address.city) == ("69 003", "Lyon")
    assert numbered.address.country == "FR"
    assert numbered.exact_lookup


def test_numbered_identifier_type_alone_filters_and_identifier_alone_is_exact():
    by_type = criteria(page_number=1, page_size=10, identifier_type=IdentifierType.RIDET)
    assert by_type.identifier_type is IdentifierType.RIDET and not by_type.exact_lookup
    by_key = criteria(page_number=1, page_size=10, identifier=" ab 12 ")
    assert by_key.identifier_key == "AB12" and by_key.exact_lookup and by_key.exact is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"page_size": 0}, "PAGE_SIZE_INVALID"),
        ({"page_size": 1001}, "PAGE_SIZE_INVALID"),
        ({"page_token": "abc"}, "PAGING_CONFLICT"),
        ({"country": "France"}, "COUNTRY_INVALID"),
        ({"postal_code": "75_001"}, "POSTAL_CODE_INVALID"),
    ],
)
def test_numbered_pages_refusals(fields, reason):
    with pytest.raises(InvalidArgument) as caught:
        criteria(**{"page_number": 1, "page_size": 10, **fields})
    assert caught.value.reason == reason


def test_negative_page_number_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        criteria(page_number=-1, page_size=10)
    assert caught.value.reason == "PAGE_NUMBER_INVALID"


def test_address_filters_change_the_fingerprint_only_when_set():
    assert criteria(name="x").fingerprint == criteria(name="x", city=" ").fingerprint
    assert criteria(name="x").fingerprint != criteria(name="x", city="Lyon").fingerprint
