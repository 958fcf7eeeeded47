import pytest
from chorus_structures.domain.identifiers import (
    IdentifierInvalid,
    IdentifierType,
    validate_identifier,
)


def reason_of(identifier_type, raw) -> str:
    with pytest.raises(IdentifierInvalid) as caught:
        validate_identifier(identifier_type, raw)
    error = caught.value
    assert error.violations and error.violations[0].description == error.message
    return error.reason


@pytest.mark.parametrize("siret", ["73282932000074", "11000201100010", "21750001600019"])
def test_valid_siret_is_accepted(siret):
    assert validate_identifier(IdentifierType.SIRET, siret).value == siret


def test_spaces_in_a_siret_are_ignored():
    identifier = validate_identifier(IdentifierType.SIRET, " 732 829 320 00074 ")
    assert identifier.value == "73282932000074"


def test_la_poste_head_office_siret_is_accepted():
    assert validate_identifier(IdentifierType.SIRET, "35600000000048").value == "35600000000048"


def test_la_poste_establishment_outside_the_luhn_rule_is_accepted():
    # Fails Luhn, but La Poste's establishments only need a digit sum divisible by 5.
    assert validate_identifier(IdentifierType.SIRET, "35600000049837").value == "35600000049837"


def test_la_poste_establishment_with_a_wrong_digit_sum_is_refused():
    assert reason_of(IdentifierType.SIRET, "35600000049838") == "SIRET_CHECKSUM_INVALID"


def test_siret_with_a_wrong_check_digit_is_refused():
    assert reason_of(IdentifierType.SIRET, "73282932000075") == "SIRET_CHECKSUM_INVALID"


@pytest.mark.parametrize(
    "siret", ["7328293200007", "732829320000745", "7328293200007A", "７３２８２９３２０００７４"]
)
def test_siret_that_is_not_14_digits_is_refused(siret):
    assert reason_of(IdentifierType.SIRET, siret) == "SIRET_FORMAT_INVALID"


def test_siret_violation_is_on_the_identifier_field():
    with pytest.raises(IdentifierInvalid) as caught:
        validate_identifier(IdentifierType.SIRET, "123")
    assert caught.value.violations[0].field == "identifier"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [("DE136695976", "DE136695976"), ("be 0403.019.261", "BE0403019261")],
)
def test_eu_vat_number_is_accepted_in_normal_form(raw, normal):
    assert validate_identifier(IdentifierType.UE_HORS_FRANCE, raw).value == normal


@pytest.mark.parametrize("vat", ["DE136695977", "XX123456", "136695976"])
def test_invalid_eu_vat_number_is_refused(vat):
    assert reason_of(IdentifierType.UE_HORS_FRANCE, vat) == "EU_VAT_INVALID"


def test_french_vat_number_is_refused_for_an_eu_structure_outside_france():
    assert reason_of(IdentifierType.UE_HORS_FRANCE, "FR40303265045") == "EU_VAT_FRENCH_NUMBER"


@pytest.mark.parametrize(("raw", "normal"), [("ch-123.456", "CH-123.456"), ("abc", "ABC")])
def test_identifier_outside_the_eu_of_3_to_18_characters_is_accepted(raw, normal):
    assert validate_identifier(IdentifierType.HORS_UE, raw).value == normal


@pytest.mark.parametrize("raw", ["AB", "A" * 19, "AB$C"])
def test_identifier_outside_the_eu_with_a_bad_format_is_refused(raw):
    assert reason_of(IdentifierType.HORS_UE, raw) == "IDENTIFIER_FORMAT_INVALID"


@pytest.mark.parametrize("raw", ["123456789", "1234567001", "1 234 567 001"])
def test_ridet_of_9_or_10_digits_is_accepted(raw):
    assert validate_identifier(IdentifierType.RIDET, raw).value == raw.replace(" ", "")


@pytest.mark.parametrize("raw", ["12345678", "12345678901", "12345678A"])
def test_ridet_with_a_bad_format_is_refused(raw):
    assert reason_of(IdentifierType.RIDET, raw) == "RIDET_FORMAT_INVALID"


