"""Enum prefixes, amounts and request validation messages (unit)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from chorus.identity.v1 import identity_service_pb2 as identity_pb
from chorus.invoices.v1 import invoices_service_pb2 as invoices_pb
from chorus.structures.v1 import structures_service_pb2 as structures_pb

from chorus_edge.enums import ProtoEnum, enum_prefix, strip_prefix
from chorus_edge.validation import french_message, loc_path, problem_from_validation_error
from chorus_gateway.api.amounts import parse_amount


def test_strip_prefix():
    assert strip_prefix("ROLE_GESTIONNAIRE_PRINCIPAL", "ROLE_") == "GESTIONNAIRE_PRINCIPAL"
    with pytest.raises(ValueError):
        strip_prefix("SPACE_MON_COMPTE", "ROLE_")


def test_enum_prefix_follows_buf_naming():
    assert enum_prefix("IdentifierType") == "IDENTIFIER_TYPE_"
    assert enum_prefix("Role") == "ROLE_"


@pytest.mark.parametrize(
    ("wrapper", "number", "rest"),
    [
        (
            identity_pb.UserStatus,
            identity_pb.USER_STATUS_EN_ATTENTE_ACTIVATION,
            "EN_ATTENTE_ACTIVATION",
        ),
        (structures_pb.Role, structures_pb.ROLE_GESTIONNAIRE_PRINCIPAL, "GESTIONNAIRE_PRINCIPAL"),
        (
            invoices_pb.InvoiceStatus,
            invoices_pb.INVOICE_STATUS_MISE_A_DISPOSITION,
            "MISE_A_DISPOSITION",
        ),
        (
            invoices_pb.Framework,
            invoices_pb.FRAMEWORK_A1_FACTURE_FOURNISSEUR,
            "A1_FACTURE_FOURNISSEUR",
        ),
    ],
)
def test_proto_enum_round_trip_without_prefix(wrapper, number, rest):
    enum = ProtoEnum(wrapper)

    assert enum.to_rest(number) == rest
    assert enum.to_proto(rest) == number
    assert rest in {member.value for member in enum.rest}


def test_unspecified_is_null_and_not_a_rest_value():
    role = ProtoEnum(structures_pb.Role)

    assert role.to_rest(0) is None
    assert role.to_proto(None) == 0
    assert "UNSPECIFIED" not in {member.value for member in role.rest}
    assert role.to_rest(999) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1200.00", "1200.00"),
        (" 12.5 ", "12.5"),
        (3, "3"),
        (0.1, "0.1"),
        (19.99, "19.99"),
        ("1e3", "1000"),
        (Decimal("2.10"), "2.10"),
        ("-4.20", "-4.20"),
    ],
)
def test_amounts_parse_to_decimal_strings(value, expected):
    assert parse_amount(value) == expected


@pytest.mark.parametrize("value", ["12,50", "abc", "", "NaN", "Infinity", True, None, [1]])
def test_non_amounts_are_refused_in_french(value):
    with pytest.raises(ValueError, match="Montant décimal attendu"):
        parse_amount(value)


def test_amounts_stop_at_the_invoices_cap_of_12_integer_digits():
    assert parse_amount("999999999999.99") == "999999999999.99"
    for too_large in ("1000000000000", "1200000000000000000", 1.2e18):
        with pytest.raises(ValueError, match="12 chiffres au plus avant la virgule"):
            parse_amount(too_large)


def test_loc_paths_use_rest_notation():
    assert loc_path(("body", "lines", 0, "quantity")) == "lines[0].quantity"
    assert loc_path(("query", "page_size")) == "page_size"
    assert loc_path(("body", "address", "city")) == "address.city"
    assert loc_path(("body",)) == "body"


def test_messages_are_french():
    assert french_message({"type": "missing"}) == "Champ obligatoire."
    assert "100" in french_message({"type": "less_than_equal", "ctx": {"le": 100}})
    assert french_message({"type": "value_error", "ctx": {"error": ValueError("Montant")}}) == (
        "Montant"
    )
    assert french_message({"type": "something_new", "msg": "Raw"}) == "Raw"


def test_unreadable_json_is_a_400():
    problem = problem_from_validation_error([{"type": "json_invalid", "loc": ("body", 3)}])

    assert (problem.status, problem.code) == (400, "MALFORMED_JSON")
