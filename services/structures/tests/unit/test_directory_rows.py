import pytest
from chorus_structures.domain.directory import RowInvalid, check_header, parse_row

ROW = {
    "siret": "217 500 016 00019",
    "raison_sociale": "  Ville   de Démoville ",
    "address_line1": "Place de l'Hôtel de Ville",
    "postal_code": "75004",
    "city": "Paris",
    "engagement_required": "oui",
    "services": '[{"code": " serv-fin ", "name": "Finances"}]',
}


def test_a_row_is_normalised():
    row = parse_row(ROW)
    assert row.siret == "21750001600019"
    assert row.raison_sociale == "Ville de Démoville"
    assert (row.country, row.active, row.engagement_required) == ("FR", True, True)
    assert row.service_code_required is False
    [service] = row.services
    assert (service.code, service.name, service.active) == ("SERV-FIN", "Finances", True)


def test_la_poste_establishments_pass_outside_the_luhn_rule():
    # La Poste (SIREN 356 000 000): the sum of the SIRET's digits is a multiple of 5.
    assert parse_row({**ROW, "siret": "35600000000048"}).siret == "35600000000048"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("siret", "21750001600018", "SIRET invalide"),
        ("raison_sociale", " ", "raison_sociale est obligatoire"),
        ("country", "France", "pays invalide"),
        ("active", "peut-être", "active doit valoir true ou false"),
        ("services", "{", "pas un tableau JSON"),
        ("services", '[{"code": "A B", "name": "x"}]', "code de service invalide"),
        ("services", '[{"code": "A", "name": "x"}, {"code": "a", "name": "y"}]', "en double"),
    ],
)
def test_bad_rows_say_why(field, value, message):
    with pytest.raises(RowInvalid) as caught:
        parse_row({**ROW, field: value})
    assert message in str(caught.value)


def test_header_must_name_the_required_columns_and_no_unknown_ones():
    check_header(["siret", "raison_sociale", "address_line1", "postal_code", "city"])
    with pytest.raises(RowInvalid) as caught:
        check_header(["siret", "raison_sociale", "address", "postal_code", "city"])
    assert "address_line1" in str(caught.value) and "address" in str(caught.value)