def test_tahiti_number_of_9_characters_is_accepted():
    assert validate_identifier(IdentifierType.TAHITI, "a12345001").value == "A12345001"


@pytest.mark.parametrize("raw", ["A1234500", "A123450012", "A12345-01"])
def test_tahiti_number_with_a_bad_format_is_refused(raw):
    assert reason_of(IdentifierType.TAHITI, raw) == "TAHITI_FORMAT_INVALID"


@pytest.mark.parametrize("kind", [IdentifierType.PARTICULIER, IdentifierType.AUTRE])
def test_free_identifiers_accept_any_text(kind):
    assert validate_identifier(kind, "  Jean   Dupont 1970 ").value == "Jean Dupont 1970"


@pytest.mark.parametrize("kind", [IdentifierType.PARTICULIER, IdentifierType.AUTRE])
def test_free_identifiers_must_not_be_too_long(kind):
    assert reason_of(kind, "x" * 81) == "IDENTIFIER_TOO_LONG"


@pytest.mark.parametrize("kind", list(IdentifierType))
def test_empty_identifier_is_refused_for_every_type(kind):
    assert reason_of(kind, "   ") == "IDENTIFIER_REQUIRED"


def test_missing_identifier_type_is_refused_on_its_own_field():
    with pytest.raises(IdentifierInvalid) as caught:
        validate_identifier(None, "73282932000074")
    assert caught.value.reason == "IDENTIFIER_TYPE_REQUIRED"
    assert caught.value.violations[0].field == "identifier_type"


def test_messages_are_french_and_say_what_to_fix():
    with pytest.raises(IdentifierInvalid) as caught:
        validate_identifier(IdentifierType.SIRET, "123")
    assert "14 chiffres" in caught.value.message


def creation_reason_of(identifier_type, raw) -> str:
    with pytest.raises(IdentifierInvalid) as caught:
        validate_identifier(identifier_type, raw, creating=True)
    assert caught.value.violations[0].field == "identifier"
    return caught.value.reason


@pytest.mark.parametrize("kind", [IdentifierType.PARTICULIER, IdentifierType.AUTRE])
@pytest.mark.parametrize(
    "raw",
    [
        "73282932000074",  # a valid SIRET
        "732 829 320 00074",
        "732.829.320.00074",
        "732-829-320-00074",
        "12345678901234",  # 14 digits, checksum wrong: still SIRET-shaped
        "732829320",  # a SIREN
        "732 829 320",
        " 732.829.320 ",
    ],
)
def test_siret_or_siren_shapes_are_refused_for_a_new_free_identifier(kind, raw):
    assert creation_reason_of(kind, raw) == "IDENTIFIER_SIRENE_SHAPED"


def test_the_sirene_shape_message_says_to_choose_the_siret_type():
    with pytest.raises(IdentifierInvalid) as caught:
        validate_identifier(IdentifierType.AUTRE, "73282932000074", creating=True)
    assert "Choisissez le type d'identifiant SIRET" in caught.value.message


@pytest.mark.parametrize("kind", [IdentifierType.PARTICULIER, IdentifierType.AUTRE])
@pytest.mark.parametrize(
    "raw", ["7328293200007", "732829320000745", "73282932", "ASSO-732829320", "W751234567"]
)
def test_other_free_identifiers_are_still_accepted_at_creation(kind, raw):
    assert validate_identifier(kind, raw, creating=True).value == raw


def test_a_siret_under_the_siret_type_is_still_accepted_at_creation():
    identifier = validate_identifier(IdentifierType.SIRET, "732 829 320 00074", creating=True)
    assert identifier.value == "73282932000074"


def test_lookups_still_accept_a_sirene_shaped_free_identifier():
    # Structures registered before the rule stay reachable by an exact look-up.
    assert validate_identifier(IdentifierType.AUTRE, "73282932000074").value == "73282932000074"
