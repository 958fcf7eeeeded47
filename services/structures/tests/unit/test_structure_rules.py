import pytest
from chorus_platform.errors import InvalidArgument, PermissionDenied
from chorus_structures.domain.creation import StructureDraft, validate_new_structure
from chorus_structures.domain.identifiers import IdentifierType
from chorus_structures.domain.structure import Address, StructureKind

ADDRESS = Address(line1="3 rue des Lilas", postal_code="69003", city="Lyon", country="fr")


def draft(**fields) -> StructureDraft:
    values = {
        "identifier_type": IdentifierType.SIRET,
        "identifier": "732 829 320 00074",
        "raison_sociale": "  Boulangerie   Dupont ",
        "address": ADDRESS,
        **fields,
    }
    return StructureDraft(**values)


def test_valid_draft_is_normalised_and_private_by_default():
    new = validate_new_structure(draft(), allow_public=True)
    assert new.identifier.value == "73282932000074"
    assert new.raison_sociale == "Boulangerie Dupont"
    assert new.kind is StructureKind.PRIVEE
    assert new.address.country == "FR"


def test_public_structure_is_refused_when_public_creation_is_off():
    with pytest.raises(PermissionDenied) as caught:
        validate_new_structure(draft(kind=StructureKind.PUBLIQUE), allow_public=False)
    assert caught.value.reason == "PUBLIC_CREATION_DISABLED"


def test_public_structure_needs_a_siret():
    with pytest.raises(InvalidArgument) as caught:
        validate_new_structure(
            draft(
                kind=StructureKind.PUBLIQUE,
                identifier_type=IdentifierType.HORS_UE,
                identifier="CH-123",
            ),
            allow_public=True,
        )
    assert caught.value.reason == "PUBLIC_STRUCTURE_REQUIRES_SIRET"


def test_every_bad_field_is_reported_and_the_identifier_reason_comes_first():
    with pytest.raises(InvalidArgument) as caught:
        validate_new_structure(
            draft(
                identifier="73282932000075",
                raison_sociale="",
                address=Address(line1="", postal_code="6900", city="Lyon", country="FR"),
                email="pas-une-adresse",
            ),
            allow_public=True,
        )
    error = caught.value
    assert error.reason == "SIRET_CHECKSUM_INVALID"
    fields = {v.field for v in error.violations}
    assert fields == {
        "identifier",
        "raison_sociale",
        "address.line1",
        "address.postal_code",
        "email",
    }


def test_raison_sociale_longer_than_200_characters_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        validate_new_structure(draft(raison_sociale="x" * 201), allow_public=True)
    assert caught.value.reason == "RAISON_SOCIALE_TOO_LONG"


@pytest.mark.parametrize("country", ["FRA", "F1"])
def test_country_must_be_an_iso_code_of_two_letters(country):
    address = Address(line1="1 Main St", postal_code="12345", city="X", country=country)
    with pytest.raises(InvalidArgument) as caught:
        validate_new_structure(draft(address=address), allow_public=True)
    assert caught.value.reason == "COUNTRY_INVALID"


def test_vat_number_of_a_french_structure_is_checked():
    with pytest.raises(InvalidArgument) as caught:
        validate_new_structure(draft(vat_number="FR00000000000"), allow_public=True)
    assert caught.value.reason == "VAT_NUMBER_INVALID"
    assert validate_new_structure(draft(vat_number="fr 40 303265045"), allow_public=True)
