"""Pages by number and who may find a structure by its (guessable) integer id."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from chorus_platform.errors import InvalidArgument
from chorus_structures.domain.access import Caller
from chorus_structures.domain.identifiers import Identifier, IdentifierType
from chorus_structures.domain.paging import NumberedPage, numbered_page
from chorus_structures.domain.search import may_find
from chorus_structures.domain.structure import (
    Address,
    RoutingParameters,
    Structure,
    StructureKind,
    StructureStatus,
)


def test_numbered_page_offsets():
    assert numbered_page(1, 10) == NumberedPage(1, 10)
    assert numbered_page(0, 10).offset == 0
    assert numbered_page(3, 1000).offset == 2000


@pytest.mark.parametrize("size", [0, -5, 1001])
def test_numbered_page_size_is_1_to_1000(size):
    with pytest.raises(InvalidArgument) as caught:
        numbered_page(1, size)
    assert caught.value.reason == "PAGE_SIZE_INVALID"


def test_negative_page_number_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        numbered_page(-1, 10)
    assert caught.value.reason == "PAGE_NUMBER_INVALID"


def company(kind=StructureKind.PRIVEE) -> Structure:
    return Structure(
        id=uuid.uuid4(),
        identifier=Identifier(IdentifierType.SIRET, "73282932000074"),
        raison_sociale="Boulangerie",
        libelle="",
        kind=kind,
        status=StructureStatus.ACTIVE,
        address=Address("1 rue", "69003", "Lyon", "FR"),
        email="",
        vat_number="",
        routing=RoutingParameters(),
        services=(),
        created_at=datetime.now(UTC),
        cpp_id=7,
    )


def test_public_structures_are_found_by_anyone():
    public = company(StructureKind.PUBLIQUE)
    assert may_find(public, Caller(uuid.uuid4()), member=False)
    assert may_find(public, Caller(uuid.uuid4(), uuid.uuid4()), member=False)


def test_private_structures_only_by_members():
    private = company()
    assert may_find(private, Caller(uuid.uuid4()), member=True)
    assert not may_find(private, Caller(uuid.uuid4()), member=False)


def test_technical_account_finds_its_own_structure_only():
    private = company()
    assert may_find(private, Caller(uuid.uuid4(), private.id), member=False)
    other = replace(private, id=uuid.uuid4())
    assert not may_find(other, Caller(uuid.uuid4(), private.id), member=True)
