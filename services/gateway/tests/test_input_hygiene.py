"""Input hygiene at the edge: NUL, lone surrogates and C0 controls in any string (path, query,
form, JSON at any depth), non-finite or oversized numbers, unreadable bodies and wrong content
types are refused with a 4xx naming the field, before any call to a service."""

from __future__ import annotations

import json

import pytest
from chorus.identity.v1 import identity_service_pb2 as pb

from chorus_edge.input_hygiene import json_problems, strict_json, string_problem

from .test_api_invoices import AUTH, create_body

JSON = {"Content-Type": "application/json"}


def no_calls(services) -> bool:
    return all(not double.calls for double in services.all())


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("Marie", False),
        ("ligne 1\nligne 2\r\n\tfin", False),
        ("é€😀", False),
        ("a\x00b", True),
        ("\ud800", True),
        ("x\udfff", True),
        ("\x01", True),
        ("\x1f", True),
        ("\x0b", True),
    ],
)
def test_the_string_rule(value, refused):
    assert (string_problem(value) is not None) is refused


def test_json_problems_name_every_offending_field_in_rest_notation():
    document = strict_json(
        b'{"a": "ok", "lines": [{"d": "x\\u0000"}, {"d": "\\ud800"}], "n": NaN, '
        b'"big": 1e999999, "int": 1' + b"0" * 40 + b', "\\u0001": 1}'
    )

    fields = {problem.field for problem in json_problems(document)}

    assert fields == {"lines[0].d", "lines[1].d", "n", "big", "int", "\ufffd"}


def test_a_deeply_nested_document_is_walked_without_recursion():
    depth = 500
    raw = b'{"a": ' * depth + b'"\\u0000"' + b"}" * depth

    problems = list(json_problems(strict_json(raw)))

    assert len(problems) == 1
    assert problems[0].field == ".".join(["a"] * depth)


@pytest.mark.parametrize("bad", ["\u0000", "\ud800", "\u0007"])
async def test_a_bad_string_in_an_unauthenticated_login_is_422_without_a_call(api, services, bad):
    body = json.dumps({"login_email": f"marie{bad}@exemple.fr", "password": "x"})

    response = await api.post("/api/v1/auth/token", content=body, headers=JSON)

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "STRING_INVALID"
    assert [e["field"] for e in problem["errors"]] == ["login_email"]
    assert no_calls(services)


async def test_a_bad_string_deep_in_a_body_is_named(api, services):
    body = create_body()
    body["lines"][0]["description"] = "Pain\x00"

    response = await api.post("/api/v1/invoices", json=body, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[0].description"
    assert no_calls(services)


async def test_account_creation_refuses_a_lone_surrogate(api, services):
    body = (
        '{"login_email": "a@b.fr", "first_name": "\\udc80", "last_name": "D", '
        '"terms_accepted": true}'
    )

    response = await api.post("/api/v1/accounts", content=body, headers=JSON)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "first_name"
    assert no_calls(services)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("number=F%00", "number"),
        ("counterparty=%01x", "counterparty"),
        ("number%00=1", "number\ufffd"),
    ],
)
async def test_a_bad_query_parameter_is_422_naming_it(api, services, query, field):
    response = await api.get(f"/api/v1/invoices?{query}", headers=AUTH)

    assert response.status_code == 422
    assert response.json()["code"] == "STRING_INVALID"
    assert response.json()["errors"][0]["field"] == field
    assert no_calls(services)


async def test_a_query_string_that_is_not_utf8_is_400(api, services):
    response = await api.get("/api/v1/invoices?number=%ED%A0%80", headers=AUTH)

    assert response.status_code == 400
    assert response.json()["code"] == "ENCODING_INVALID"
    assert no_calls(services)


async def test_a_bad_path_parameter_is_422_naming_it(api, services):
    response = await api.delete("/api/v1/me/sessions/s%00", headers=AUTH)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "session_id"
    assert no_calls(services)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("min_amount=1e999999", "min_amount"),
        ("max_amount=1" + "0" * 40, "max_amount"),
        ("min_amount=NaN", "min_amount"),
        ("min_amount=inf", "min_amount"),
        ("page_size=" + "1" + "0" * 30, "page_size"),
        ("page_size=NaN", "page_size"),
    ],
)
async def test_numbers_in_queries_are_bounded(api, services, query, field):
    response = await api.get(f"/api/v1/invoices?{query}", headers=AUTH)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert no_calls(services)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999999", "1" + "0" * 40])
async def test_numbers_in_json_bodies_are_bounded(api, services, literal):
    body = json.dumps(create_body()).replace('"quantity": "10"', f'"quantity": {literal}')
    assert literal in body

    response = await api.post("/api/v1/invoices", content=body, headers={**AUTH, **JSON})

    assert response.status_code == 422
    assert response.json()["code"] in ("NUMBER_INVALID", "VALIDATION_FAILED")
    assert response.json()["errors"][0]["field"] == "lines[0].quantity"
    assert no_calls(services)


async def test_an_amount_beyond_its_digits_is_refused(api, services):
    body = create_body()
    body["lines"][0]["unit_price"] = 1e300

    response = await api.post("/api/v1/invoices", json=body, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines[0].unit_price"
    assert no_calls(services)


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"login_email": ', 400, "MALFORMED_JSON"),
        (b'{"login_email": "\xff", "password": "x"}', 400, "MALFORMED_BODY"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "MALFORMED_BODY"),
        # Too long for Python to read as an int (4300 digits): no field can be named.
        (b'{"login_email": 1' + b"0" * 5000 + b"}", 400, "MALFORMED_BODY"),
        # UTF-8 of a surrogate: JSON decoding keeps it, as a lone surrogate, named.
        (b'{"login_email": "\xed\xa0\x80", "password": "x"}', 422, "STRING_INVALID"),
    ],
)
async def test_unreadable_json_is_400_with_a_code(api, services, content, status, code):
    response = await api.post("/api/v1/auth/token", content=content, headers=JSON)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert no_calls(services)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_a_json_operation_given_another_content_type_is_415(api, services, content_type):
    response = await api.post(
        "/api/v1/auth/token",
        content=b"login_email=a%40b.fr&password=x",
        headers={"Content-Type": content_type},
    )

    assert response.status_code == 415
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert no_calls(services)


async def test_a_multipart_field_and_a_file_name_follow_the_rule(api, services):
    # Written by hand: httpx would percent-encode the control character of the file name.
    body = (
        b'--limite\r\nContent-Disposition: form-data; name="supplier_structure_id"\r\n\r\n'
        b"x\x00\r\n"
        b'--limite\r\nContent-Disposition: form-data; name="file"; filename="facture\x01.xml"'
        b"\r\nContent-Type: application/xml\r\n\r\n<Invoice/>\r\n--limite--\r\n"
    )

    response = await api.post(
        "/api/v1/invoices/xml",
        content=body,
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=limite"},
    )

    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"supplier_structure_id", "file"}
    assert no_calls(services)


async def test_a_form_sent_where_json_or_multipart_is_read_by_hand_is_400_not_500(api, services):
    # The completion reads its body itself (multipart, or JSON): a url-encoded form was parsed
    # by the hygiene check first, and must still be readable as a body.
    response = await api.post(
        "/api/v1/invoices/3f2b8d4c-7a61-4e1b-8d0e-5c9a2f1e7b33/completion",
        data={"comment": "x"},
        headers=AUTH,
    )

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_JSON"
    assert no_calls(services)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": b"Bearer \xe9t\xe9"},
        {"Authorization": b"Bearer a\tb"},
        {"Cookie": b"chorus_session=\xe9"},
    ],
)
async def test_a_token_that_cannot_travel_to_a_service_is_401_without_a_call(
    api, services, headers
):
    response = await api.get("/api/v1/me", headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "TOKEN_INVALID"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert no_calls(services)


async def test_a_user_agent_beyond_ascii_is_forwarded_readable(api, services):
    services.identity.answer("GetMe", pb.GetMeResponse(user=pb.User(id="u1")))

    response = await api.get("/api/v1/me", headers={**AUTH, "User-Agent": b"Navigateur \xe9t\xe9"})

    assert response.status_code == 200
    call = services.identity.calls_to("GetMe")[0]
    assert call.metadata["x-forwarded-user-agent"] == "Navigateur ?t?"
